#!/usr/bin/env bash
# The stores compared: `GET /?url=` for a mapped post on SQLite, PostgreSQL
# and S3 (moto), each as a ratio to the SQLite figure, and webmention intake
# on PostgreSQL with one instance and with two instances sharing the
# database. See bench/README.md.
#
# Environment (all optional):
#   DURATION=10s     measured wrk run per store and round
#   WARMUP=3s        wrk warm-up per server, before the first round
#   CONNECTIONS=64   wrk connections (split between the two instances)
#   THREADS=2        wrk threads
#   ROUNDS=3         alternating rounds; medians are reported
#   BACKFEED_BIN=…   use this binary instead of building one
#   CARGO_TARGET_DIR honoured by the release build
set -euo pipefail

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUILD_FEATURES=postgres
bench_setup
start_fake_mastodon
start_postgres
start_moto

POST_URL=$UPSTREAM/posts/bench/
QUERY=$(urlencode "$POST_URL")
backfeed_env unused.db BLOG_POST_POSTFIX BLOG_TITLE_PATTERN BACKFEED_WEBHOOK_URL \
    BACKFEED_MODERATION BACKFEED_VERIFY_RETRY_DELAYS BACKFEED_VERIFY_INLINE
# Webmentions are received for the fake blog; their sources (below) refuse
# connections, so each costs one quick failed attempt and a retry a minute
# later: intake is what is measured.
export BACKFEED_SITES=$UPSTREAM/
export BACKFEED_RATE_LIMIT=off

declare -A STORE_URL=(
    [sqlite]=sqlite://$WORK/bench.db
    [postgres]=$(postgres_database lookup)
    [s3]=$(moto_bucket lookup backfeed)
)
STORES=(sqlite postgres s3)
declare -A PORT PID

# Starts backfeed under the name $1 with DATABASE_URL $2; sets PORT[$1].
start_named() {
    local name=$1 port
    port=$(free_port)
    DATABASE_URL=$2 "$BIN" serve --listen "127.0.0.1:$port" \
        >"$WORK/$name.out" 2>"$WORK/$name.err" &
    PID[$name]=$!
    PIDS+=("$!")
    PORT[$name]=$port
    wait_ok "http://127.0.0.1:$port/status"
}

# --- 1. GET /?url= on each store ---------------------------------------------
for store in "${STORES[@]}"; do
    start_named "$store" "${STORE_URL[$store]}"
    url="http://127.0.0.1:${PORT[$store]}/?url=$QUERY"
    code=$(curl -s --max-time 30 -o "$WORK/$store.json" -w '%{http_code}' "$url")
    [[ $code == 200 ]] || die "first lookup on $store answered $code: $(cat "$WORK/$store.json")"
done
# One post, three stores: three statuses, each store holding its own id.
for store in "${STORES[@]}"; do
    python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); assert list(b)==["host","user","toot_id"] and b["toot_id"], b' \
        "$WORK/$store.json" || die "unexpected body from $store: $(cat "$WORK/$store.json")"
done

LOAD_BEFORE=$(load_average)
say "system load before the runs: $LOAD_BEFORE"
for store in "${STORES[@]}"; do
    say "lookup: warming up $store ($WARMUP)…"
    run_wrk "$WARMUP" "http://127.0.0.1:${PORT[$store]}/?url=$QUERY" >/dev/null
done
declare -A LOOKUP
for ((round = 1; round <= ROUNDS; round++)); do
    for store in "${STORES[@]}"; do
        say "lookup round $round/$ROUNDS: $store ($DURATION)…"
        result=$(run_wrk "$DURATION" "http://127.0.0.1:${PORT[$store]}/?url=$QUERY")
        say "  $result"
        LOOKUP[$store]+="$result;"
    done
done
for store in "${STORES[@]}"; do
    kill -0 "${PID[$store]}" 2>/dev/null || die "backfeed on $store died: $(tail -5 "$WORK/$store.err")"
    kill -TERM "${PID[$store]}"
done

# --- 2. webmention intake on PostgreSQL: one instance, then two --------------
CLOSED_PORT=$(free_port)
SOURCE_BASE=$(urlencode "http://127.0.0.1:$CLOSED_PORT/s/")
TARGET=$(urlencode "$POST_URL")
INTAKE_DB=$(postgres_database intake)
start_named pg-a "$INTAKE_DB"
start_named pg-b "$INTAKE_DB"

# Runs wrk intake against instance $1 for $2 with $3 connections, label $4.
intake() {
    local saved=$CONNECTIONS result
    CONNECTIONS=$3
    result=$(run_wrk "$2" -s "$BENCH_DIR/intake.lua" "http://127.0.0.1:${PORT[$1]}/webmention" \
        -- "$4" "$SOURCE_BASE" "$TARGET")
    CONNECTIONS=$saved
    echo "$result"
}

