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

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)

# Targets.
TARGET_RATIO=0.5
TARGET_RSS_MB=30
TARGET_START_MS=50

say() { printf '%s\n' "$*" >&2; }
die() { say "lookup.sh: $*"; exit 1; }

# --- clean-up: every process started here, and the temp dir ---------------
PIDS=()
WORK=""
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
    if [[ -n "$WORK" && -d "$WORK" ]]; then
        rm -rf "$WORK"
    fi
    restore_policy_rc_d
}
POLICY_RC_D_ADDED=""
restore_policy_rc_d() {
    if [[ -n "$POLICY_RC_D_ADDED" ]]; then
        rm -f /usr/sbin/policy-rc.d
        POLICY_RC_D_ADDED=""
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- tools -----------------------------------------------------------------
NGINX=$(command -v nginx || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } || true)
missing=()
command -v wrk >/dev/null || missing+=(wrk)
[[ -n "$NGINX" ]] || missing+=(nginx)
command -v curl >/dev/null || missing+=(curl)
command -v python3 >/dev/null || die "python3 is needed"
if ((${#missing[@]})); then
    [[ $EUID -eq 0 ]] || die "missing ${missing[*]}; install them (apt-get install wrk nginx-light curl) or run as root"
    say "installing ${missing[*]} from Debian…"
    # Do not let the nginx package start a system-wide server on port 80.
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        POLICY_RC_D_ADDED=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    pkgs=()
    for m in "${missing[@]}"; do
        if [[ $m == nginx ]]; then
            if apt-cache policy nginx-light 2>/dev/null | grep -q 'Candidate: [0-9]'; then
                pkgs+=(nginx-light)
            else
                pkgs+=(nginx)
            fi
        else
            pkgs+=("$m")
        fi
    done
    apt-get install -y -qq "${pkgs[@]}" >&2
    restore_policy_rc_d
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
    [[ -x "$NGINX" ]] || die "nginx did not install"
fi

# --- backfeed binary -------------------------------------------------------
if [[ -n "${BACKFEED_BIN:-}" ]]; then
    BIN=$BACKFEED_BIN
else
    say "building backfeed (release)…"
    (cd "$ROOT" && cargo build --release --bin backfeed >&2)
    TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
    BIN=$TARGET_DIR/release/backfeed
fi
[[ -x "$BIN" ]] || die "no backfeed binary at $BIN"

WORK=$(mktemp -d /tmp/backfeed-bench.XXXXXX)

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits until GET $1 answers 200 (max 10 s).
wait_ok() {
    local url=$1
    for _ in $(seq 200); do
        if [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true) == 200 ]]; then
            return 0
        fi
        sleep 0.05
    done
    die "no 200 from $url within 10 s"
}

# --- fake Mastodon + blog --------------------------------------------------
python3 "$BENCH_DIR/fake_upstream.py" --port 0 --port-file "$WORK/upstream.port" \
    >"$WORK/upstream.out" 2>"$WORK/upstream.err" &
PIDS+=($!)
for _ in $(seq 100); do [[ -s "$WORK/upstream.port" ]] && break; sleep 0.05; done
[[ -s "$WORK/upstream.port" ]] || die "the fake upstream did not start: $(cat "$WORK/upstream.err")"
UP_PORT=$(<"$WORK/upstream.port")
UPSTREAM=http://127.0.0.1:$UP_PORT

POST_URL=$UPSTREAM/posts/bench/
QUERY=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$POST_URL")

export MASTODON_HOST=$UPSTREAM
export MASTODON_USER=bench
export MASTODON_OAUTH_TOKEN=x
export BLOG_POST_PATTERN="^http://127\\.0\\.0\\.1:$UP_PORT/posts/"
export BACKFEED_ALLOW_PRIVATE_ADDRESSES=true
export BACKFEED_LOG=warn
export DATABASE_URL=sqlite://$WORK/bench.db
# Settings that would change the figures if inherited from the caller.
unset BACKFEED_CONFIG BACKFEED_LISTEN PORT BACKFEED_CORS_ORIGINS RUST_LOG BACKFEED_LOG_FORMAT \
    BLOG_POST_POSTFIX BLOG_TITLE_PATTERN

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
"$BIN" serve --listen "127.0.0.1:$BF_PORT" >"$WORK/backfeed.out" 2>"$WORK/backfeed.err" &
BF_PID=$!
PIDS+=("$BF_PID")
wait_ok "http://127.0.0.1:$BF_PORT/status"
rss_kb() { local k v _; while read -r k v _; do [[ $k == "$1:" ]] && { echo "$v"; return; }; done <"/proc/$BF_PID/status"; }
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
mkdir -p "$WORK/nginx/www" "$WORK/nginx/logs" "$WORK/nginx/tmp"
cp "$WORK/lookup.json" "$WORK/nginx/www/lookup.json"
NGINX_USER=""
if [[ $EUID -eq 0 ]]; then
    # Workers drop to nobody: let them read the file.
    chmod 755 "$WORK" "$WORK/nginx" "$WORK/nginx/www"
    chmod 644 "$WORK/nginx/www/lookup.json"
    NGINX_USER="user nobody nogroup;"
    getent group nogroup >/dev/null || NGINX_USER="user nobody;"
fi
cat >"$WORK/nginx/nginx.conf" <<EOF
$NGINX_USER
worker_processes auto;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    server_tokens off;
    keepalive_requests 1000000;
    client_body_temp_path $WORK/nginx/tmp/body;
    proxy_temp_path $WORK/nginx/tmp/proxy;
    fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
    scgi_temp_path $WORK/nginx/tmp/scgi;
    server {
        listen 127.0.0.1:$NG_PORT;
        root $WORK/nginx/www;
        location = / {
            default_type application/json;
            add_header Access-Control-Allow-Origin * always;
            try_files /lookup.json =404;
        }
    }
}
EOF
"$NGINX" -p "$WORK/nginx" -e "$WORK/nginx/logs/error.log" -c "$WORK/nginx/nginx.conf" \
    >"$WORK/nginx/logs/stdout" 2>&1 &
