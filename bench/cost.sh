#!/usr/bin/env bash
# The cost meter: one simulated month of a typical blog against the real
# store servers (moto's S3 and DynamoDB), every billable request counted,
# and the monthly bill per setup: Lambda + S3, Lambda + DynamoDB,
# DigitalOcean Functions + Spaces. Also an idle month (no views, no
# webmentions, no new posts: only the scheduled runs). See bench/README.md.
#
# The month (examples/cost_month.rs): POSTS posts already announced (a week
# apart) with their threads cached, NEW_POSTS new ones, VIEWS comment-widget views a day
# (half on the three newest posts), WEBMENTIONS webmentions (one a day), a
# scheduled run every 5 minutes (8,640). One warm function instance serves
# it all, its clock moved by hand; the fake Mastodon thread has REPLIES
# replies. Compute is the measured wall time of each invocation (rounded up
# to a millisecond, as Lambda bills) times MEMORY_MB, on this machine.
#
# Environment (all optional):
#   POSTS=100 NEW_POSTS=3 VIEWS=1000 WEBMENTIONS=30 REPLIES=5 MEMORY_MB=128
#   REFRESH_INLINE=true  BACKFEED_THREAD_REFRESH_INLINE, as the templates set it
#   MONTHS="typical idle" STORES="s3 dynamodb"   a part of the run (several parts
#                       may run at once, each with COST_OUT=<dir> to keep its reports)
#   COST_OUT=<dir>      copy the months' reports and request logs there
#   CARGO_TARGET_DIR    for the release build (default: the project's target/)
#   COST_MONTH_BIN=…    use this cost_month instead of building one (a debug
#                       build counts the same requests, but its compute is slower)
set -euo pipefail

POSTS=${POSTS:-100}
NEW_POSTS=${NEW_POSTS:-3}
VIEWS=${VIEWS:-1000}
WEBMENTIONS=${WEBMENTIONS:-30}
REPLIES=${REPLIES:-5}
MEMORY_MB=${MEMORY_MB:-128}  # the SAM template's MemorySize
MONTHS=${MONTHS:-typical idle}
STORES=${STORES:-s3 dynamodb}

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

install_cleanup_traps
WORK=$(mktemp -d /tmp/backfeed-bench.XXXXXX)
if [[ -n "${COST_MONTH_BIN:-}" ]]; then
    CM=$COST_MONTH_BIN
else
    say "building examples/cost_month (release)…"
    (cd "$ROOT" && cargo build --release --example cost_month >&2)
    CM=$CARGO_TARGET_DIR/release/examples/cost_month
fi
[[ -x $CM ]] || die "no cost_month at $CM"

start_moto
start_fake_mastodon --replies "$REPLIES"
export BLOG_URL=$UPSTREAM
export BACKFEED_SITES=$UPSTREAM/
export BACKFEED_ALLOW_PRIVATE_ADDRESSES=true
export BACKFEED_LOG=error
unset BACKFEED_CONFIG RUST_LOG BACKFEED_VERIFY_INLINE BACKFEED_THREAD_TTL BACKFEED_THREAD_MAX_TTL
# As the SAM template and the DigitalOcean project set it: a stale thread is
# refreshed by its reader, not by a queued job (REFRESH_INLINE=false to compare).
export BACKFEED_THREAD_REFRESH_INLINE=${REFRESH_INLINE:-true}

lines() { wc -l <"$WORK/moto.log"; }

# Runs one month ($1: typical|idle) on DATABASE_URL $2; writes the report to
# $WORK/$3.json and moto's log lines of the month (not of the setup) to
# $WORK/$3.log.
month() {
    local report before after
    coproc MONTH { DATABASE_URL=$2 "$CM" "$1" "$POSTS" "$NEW_POSTS" "$VIEWS" "$WEBMENTIONS" 2>"$WORK/$3.err"; }
    read -r ready <&"${MONTH[0]}" || die "cost_month did not start: $(cat "$WORK/$3.err")"
    [[ $ready == setup-done ]] || die "cost_month: $ready $(cat "$WORK/$3.err")"
    before=$(lines)
    echo go >&"${MONTH[1]}"
    read -r report <&"${MONTH[0]}" || die "cost_month failed: $(tail -5 "$WORK/$3.err")"
    after=$(lines)
    echo done >&"${MONTH[1]}"
    wait "$MONTH_PID" 2>/dev/null || true
    printf '%s\n' "$report" >"$WORK/$3.json"
    sed -n "$((before + 1)),${after}p" "$WORK/moto.log" >"$WORK/$3.log"
}

for kind in $MONTHS; do
    if [[ " $STORES " == *" s3 "* ]]; then
        say "S3 (moto): a $kind month…"
        month "$kind" "$(moto_bucket "cost-$kind")" "s3-$kind"
    fi
    if [[ " $STORES " == *" dynamodb "* ]]; then
        say "DynamoDB (moto): a $kind month…"
        month "$kind" "dynamodb://cost-$kind?endpoint=$S3_ENDPOINT&region=us-east-1" "dynamodb-$kind"
    fi
done

if [[ -n "${COST_OUT:-}" ]]; then
    mkdir -p "$COST_OUT"
    cp "$WORK"/*-*.json "$WORK"/*-*.log "$COST_OUT"/
fi
if [[ $MONTHS == "typical idle" && $STORES == "s3 dynamodb" ]]; then
    python3 "$BENCH_DIR/cost_report.py" "$WORK" "$MEMORY_MB" "$POSTS" "$NEW_POSTS" "$VIEWS" "$WEBMENTIONS" "$REPLIES"
else
    say "a partial run: the reports are in ${COST_OUT:-(set COST_OUT to keep them)}; cost_report.py prices a directory holding all four"
fi
