#!/usr/bin/env bash
# Load benchmark of `GET /?url=` for an already-mapped post, against nginx
# serving the same JSON bytes from a static file, plus peak RSS under load and
# process start -> first 200. See bench/README.md.
#
# Environment (all optional):
#   DURATION=10s     measured wrk run per server and round
#   WARMUP=3s        wrk warm-up per server, before the first round
#   CONNECTIONS=64   wrk connections      THREADS=2  wrk threads
#   ROUNDS=3         alternating backfeed/nginx rounds; medians are reported
#   STARTS=5         fresh starts for the start -> first 200 figure
#   BACKFEED_BIN=…   use this binary instead of building one
#   CARGO_TARGET_DIR honoured by the release build
set -euo pipefail

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
STARTS=${STARTS:-5}

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Targets.
TARGET_RATIO=0.5
TARGET_RSS_MB=30
TARGET_START_MS=50

bench_setup

# --- fake Mastodon + blog --------------------------------------------------
start_fake_mastodon

POST_URL=$UPSTREAM/posts/bench/
QUERY=$(urlencode "$POST_URL")

backfeed_env bench.db BLOG_POST_POSTFIX BLOG_TITLE_PATTERN

# --- start -> first 200 ------------------------------------------------------
say "measuring start -> first 200 ($STARTS fresh starts, new database each)…"
START_PORT=$(free_port)
python3 "$BENCH_DIR/startup_time.py" --port "$START_PORT" --runs "$STARTS" --db-dir "$WORK" \
    -- "$BIN" serve --listen "127.0.0.1:$START_PORT" >"$WORK/start-new.json"
# One more start creates bench.db, which the existing-database runs then reuse.
python3 "$BENCH_DIR/startup_time.py" --port "$START_PORT" --runs 1 --db "$WORK/bench.db" \
    -- "$BIN" serve --listen "127.0.0.1:$START_PORT" >/dev/null
say "measuring start -> first 200 ($STARTS fresh starts, existing database)…"
python3 "$BENCH_DIR/startup_time.py" --port "$START_PORT" --runs "$STARTS" --db "$WORK/bench.db" \
    -- "$BIN" serve --listen "127.0.0.1:$START_PORT" >"$WORK/start-existing.json"

# --- backfeed under load -----------------------------------------------------
BF_PORT=$(free_port)
start_backfeed "$BF_PORT"
RSS_IDLE_KB=$(rss_kb VmRSS)

BF_URL="http://127.0.0.1:$BF_PORT/?url=$QUERY"
# The first lookup creates the mapping (fetches the page, posts the status).
code=$(curl -s --max-time 30 -o "$WORK/first.json" -w '%{http_code}' "$BF_URL")
[[ $code == 200 ]] || die "first lookup answered $code: $(cat "$WORK/first.json")"
curl -s --max-time 5 -D "$WORK/backfeed.headers" -o "$WORK/lookup.json" "$BF_URL"
cmp -s "$WORK/first.json" "$WORK/lookup.json" || die "second lookup differs from the first"
python3 - "$WORK/lookup.json" "127.0.0.1:$UP_PORT" <<'EOF' || die "unexpected lookup body: $(cat "$WORK/lookup.json")"
import json, sys
body = json.load(open(sys.argv[1]))
assert list(body) == ["host", "user", "toot_id"], list(body)
assert body["host"] == sys.argv[2] and body["user"] == "bench", body
assert isinstance(body["toot_id"], str) and body["toot_id"], body
EOF

# --- nginx serving the same bytes --------------------------------------------
NG_PORT=$(free_port)
mkdir -p "$WORK/nginx/www"
cp "$WORK/lookup.json" "$WORK/nginx/www/lookup.json"
write_nginx_conf <<EOF
    server {
        listen 127.0.0.1:$NG_PORT;
        root $WORK/nginx/www;
        location = / {
            default_type application/json;
            add_header Access-Control-Allow-Origin * always;
            try_files /lookup.json =404;
        }
    }
EOF
start_nginx "$WORK/nginx/www"
NG_URL="http://127.0.0.1:$NG_PORT/?url=$QUERY"
wait_ok "$NG_URL"
curl -s --max-time 5 -D "$WORK/nginx.headers" -o "$WORK/nginx.json" "$NG_URL"
cmp -s "$WORK/lookup.json" "$WORK/nginx.json" || die "nginx does not serve the same bytes"

# --- wrk -----------------------------------------------------------------------
LOAD_BEFORE=$(load_average)
say "system load before the runs: $LOAD_BEFORE"
warm_up_both "" "$BF_URL" "$NG_URL"
alternate_rounds "" "$BF_URL" "$NG_URL" rss.samples
LOAD_AFTER=$(load_average)
RSS_HWM_KB=$(rss_kb VmHWM)
RSS_END_KB=$(rss_kb VmRSS)
THREADS_BF=$(rss_kb Threads)
COUNTS=$(curl -s --max-time 5 "$UPSTREAM/_counts")
check_backfeed_alive

