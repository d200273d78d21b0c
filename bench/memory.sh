#!/usr/bin/env bash
# The Lambda memory setting: p50 and p99 latency of one function instance at
# each memory size, emulated with cgroup (v1) limits on this machine. Lambda
# gives a function CPU in proportion to its memory (one full vCPU at
# 1,769 MB), so each size runs `backfeed serve` in a cgroup with
# memory.limit_in_bytes = the size and a CPU quota of size / 1,769 of one
# core (CFS, 100 ms period). The store is moto's S3, the upstream the fake
# Mastodon and blog; one client sends requests one at a time, as Lambda
# hands an instance one request at a time: comment-widget views over
# POSTS posts (threads stale after THREAD_TTL, so refreshes run too) and
# one webmention in ten. See bench/README.md.
#
# Needs root and a writable cgroup v1 hierarchy (/sys/fs/cgroup/{cpu,memory}).
#
# Environment (all optional):
#   SIZES="128 256 512 1024 1769"  memory sizes in MB
#   REQUESTS=2000  POSTS=20  THREAD_TTL=2s
#   BACKFEED_BIN=…  use this binary instead of building one
set -euo pipefail

SIZES=${SIZES:-128 256 512 1024 1769}
REQUESTS=${REQUESTS:-2000}
POSTS=${POSTS:-20}
THREAD_TTL=${THREAD_TTL:-2s}

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CG=backfeed-memory-$$
CPU_CG=/sys/fs/cgroup/cpu/$CG
MEM_CG=/sys/fs/cgroup/memory/$CG
[[ -w /sys/fs/cgroup/cpu && -w /sys/fs/cgroup/memory ]] \
    || die "needs root and cgroup v1 at /sys/fs/cgroup/{cpu,memory}"

install_cleanup_traps
trap 'cleanup; rmdir "$CPU_CG" "$MEM_CG" 2>/dev/null || true' EXIT
find_backfeed_bin
WORK=$(mktemp -d /tmp/backfeed-bench.XXXXXX)
mkdir -p "$CPU_CG" "$MEM_CG"

start_moto
start_fake_mastodon --replies 5
export BLOG_URL=$UPSTREAM
export BACKFEED_SITES=$UPSTREAM/
export BACKFEED_ALLOW_PRIVATE_ADDRESSES=true
export BACKFEED_LOG=error
export BACKFEED_THREAD_TTL=$THREAD_TTL
unset BACKFEED_CONFIG RUST_LOG BACKFEED_VERIFY_INLINE

say "load before: $(load_average)"
for size in $SIZES; do
    echo $((size * 1024 * 1024)) >"$MEM_CG/memory.limit_in_bytes"
    echo 100000 >"$CPU_CG/cpu.cfs_period_us"
    echo $((size * 100000 / 1769)) >"$CPU_CG/cpu.cfs_quota_us"
    port=$(free_port)
    export DATABASE_URL
    DATABASE_URL=$(moto_bucket "memory-$size")
    # The shell joins both cgroups, then becomes backfeed.
    sh -c 'echo $$ >"$1/tasks"; echo $$ >"$2/tasks"; shift 2; exec "$@"' sh \
        "$CPU_CG" "$MEM_CG" "$BIN" serve --listen "127.0.0.1:$port" \
        >"$WORK/backfeed-$size.out" 2>"$WORK/backfeed-$size.err" &
    BF_PID=$!
    PIDS+=("$BF_PID")
    wait_ok "http://127.0.0.1:$port/status"
    say "$size MB: $REQUESTS requests…"
    python3 - "$port" "$UPSTREAM" "$POSTS" "$REQUESTS" "$size" \
        >>"$WORK/results.jsonl" <<'PY'
import http.client, json, sys, time, urllib.parse
port, upstream, posts, requests, size = sys.argv[1:6]
posts, requests = int(posts), int(requests)
conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=60)
def call(method, path, body=None, headers=None):
    started = time.perf_counter()
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    response.read()
    assert response.status < 500, (path, response.status)
    return (time.perf_counter() - started) * 1000
def view(i):
    url = f"{upstream}/posts/mem-{i % posts}/"
    return call("GET", "/api/comments?url=" + urllib.parse.quote(url, safe=""))
def mention(i):
    form = urllib.parse.urlencode({"source": f"{upstream}/posts/source-{i}/",
                                   "target": f"{upstream}/posts/mem-{i % posts}/"})
    return call("POST", "/webmention", form,
                {"content-type": "application/x-www-form-urlencoded"})
for i in range(posts):  # first views: announce, fetch, cache
    view(i)
times = []
for i in range(requests):
    times.append(mention(i) if i % 10 == 9 else view(i))
times.sort()
pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
print(json.dumps({"size": int(size), "p50": pick(0.50), "p99": pick(0.99), "max": times[-1]}))
PY
    hwm=$(rss_kb VmHWM)
    kill -TERM "$BF_PID"
    wait "$BF_PID" 2>/dev/null || true
    python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).read().splitlines()[-1]); r["peak_rss_mb"]=int(sys.argv[2])/1024; print(json.dumps(r))' \
        "$WORK/results.jsonl" "$hwm" >>"$WORK/final.jsonl"
done
say "load after: $(load_average)"

python3 - "$WORK/final.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
best = min(r["p99"] for r in rows)
print("| memory | CPU share | p50 | p99 | max | peak RSS | p99 within 2x of the best |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    ok = "yes" if r["p99"] <= 2 * best else "no"
    print(f"| {r['size']} MB | {r['size'] / 1769:.2f} vCPU | {r['p50']:.1f} ms | {r['p99']:.1f} ms "
          f"| {r['max']:.0f} ms | {r['peak_rss_mb']:.1f} MB | {ok} |")
smallest = min((r for r in rows if r["p99"] <= 2 * best), key=lambda r: r["size"])
print(f"\nsmallest size with p99 within 2x of the best ({best:.1f} ms): {smallest['size']} MB")
PY