PIDS+=($!)
NG_URL="http://127.0.0.1:$NG_PORT/?url=$QUERY"
wait_ok "$NG_URL"
curl -s --max-time 5 -D "$WORK/nginx.headers" -o "$WORK/nginx.json" "$NG_URL"
cmp -s "$WORK/lookup.json" "$WORK/nginx.json" || die "nginx does not serve the same bytes"

# --- wrk -----------------------------------------------------------------------
# Runs wrk, prints "req/s non2xx errors p50 p99 requests" (latencies in ms).
run_wrk() {
    local url=$1 duration=$2 out
    out=$(timeout 300 wrk -t"$THREADS" -c"$CONNECTIONS" -d"$duration" --latency "$url")
    printf '%s\n' "$out" >>"$WORK/wrk.log"
    python3 -c '
import re, sys
out = sys.stdin.read()
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m|h)$", v)
    if not m:
        sys.exit(f"unreadable wrk latency {v!r} in:\n{out}")
    n, u = m.groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000, "h": 3600000}[u]
rps = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)
non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
p50 = re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1)
p99 = re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1)
total = re.search(r"(\d+) requests in", out).group(1)
print(rps, non2xx.group(1) if non2xx else 0, sum(map(int, errs.groups())) if errs else 0,
      round(ms(p50), 3), round(ms(p99), 3), total)
' <<<"$out"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
say "system load before the runs: $LOAD_BEFORE"
say "warming up both servers ($WARMUP each)…"
BF_WARMUP=$(run_wrk "$BF_URL" "$WARMUP")
run_wrk "$NG_URL" "$WARMUP" >/dev/null

# Samples backfeed's VmRSS every 100 ms while it is under load.
: >"$WORK/rss.samples"
sample_rss() {
    while kill -0 "$BF_PID" 2>/dev/null; do
        rss_kb VmRSS >>"$WORK/rss.samples" || true
        sleep 0.1
    done
}

BF_RESULTS=()
NG_RESULTS=()
for ((round = 1; round <= ROUNDS; round++)); do
    say "round $round/$ROUNDS: backfeed ($DURATION)…"
    sample_rss &
    SAMPLER=$!
    PIDS+=("$SAMPLER")
    BF_RESULTS+=("$(run_wrk "$BF_URL" "$DURATION")")
    kill "$SAMPLER" 2>/dev/null || true
    wait "$SAMPLER" 2>/dev/null || true
    say "  ${BF_RESULTS[-1]}"
    say "round $round/$ROUNDS: nginx ($DURATION)…"
    NG_RESULTS+=("$(run_wrk "$NG_URL" "$DURATION")")
    say "  ${NG_RESULTS[-1]}"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
RSS_HWM_KB=$(rss_kb VmHWM)
RSS_END_KB=$(rss_kb VmRSS)
THREADS_BF=$(rss_kb Threads)
COUNTS=$(curl -s --max-time 5 "$UPSTREAM/_counts")
kill -0 "$BF_PID" 2>/dev/null || die "backfeed died under load: $(tail -5 "$WORK/backfeed.err")"

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
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"machine               {cores} cores ({cpu}), Linux {os.uname().release}; load average before / after the runs "
      f"{load_after} (the runs themselves add about {cores})")
print(f"versions              {bf_version}; {ng_version}; {wrk_version}")
import re
raw = open(os.path.join(work, "backfeed.err")).read()
ansi = re.compile(r"\x1b\[[0-9;]*m")
logs = [ansi.sub("", l) for l in raw.splitlines() if l.strip()]
if logs:
    print(f"backfeed stderr       {len(logs)} line(s) (BACKFEED_LOG=warn):")
    for line in logs[:5]:
        print(f"                      {line}")
    if ansi.search(raw):
        print("                      (the lines carry ANSI colour codes, though stderr is a file)")
else:
    print("backfeed stderr       empty (BACKFEED_LOG=warn)")
EOF

# Everything is stopped by the EXIT trap; check nothing is left listening.
cleanup
for p in "$UP_PORT" "$BF_PORT" "$NG_PORT" "$START_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
        say "warning: something still listens on 127.0.0.1:$p"
    fi
done