say "intake: warming up ($WARMUP)…"
intake pg-a "$WARMUP" "$CONNECTIONS" w >/dev/null
ONE=()
TWO=()
HALF=$((CONNECTIONS / 2))
for ((round = 1; round <= ROUNDS; round++)); do
    say "intake round $round/$ROUNDS: one instance ($DURATION, $CONNECTIONS connections)…"
    ONE+=("$(intake pg-a "$DURATION" "$CONNECTIONS" "one$round")")
    say "  ${ONE[-1]}"
    say "intake round $round/$ROUNDS: two instances ($DURATION, $HALF connections each)…"
    intake pg-a "$DURATION" "$HALF" "twoa$round" >"$WORK/two-a" &
    a=$!
    intake pg-b "$DURATION" "$HALF" "twob$round" >"$WORK/two-b"
    wait "$a"
    TWO+=("$(<"$WORK/two-a") | $(<"$WORK/two-b")")
    say "  ${TWO[-1]}"
done
LOAD_AFTER=$(load_average)
for name in pg-a pg-b; do
    kill -0 "${PID[$name]}" 2>/dev/null || die "backfeed $name died: $(tail -5 "$WORK/$name.err")"
done
ROWS=$("$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d intake -tAc 'SELECT count(*) FROM mentions')

# --- summary -------------------------------------------------------------------
python3 - "$ROUNDS" "$ROWS" "$(nproc)" "$LOAD_BEFORE" "$LOAD_AFTER" "$THREADS" "$CONNECTIONS" \
    "$DURATION" "$("$BIN" --version)" "$("$PG_BIN/postgres" --version)" \
    "${LOOKUP[sqlite]}" "${LOOKUP[postgres]}" "${LOOKUP[s3]}" "${ONE[@]}" "${TWO[@]}" <<'EOF'
import os, statistics, sys

(rounds, rows, cores, load_before, load_after, threads, conns, duration, bf_version,
 pg_version, lk_sqlite, lk_pg, lk_s3) = sys.argv[1:14]
rounds = int(rounds)
rest = sys.argv[14:]
one = [r.split() for r in rest[:rounds]]
two = [[half.split() for half in r.split("|")] for r in rest[rounds:]]

def runs(joined):
    return [r.split() for r in joined.split(";") if r.strip()]

def med(rows, i):
    return statistics.median(float(r[i]) for r in rows)

lookups = {"SQLite": runs(lk_sqlite), "PostgreSQL": runs(lk_pg), "S3 (moto)": runs(lk_s3)}
base = med(lookups["SQLite"], 0)
print()
for name, rows_ in lookups.items():
    rps = med(rows_, 0)
    print(f"GET /?url= {name:<11} {rps:8.0f} req/s  ratio to SQLite {rps / base:5.2f}  "
          f"(median of {rounds}; p50 {med(rows_, 3):.2f} ms, p99 {med(rows_, 4):.2f} ms; "
          f"non-2xx {sum(int(r[1]) for r in rows_)})")
two_sum = [float(a[0]) + float(b[0]) for a, b in two]
print(f"intake on PostgreSQL, one instance   {med(one, 0):8.0f} accepted/s (median of {rounds}; "
      f"p50 {med(one, 3):.2f} ms, p99 {med(one, 4):.2f} ms)")
print(f"intake on PostgreSQL, two instances  {statistics.median(two_sum):8.0f} accepted/s together "
      f"(median of {rounds}; p99 {statistics.median(max(float(a[4]), float(b[4])) for a, b in two):.2f} ms)")
print()
print("per round, lookup     " + "; ".join(
    f"{n}: " + ", ".join(f"{float(r[0]):.0f}" for r in rs) for n, rs in lookups.items()))
print("per round, intake     one: " + ", ".join(f"{float(r[0]):.0f}" for r in one)
      + "; two: " + ", ".join(f"{a[0]}+{b[0]}" for a, b in two))
non2xx = sum(int(r[1]) for r in one) + sum(int(a[1]) + int(b[1]) for a, b in two)
print(f"intake non-2xx        {non2xx}; {rows} mentions in the shared database")
print(f"setup                 wrk -t{threads} -c{conns} -d{duration}; for two instances two wrk "
      f"processes with half the connections each; backfeed, PostgreSQL (fsync on), moto and wrk share "
      f"all {cores} cores")
from report import cpu_model
cpu = cpu_model()
print(f"machine               {cores} cores ({cpu}); load average before / after {load_before} / {load_after}")
print(f"versions              {bf_version}; {pg_version}")
EOF

stop_all_and_check_ports "${PORT[@]}"