# --- summary -------------------------------------------------------------------
python3 - "$WORK" "$ROUNDS" "$RSS_IDLE_KB" "$RSS_HWM_KB" "$RSS_END_KB" "$THREADS_BF" "$COUNTS" \
    "$TARGET_RATIO" "$TARGET_RSS_MB" "$TARGET_START_MS" "$STARTS" \
    "$(nproc)" "$LOAD_BEFORE / $LOAD_AFTER" "$THREADS" "$CONNECTIONS" "$DURATION" "$BF_WARMUP" \
    "$("$BIN" --version)" "$("$NGINX" -v 2>&1)" "$(wrk -v 2>&1 | head -1)" \
    "${BF_RESULTS[@]}" "${NG_RESULTS[@]}" <<'EOF'
import json, os, statistics, sys

(work, rounds, rss_idle, rss_hwm, rss_end, bf_threads, counts, t_ratio, t_rss, t_start, starts,
 cores, load_after, threads, conns, duration, bf_warmup, bf_version, ng_version, wrk_version) = sys.argv[1:21]
rounds = int(rounds)
runs = [r.split() for r in sys.argv[21:]]
bf, ng = runs[:rounds], runs[rounds:]

def med(rows, i):
    return statistics.median(float(r[i]) for r in rows)

bf_rps, ng_rps = med(bf, 0), med(ng, 0)
ratio = bf_rps / ng_rps if ng_rps else 0.0
samples = [int(l) for l in open(os.path.join(work, "rss.samples")) if l.strip()]
peak_mb = max(samples) / 1024 if samples else float("nan")
hwm_mb = int(rss_hwm) / 1024
start_new = json.load(open(os.path.join(work, "start-new.json")))
start_old = json.load(open(os.path.join(work, "start-existing.json")))
counts = json.loads(counts)

def verdict(ok):
    return "ok" if ok else "MISSED"

def sizes(name):
    head = open(os.path.join(work, name + ".headers"), "rb").read()
    body = open(os.path.join(work, "lookup.json"), "rb").read()
    return len(head), len(body)

bf_head, body_len = sizes("backfeed")
ng_head, _ = sizes("nginx")
start_ms = start_new["median_ms"]

print()
print(f"backfeed GET /?url=   {bf_rps:8.0f} req/s  (median of {rounds}; p50 {med(bf,3):.2f} ms, p99 {med(bf,4):.2f} ms)")
print(f"nginx static JSON     {ng_rps:8.0f} req/s  (median of {rounds}; p50 {med(ng,3):.2f} ms, p99 {med(ng,4):.2f} ms)")
print(f"ratio                 {ratio:8.2f}        (target >= {t_ratio}: {verdict(ratio >= float(t_ratio))})")
print(f"peak RSS under load   {peak_mb:8.1f} MB     (VmRSS every 100 ms; target < {t_rss} MB: {verdict(peak_mb < float(t_rss))})")
print(f"start to first 200    {start_ms:8.1f} ms     (median of {starts}, new database; target < {t_start} ms: {verdict(start_ms < float(t_start))})")
print(f"                      {start_old['median_ms']:8.1f} ms     (median of {starts}, existing database)")
print()
print(f"per round, backfeed   " + ", ".join(f"{float(r[0]):.0f}" for r in bf) + " req/s")
print(f"per round, nginx      " + ", ".join(f"{float(r[0]):.0f}" for r in ng) + " req/s")
print(f"non-2xx / socket errs backfeed {sum(int(r[1]) for r in bf)}/{sum(int(r[2]) for r in bf)}, "
      f"nginx {sum(int(r[1]) for r in ng)}/{sum(int(r[2]) for r in ng)}")
bf_requests = int(bf_warmup.split()[5]) + sum(int(r[5]) for r in bf)
growth = (int(rss_end) - int(rss_idle)) * 1024 / bf_requests if bf_requests else 0.0
print(f"RSS                   idle {int(rss_idle)/1024:.1f} MB, after load {int(rss_end)/1024:.1f} MB, "
      f"lifetime peak (VmHWM) {hwm_mb:.1f} MB; {bf_threads} threads")
print(f"RSS growth            {growth:.1f} bytes per request over {bf_requests} requests "
      f"(idle to after load; steady memory use keeps this near 0)")
print(f"start times (ms)      new db {start_new['starts_ms']}, existing db {start_old['starts_ms']}")
print(f"SIGTERM to exit (ms)  median {start_new['median_stop_ms']} (new db), {start_old['median_stop_ms']} (existing db)")
print(f"response size         body {body_len} B (identical bytes); headers backfeed {bf_head} B, nginx {ng_head} B")
print(f"upstream calls        {counts['statuses']} status posted, {counts['posts']} page fetch(es), "
      f"{counts['instance']} instance lookup(s) over the whole run (one post: expect 1 status)")
print(f"setup                 wrk -t{threads} -c{conns} -d{duration} per round, both servers on all "
      f"{cores} cores (tokio multi-thread; nginx worker_processes auto), wrk on the same cores")
from report import cpu_model, print_backfeed_stderr
cpu = cpu_model()
print(f"machine               {cores} cores ({cpu}), Linux {os.uname().release}; load average before / after the runs "
      f"{load_after} (the runs themselves add about {cores})")
print(f"versions              {bf_version}; {ng_version}; {wrk_version}")
print_backfeed_stderr(os.path.join(work, "backfeed.err"), 22)
EOF

# Everything is stopped by the EXIT trap; check nothing is left listening.
stop_all_and_check_ports "$UP_PORT" "$BF_PORT" "$NG_PORT" "$START_PORT"
