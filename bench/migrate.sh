#!/usr/bin/env bash
# Throughput of `backfeed migrate` for RECORDS post mappings (URL -> toot):
# SQLite -> SQLite, SQLite -> PostgreSQL, SQLite -> S3 (moto), each followed
# by a second, idempotent run that must copy nothing. Prints records per
# second for every pass, as the binary's own summary measures them (from
# start to end of the copy, stores opened included) and as wall-clock time
# around the process.
#
# Environment (all optional):
#   RECORDS=100000      post mappings in the source database
#   S3_RECORDS=$RECORDS mappings for the S3 pass (moto answers a few hundred
#                       requests a second; an imported post costs three)
#   BACKFEED_BIN=…      use this binary instead of building one
#   CARGO_TARGET_DIR    for the release build (default /tmp/bench-target)
#
# Needs python3 (its sqlite3 module fills the source database). Starts its
# own PostgreSQL (Debian's postgresql, installed when missing) and moto (the
# tests' venv in target/py-moto, created when missing); see lib.sh.
set -euo pipefail

RECORDS=${RECORDS:-100000}
S3_RECORDS=${S3_RECORDS:-$RECORDS}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/bench-target}

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_cleanup_traps
command -v python3 >/dev/null || die "python3 is needed"
python3 -c 'import sqlite3' 2>/dev/null || die "python3 needs its sqlite3 module"
BUILD_FEATURES=postgres
find_backfeed_bin
WORK=$(mktemp -d /tmp/backfeed-bench.XXXXXX)

# --- the source --------------------------------------------------------------
# Creates backfeed's schema in $1 (importing an empty webmention.io export),
# then $2 announced posts in one transaction.
make_source() {
    local db=$1 count=$2
    printf '{"type":"feed","children":[]}\n' >"$WORK/empty.jf2"
    "$BIN" migrate --from "jf2:$WORK/empty.jf2" --to "sqlite://$db" >/dev/null
    python3 - "$db" "$count" <<'EOF'
import sqlite3, sys, time
db, count = sys.argv[1], int(sys.argv[2])
now = int(time.time() * 1000)
conn = sqlite3.connect(db)
with conn:
    conn.executemany(
        "INSERT INTO posts (url, state, toot_id, created_at, updated_at) VALUES (?, 'announced', ?, ?, ?)",
        ((f"https://blog.example/posts/{i:06d}/", str(110_000_000_000_000_000 + i), now - i, now - i)
         for i in range(count)),
    )
conn.close()
EOF
}

# --- one pass ----------------------------------------------------------------
# Runs `migrate --from $2 --to $3`, checks that it copied $4 and found $5
# already present, and appends its figures to
# $WORK/results. $1 labels the pass.
run_pass() {
    local label=$1 from=$2 to=$3 copied=$4 present=$5 start end out
    say "$label…"
    start=$(date +%s%N)
    out=$("$BIN" migrate --from "$from" --to "$to" 2>"$WORK/migrate.err") \
        || die "$label failed: $(cat "$WORK/migrate.err")"
    end=$(date +%s%N)
    printf '%s\n' "$out" >"$WORK/summary.txt"
    cat "$WORK/summary.txt" >>"$WORK/summaries.log"
    python3 - "$label" "$copied" "$present" "$start" "$end" "$WORK/summary.txt" >>"$WORK/results" <<'EOF' \
        || die "$label: unexpected summary: $out"
import re, sys
label, copied, present, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
out = open(sys.argv[6]).read()
m = re.search(r"(\d+) records read in ([\d.]+) s \((\d+) records/s\): (\d+) copied, (\d+) already present", out)
if not m:
    sys.exit(f"no totals line in:\n{out}")
read, seconds, rate, got_copied, got_present = m.groups()
if (int(got_copied), int(got_present)) != (copied, present):
    sys.exit(f"expected {copied} copied and {present} present, got {got_copied} and {got_present}")
wall = (end - start) / 1e9
print(f"{label:<34} {int(read):>8} {float(seconds):>9.2f} {int(rate):>11} {wall:>9.2f} {int(read) / wall:>11.0f}")
EOF
}

# Copies the SQLite database $4 into the destination $2, then runs again.
# $1 labels the passes, $3 is the number of records.
copy_and_rerun() {
    local label=$1 to=$2 count=$3 src=$4
    run_pass "$label" "sqlite://$src" "$to" "$count" 0
    run_pass "$label, again" "sqlite://$src" "$to" 0 "$count"
}

say "filling the source with $RECORDS post mappings…"
make_source "$WORK/source.db" "$RECORDS"
: >"$WORK/results"

# --- SQLite -> SQLite ----------------------------------------------------------
copy_and_rerun "sqlite -> sqlite" "sqlite://$WORK/copy.db" "$RECORDS" "$WORK/source.db"

# --- SQLite -> PostgreSQL --------------------------------------------------------
say "starting a throwaway PostgreSQL…"
start_postgres
copy_and_rerun "sqlite -> postgres" "$(postgres_database bench)" "$RECORDS" "$WORK/source.db"

# --- SQLite -> S3 (moto) -----------------------------------------------------------
S3_SOURCE=$WORK/source.db
if [[ "$S3_RECORDS" != "$RECORDS" ]]; then
    say "filling a second source with $S3_RECORDS post mappings for S3…"
    make_source "$WORK/source-s3.db" "$S3_RECORDS"
    S3_SOURCE=$WORK/source-s3.db
fi
say "starting moto…"
start_moto
copy_and_rerun "sqlite -> s3 ($S3_RECORDS)" "$(moto_bucket bench)" "$S3_RECORDS" "$S3_SOURCE"

# --- the figures -------------------------------------------------------------------
printf 'backfeed migrate, %s post mappings; %s cores, load %s\n' "$RECORDS" "$(nproc)" "$(load_average)"
printf '%-34s %8s %9s %11s %9s %11s\n' "pass" "records" "copy s" "records/s" "wall s" "wall rec/s"
cat "$WORK/results"
