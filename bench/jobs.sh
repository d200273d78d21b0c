#!/usr/bin/env bash
# The job queue: enqueue + run of JOBS no-op jobs per second on SQLite and on
# PostgreSQL (one instance, then two processes claiming from one database),
# and the requests an idle scheduled run makes on S3 (moto), counted from
# moto's request log.
#
# Environment (all optional):
#   JOBS=10000          no-op jobs per pass
#   WORKERS=4           claiming tasks per process (as `backfeed serve` runs)
#   CARGO_TARGET_DIR    for the release build (default /tmp/bench-target)
#
# Starts its own PostgreSQL (Debian's postgresql, installed when missing)
# and moto (the tests' venv in target/py-moto, created when missing); see
# lib.sh. The load generator is examples/queue_bench.rs, which drives the
# storage contract's JobStore directly: what is measured is the queue, not
# a handler.
set -euo pipefail

JOBS=${JOBS:-10000}
WORKERS=${WORKERS:-4}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/bench-target}

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_cleanup_traps
WORK=$(mktemp -d /tmp/backfeed-bench.XXXXXX)
say "building examples/queue_bench (release)…"
(cd "$ROOT" && cargo build --release --features postgres --example queue_bench >&2)
QB=$CARGO_TARGET_DIR/release/examples/queue_bench
[[ -x $QB ]] || die "no queue_bench at $QB"

field() { python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())[sys.argv[1]])' "$1"; }

# Enqueues JOBS jobs then runs them on $1 with one process; prints
# "enqueue/s run/s total/s".
one_instance() {
    local url=$1 enq run
    enq=$("$QB" enqueue "$url" "$JOBS")
    run=$("$QB" run "$url" "$WORKERS")
    python3 - "$enq" "$run" <<'EOF'
import json, sys
enq, run = (json.loads(a) for a in sys.argv[1:])
total = enq["jobs"] / (enq["seconds"] + run["seconds"])
print(f'{enq["per_second"]:.0f} {run["per_second"]:.0f} {total:.0f}')
EOF
}

# Enqueues JOBS jobs, then runs them with two processes at once on $1;
# prints "run/s total/s jobs-seen-by-each".
two_instances() {
    local url=$1 enq started a b
    enq=$("$QB" enqueue "$url" "$JOBS")
    started=$(date +%s.%N)
    "$QB" run "$url" "$WORKERS" >"$WORK/a.json" &
    local pid_a=$!
    "$QB" run "$url" "$WORKERS" >"$WORK/b.json" &
    local pid_b=$!
    wait "$pid_a" "$pid_b"
    local ended
    ended=$(date +%s.%N)
    a=$(field jobs <"$WORK/a.json")
    b=$(field jobs <"$WORK/b.json")
    (( a + b == JOBS )) || die "two instances ran $((a + b)) of $JOBS jobs"
    python3 - "$enq" "$started" "$ended" "$a" "$b" <<'EOF'
import json, sys
enq = json.loads(sys.argv[1]); started, ended = float(sys.argv[2]), float(sys.argv[3])
a, b = int(sys.argv[4]), int(sys.argv[5])
run = (a + b) / (ended - started)
total = (a + b) / (enq["seconds"] + ended - started)
print(f'{run:.0f} {total:.0f} {a}+{b}')
EOF
}

say "SQLite: $JOBS jobs…"
read -r sqlite_enq sqlite_run sqlite_total < <(one_instance "sqlite://$WORK/jobs.db")

start_postgres
say "PostgreSQL, one instance: $JOBS jobs…"
read -r pg_enq pg_run pg_total < <(one_instance "$(postgres_database jobs_one)")
say "PostgreSQL, two instances: $JOBS jobs…"
read -r pg2_run pg2_total pg2_split < <(two_instances "$(postgres_database jobs_two)")

# --- S3: the requests of an idle scheduled run --------------------------------
start_moto
S3_URL=$(moto_bucket jobs-idle)
requests() { grep -cE '"(GET|PUT|HEAD|POST|DELETE) [^"]*HTTP/1\.[01]" [0-9]{3}' "$WORK/moto.log" || true; }
say "S3 (moto): an idle scheduled run…"
coproc IDLE { DATABASE_URL=$S3_URL BACKFEED_SITES=https://blog.example/ "$QB" idle 2>"$WORK/idle.err"; }
read -r ready <&"${IDLE[0]}"
[[ $ready == ready ]] || die "queue_bench idle did not start: $(cat "$WORK/idle.err")"
before=$(requests)
echo go >&"${IDLE[1]}"
read -r report <&"${IDLE[0]}"
after=$(requests)
echo done >&"${IDLE[1]}"
wait "$IDLE_PID" 2>/dev/null || true
idle_requests=$((after - before))

cat <<EOF

== job queue ($JOBS no-op jobs, $WORKERS workers per process; $(nproc) cores)
| store | enqueue/s | run (claim + finish)/s | enqueue + run/s |
|---|---|---|---|
| SQLite | $sqlite_enq | $sqlite_run | $sqlite_total |
| PostgreSQL, one instance | $pg_enq | $pg_run | $pg_total |
| PostgreSQL, two instances | $pg_enq (one) | $pg2_run (split $pg2_split) | $pg2_total |

== an idle scheduled run on S3 (moto)
requests: $idle_requests   report: $report
EOF
