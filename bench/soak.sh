#!/usr/bin/env bash
# Soak test: SOAK_SECONDS (default 10 minutes) of mixed load against the
# release binary on SQLite, with backfeed's RSS sampled every second.
# Prints the RSS at the start, its peak and at the end, a least-squares line
# over the second half, and whether memory climbs (the line rises by more
# than 5% of the half's mean), with what was sent and answered. Exits 1 when
# memory climbs, backfeed died, or any answer was a 5xx. See bench/README.md.
#
# The load (bench/soak.py, each kind in its own threads, keep-alive):
#   lookups   GET /?url= over 2 x POSTS posts (announced once, then from
#             memory), one in ten a URL that is not a post (400)
#   intake    POST /webmention to the POSTS "written" posts, a new reply every
#             time, INTAKE_RATE/s; each is verified against the fake
#             upstream's reply page
#   comments  GET /api/comments for the POSTS "read" posts (40 Mastodon
#             replies each), GET /api/mentions.jf2 for the written ones
# Read and written posts are apart so that the comment threads, which are
# rendered once and kept in memory, stay the same size: a thread that grows
# is data, not a leak, and would hide one.
#   admin     the admin API (list mentions and jobs, approve, hide, block and
#             unblock), ADMIN_RATE/s
#
# Environment (all optional):
#   SOAK_SECONDS=600  how long the load runs
#   POSTS=200         read posts, and as many written ones; REPLIES=40 Mastodon replies each
#   INTAKE_RATE=100   webmentions a second       ADMIN_RATE=20  admin calls a second
#   SOAK_SAMPLES_OUT=FILE  keep the RSS samples ("seconds kB" lines)
#   BACKFEED_BIN=…    use this binary instead of building one
#   CARGO_TARGET_DIR  honoured by the release build
set -euo pipefail

SOAK_SECONDS=${SOAK_SECONDS:-600}
POSTS=${POSTS:-200}
REPLIES=${REPLIES:-40}
INTAKE_RATE=${INTAKE_RATE:-100}
ADMIN_RATE=${ADMIN_RATE:-20}

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for v in SOAK_SECONDS POSTS REPLIES INTAKE_RATE ADMIN_RATE; do
    [[ ${!v} =~ ^[0-9]+$ && ${!v} -ge 1 ]] || die "$v must be a positive number, not '${!v}'"
done

bench_setup
ADMIN_TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
start_fake_mastodon --replies "$REPLIES"

export BACKFEED_SITES=$UPSTREAM/
export BACKFEED_ADMIN_TOKEN=$ADMIN_TOKEN
export BACKFEED_RATE_LIMIT=off
export BACKFEED_ANNOUNCE_RATE=off
backfeed_env soak.db \
    BACKFEED_MODERATION BACKFEED_ALLOWED_DOMAINS BACKFEED_BLOCKED_DOMAINS BACKFEED_WEBHOOK_URL \
    BACKFEED_VERIFY_RETRY_DELAYS BACKFEED_TRUST_X_FORWARDED_FOR BACKFEED_READ_TOKENS \
    BACKFEED_THREAD_TTL BACKFEED_FETCH_TIMEOUT BACKFEED_REQUEST_TIMEOUT
BF_PORT=$(free_port)
start_backfeed "$BF_PORT"
RSS_IDLE_KB=$(rss_kb VmRSS)

LOAD_BEFORE=$(load_average)
say "system load before the run: $LOAD_BEFORE"
say "soak: ${SOAK_SECONDS}s of mixed load against $BIN…"
python3 "$BENCH_DIR/soak.py" --port "$BF_PORT" --pid "$BF_PID" --upstream "$UPSTREAM" \
    --admin-token "$ADMIN_TOKEN" --seconds "$SOAK_SECONDS" --posts "$POSTS" \
    --intake-rate "$INTAKE_RATE" --admin-rate "$ADMIN_RATE" \
    --samples "$WORK/rss.samples" >"$WORK/soak.json"
check_backfeed_alive
RSS_HWM_KB=$(rss_kb VmHWM)
curl -s --max-time 10 "http://127.0.0.1:$BF_PORT/metrics" >"$WORK/metrics.txt"
DB_BYTES=$(du -cb "$WORK"/soak.db* | tail -1 | cut -f1)
[[ -z "${SOAK_SAMPLES_OUT:-}" ]] || cp "$WORK/rss.samples" "$SOAK_SAMPLES_OUT"

python3 - "$WORK/soak.json" "$WORK/metrics.txt" "$WORK/backfeed.err" "$RSS_IDLE_KB" "$RSS_HWM_KB" \
    "$DB_BYTES" "$LOAD_BEFORE" "$(load_average)" <<'EOF'
import json, re, sys
import report
soak = json.load(open(sys.argv[1]))
metrics = open(sys.argv[2]).read()
idle, hwm, db = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
mb = lambda kb: kb / 1024
server_errors = {k: v for k, v in soak["statuses"].items() if k.split()[1].startswith("5")}
outcomes = dict(re.findall(r'backfeed_webmention_verifications_total\{outcome="([^"]+)"\} (\d+)', metrics))
print()
print(f"soak                   {soak['seconds']:.0f} s of mixed load, RSS sampled every second ({soak['samples']} samples)")
print(f"RSS                    idle {mb(idle):.1f} MB; start {mb(soak['rss_start_kb']):.1f} MB, "
      f"peak {mb(soak['rss_peak_kb']):.1f} MB, end {mb(soak['rss_end_kb']):.1f} MB (lifetime VmHWM {mb(hwm):.1f} MB)")
print(f"second half            {soak['second_half_slope_kb_per_min']:+.1f} KB/min fitted "
      f"({soak['second_half_growth_kb'] / 1024:+.2f} MB over the half, mean {mb(soak['second_half_mean_kb']):.1f} MB)")
print(f"climbs                 {'YES' if soak['climbs'] else 'no'} (a rise over 5% of the half's mean would be)")
secs = soak["seconds"] or 1
print("requests               " + ", ".join(f"{k} {v} ({v / secs:.0f}/s)" for k, v in soak["requests"].items()))
print("answers                " + ", ".join(f"{k}: {v}" for k, v in soak["statuses"].items()))
print(f"5xx answers            {sum(server_errors.values())}")
print(f"client errors          {soak['errors'] or 'none'}")
print(f"webmentions            {soak['mentions_sent']} sent; verifications by outcome: {outcomes or 'none'}")
print(f"database               {db / 1e6:.1f} MB at the end")
print(f"load average           before {sys.argv[7]}; after {sys.argv[8]}")
print(f"cpu                    {report.cpu_model()}")
report.print_backfeed_stderr(sys.argv[3], 23)
sys.exit(1 if soak["climbs"] or server_errors or soak["errors"].get("backfeed exited") else 0)
EOF
