#!/usr/bin/env bash
# Benchmark of `GET /api/comments`: a cached thread of REPLIES replies against
# nginx serving the same JSON bytes, and the time a cold (uncached) thread
# takes against the fake Mastodon. See bench/README.md.
#
# Environment (all optional):
#   DURATION=10s     measured wrk run per server and round
#   WARMUP=3s        wrk warm-up per server, before the first round
#   CONNECTIONS=64   wrk connections      THREADS=2  wrk threads
#   ROUNDS=3         alternating backfeed/nginx rounds; medians are reported
#   REPLIES=200      public replies in every thread of the fake Mastodon
#   COLD=10          posts timed for each cold figure (median and max)
#   CHANGES_PER_SEC=0  when > 0, one more backfeed wrk run of DURATION while
#                    something changes that many times a second (a reply
#                    hidden and unhidden through the admin API; a verified
#                    webmention does the same): each change drops every
#                    rendered thread
#   BACKFEED_BIN=…   use this binary instead of building one
#   CARGO_TARGET_DIR honoured by the release build
set -euo pipefail

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
REPLIES=${REPLIES:-200}
COLD=${COLD:-10}
CHANGES_PER_SEC=${CHANGES_PER_SEC:-0}

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Targets.
TARGET_RATIO=0.3

[[ $REPLIES =~ ^[0-9]+$ && $REPLIES -ge 1 ]] || die "REPLIES must be a positive number, not '$REPLIES'"
[[ $COLD =~ ^[0-9]+$ && $COLD -ge 1 ]] || die "COLD must be a positive number, not '$COLD'"
[[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -ge 1 ]] || die "ROUNDS must be a positive number, not '$ROUNDS'"
[[ $CHANGES_PER_SEC =~ ^[0-9]+$ ]] || die "CHANGES_PER_SEC must be a number, not '$CHANGES_PER_SEC'"

bench_setup

# --- fake Mastodon + blog --------------------------------------------------
start_fake_mastodon --replies "$REPLIES"

POST_URL=$UPSTREAM/posts/bench/
QUERY=$(urlencode "$POST_URL")

ADMIN_TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
backfeed_env bench.db BLOG_POST_POSTFIX BLOG_TITLE_PATTERN BACKFEED_THREAD_INCLUDE_UNLISTED \
    BACKFEED_MASTODON_VISIBILITY
# The cached copy stays fresh for the whole run: no background refresh.
export BACKFEED_THREAD_TTL=1h
# Only for the "re-render after a change" figure (hides a reply id that no
# thread has, which invalidates every rendered thread without changing one).
export BACKFEED_ADMIN_TOKEN=$ADMIN_TOKEN

# --- backfeed ----------------------------------------------------------------
BF_PORT=$(free_port)
start_backfeed "$BF_PORT"
RSS_IDLE_KB=$(rss_kb VmRSS)

# --- cold threads ------------------------------------------------------------
# For COLD new posts: one timed GET /api/comments (announces the post, then
# fetches the thread). For COLD more posts, announced first with GET /?url=
# (not timed): the timed request only fetches the thread. Then, for the
# benchmark post: its first request (cold, announcing), and COLD requests
# each right after a change that invalidates every rendered thread (the
# thread comes from the store's cache, not from Mastodon).
say "timing cold threads ($COLD new posts, $COLD announced posts, $REPLIES replies each)…"
python3 - "$BF_PORT" "$UPSTREAM" "$REPLIES" "$COLD" "$POST_URL" "$ADMIN_TOKEN" \
    >"$WORK/cold.json" <<'EOF' || die "cold thread timing failed"
import http.client, json, sys, time, urllib.parse

bf_port, upstream, replies, cold, post_url, admin = sys.argv[1:7]
replies, cold = int(replies), int(cold)
up = urllib.parse.urlsplit(upstream)

def request(port, method, target, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.connect()                                   # not timed
    started = time.perf_counter()
    conn.request(method, target, headers=headers or {})
    response = conn.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    conn.close()
    return response.status, body, elapsed

def counts():
    status, body, _ = request(up.port, "GET", "/_counts")
    assert status == 200, status
    return json.loads(body)

def comments(url):
    return request(int(bf_port), "GET", "/api/comments?url=" + urllib.parse.quote(url, safe=""))

def tree_count(items):
    return sum(1 + tree_count(c["replies"]) for c in items)

def check(url, status, body):
    if status != 200:
        sys.exit(f"GET /api/comments for {url} answered {status}: {body[:300]!r}")
    doc = json.loads(body)
    problems = []
    if doc.get("comment_count") != replies:
        problems.append(f"comment_count {doc.get('comment_count')} (expected {replies})")
    if tree_count(doc.get("comments", [])) != doc.get("comment_count"):
        problems.append("comment_count differs from the comments in the tree")
    if not doc.get("toot") or not doc.get("fetched_at"):
        problems.append(f"toot {doc.get('toot')}, fetched_at {doc.get('fetched_at')}")
    if problems:
        sys.exit(f"GET /api/comments for {url}: " + "; ".join(problems))
    return doc

def delta(before, after):
    calls = {k: after[k] - before[k] for k in after if k != "busy_ms"}
    busy = sum(after["busy_ms"][k] - before["busy_ms"][k] for k in after["busy_ms"])
    return calls, busy

def timed(label, url):
    before = counts()
    status, body, ms = comments(url)
    after = counts()
    check(url, status, body)
    calls, busy = delta(before, after)
    return {"url": url, "ms": round(ms, 3), "upstream_busy_ms": round(busy, 3), "calls": calls,
            "bytes": len(body)}

out = {"new": [], "announced": [], "rerender": []}
run = int(time.time() * 1000) % 1_000_000
for i in range(cold):
    out["new"].append(timed("new", f"{upstream}/posts/cold-{run}-{i}/"))
for i in range(cold):
    url = f"{upstream}/posts/announced-{run}-{i}/"
    status, body, _ = request(int(bf_port), "GET", "/?url=" + urllib.parse.quote(url, safe=""))
    if status != 200:
        sys.exit(f"GET /?url={url} answered {status}: {body[:300]!r}")
    out["announced"].append(timed("announced", url))

# The benchmark post: first request (cold), a second one (cached).
out["first"] = timed("first", post_url)
status, body, ms = comments(post_url)
check(post_url, status, body)
out["second_ms"] = round(ms, 3)

# Re-render after a change: hide a reply id that no thread has (bumps the
# change counter, so every rendered thread is dropped), time the next request,
# then unhide it again.
auth = {"Authorization": "Bearer " + admin}
for i in range(cold):
    status, body, _ = request(int(bf_port), "POST", f"/admin/replies/bench-none-{i}/hide", auth)
    if status >= 300:
        sys.exit(f"POST /admin/replies/…/hide answered {status}: {body[:300]!r}")
    before = counts()
    status, body, ms = comments(post_url)
    after = counts()
    check(post_url, status, body)
    calls, _ = delta(before, after)
    out["rerender"].append({"ms": round(ms, 3), "calls": calls})
    status, body, _ = request(int(bf_port), "DELETE", f"/admin/replies/bench-none-{i}/hide", auth)
    if status >= 300:
        sys.exit(f"DELETE /admin/replies/…/hide answered {status}: {body[:300]!r}")
json.dump(out, sys.stdout)
EOF

# --- the cached thread -------------------------------------------------------
BF_URL="http://127.0.0.1:$BF_PORT/api/comments?url=$QUERY"
curl -s --max-time 30 -o "$WORK/first.json" "$BF_URL"
curl -s --max-time 5 -D "$WORK/backfeed.headers" -o "$WORK/comments.json" "$BF_URL"
cmp -s "$WORK/first.json" "$WORK/comments.json" || die "two cached answers differ"
python3 - "$WORK/comments.json" "$REPLIES" <<'EOF' || die "unexpected comments body: $(head -c 300 "$WORK/comments.json")"
import json, sys
doc = json.load(open(sys.argv[1]))
replies = int(sys.argv[2])
assert list(doc) == ["url", "toot", "comments", "reactions", "comment_count", "fetched_at"], list(doc)
assert doc["comment_count"] == replies, doc["comment_count"]
def count(items):
    return sum(1 + count(c["replies"]) for c in items)
assert count(doc["comments"]) == replies
assert doc["toot"]["replies_count"] == replies, doc["toot"]
if replies >= 20:
    assert any(c["replies"] for c in doc["comments"]), "no nested replies"
    assert len(doc["comments"]) < replies, "no nested replies"
EOF
grep -qi '^etag:' "$WORK/backfeed.headers" || die "no ETag on the cached answer"

# --- nginx serving the same bytes --------------------------------------------
NG_PORT=$(free_port)
mkdir -p "$WORK/nginx/www"
cp "$WORK/comments.json" "$WORK/nginx/www/comments.json"
write_nginx_conf <<EOF
    server {
        listen 127.0.0.1:$NG_PORT;
        root $WORK/nginx/www;
        location = /api/comments {
            default_type application/json;
            add_header Access-Control-Allow-Origin * always;
            try_files /comments.json =404;
        }
    }
EOF
start_nginx "$WORK/nginx/www"
NG_URL="http://127.0.0.1:$NG_PORT/api/comments?url=$QUERY"
wait_ok "$NG_URL"
curl -s --max-time 5 -D "$WORK/nginx.headers" -o "$WORK/nginx.json" "$NG_URL"
cmp -s "$WORK/comments.json" "$WORK/nginx.json" || die "nginx does not serve the same bytes"

# --- wrk -----------------------------------------------------------------------
COUNTS_BEFORE=$(curl -s --max-time 5 "$UPSTREAM/_counts")
RSS_BEFORE_KB=$(rss_kb VmRSS)
LOAD_BEFORE=$(load_average)
say "system load before the runs: $LOAD_BEFORE"
warm_up_both "" "$BF_URL" "$NG_URL"
alternate_rounds "" "$BF_URL" "$NG_URL" rss.samples
LOAD_AFTER=$(load_average)
check_backfeed_alive
RSS_HWM_KB=$(rss_kb VmHWM)
RSS_END_KB=$(rss_kb VmRSS)
THREADS_BF=$(rss_kb Threads)
COUNTS_AFTER=$(curl -s --max-time 5 "$UPSTREAM/_counts")
curl -s --max-time 5 "http://127.0.0.1:$BF_PORT/metrics" >"$WORK/metrics.txt" || true

# --- optional: the cached path while things change ------------------------------
CHANGES_RESULT="-"
if ((CHANGES_PER_SEC > 0)); then
    say "backfeed ($DURATION) while $CHANGES_PER_SEC changes a second drop the rendered threads…"
    python3 - "$BF_PORT" "$ADMIN_TOKEN" "$CHANGES_PER_SEC" >"$WORK/changes.out" <<'EOF' &
import http.client, signal, sys, time
port, token, rate = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
auth = {"Authorization": "Bearer " + token}
done = 0
start = time.monotonic()

def stop(*_):
    print(done, round(time.monotonic() - start, 3))
    sys.exit(0)

# Until SIGTERM: hide and unhide a reply id no thread has, alternately.
signal.signal(signal.SIGTERM, stop)
while True:
    conn.request("POST" if done % 2 == 0 else "DELETE", "/admin/replies/bench-change/hide", headers=auth)
    response = conn.getresponse()
    response.read()
    if response.status >= 300:
        print(f"a change answered {response.status}", file=sys.stderr)
    done += 1
    delay = start + done / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
EOF
    BUMPER=$!
    PIDS+=("$BUMPER")
    sleep 0.2
    CHANGES_RESULT=$(run_wrk "$DURATION" "$BF_URL")
    kill -TERM "$BUMPER" 2>/dev/null || true
    wait "$BUMPER" 2>/dev/null || true
    CHANGES_RESULT="$CHANGES_RESULT $(cat "$WORK/changes.out" 2>/dev/null || true) $(rss_kb VmHWM)"
    say "  $CHANGES_RESULT"
    check_backfeed_alive
fi
# The body must not have changed under load.
curl -s --max-time 5 -o "$WORK/after.json" "$BF_URL"
cmp -s "$WORK/comments.json" "$WORK/after.json" || say "warning: the cached body changed during the run"

# --- summary -------------------------------------------------------------------
python3 - "$WORK" "$ROUNDS" "$RSS_IDLE_KB" "$RSS_HWM_KB" "$RSS_END_KB" "$THREADS_BF" \
    "$RSS_BEFORE_KB" "$CHANGES_PER_SEC" "$CHANGES_RESULT" \
    "$COUNTS_BEFORE" "$COUNTS_AFTER" "$TARGET_RATIO" "$REPLIES" "$COLD" \
    "$(nproc)" "$LOAD_BEFORE / $LOAD_AFTER" "$THREADS" "$CONNECTIONS" "$DURATION" "$BF_WARMUP" \
    "$("$BIN" --version)" "$("$NGINX" -v 2>&1)" "$(wrk -v 2>&1 | head -1)" \
    "${BF_RESULTS[@]}" "${NG_RESULTS[@]}" <<'EOF'
import json, os, re, statistics, sys

(work, rounds, rss_idle, rss_hwm, rss_end, bf_threads, rss_before, changes_rate, changes_result,
 counts_before, counts_after, t_ratio, replies, cold, cores, load, threads, conns, duration,
 bf_warmup, bf_version, ng_version, wrk_version) = sys.argv[1:24]
rounds = int(rounds)
runs = [r.split() for r in sys.argv[24:]]
bf, ng = runs[:rounds], runs[rounds:]

def med(rows, i):
    return statistics.median(float(r[i]) for r in rows)

def verdict(ok):
    return "ok" if ok else "MISSED"

bf_rps, ng_rps = med(bf, 0), med(ng, 0)
ratio = bf_rps / ng_rps if ng_rps else 0.0
samples = [int(l) for l in open(os.path.join(work, "rss.samples")) if l.strip()]
peak_mb = max(samples) / 1024 if samples else float("nan")
hwm_mb = int(rss_hwm) / 1024
body = open(os.path.join(work, "comments.json"), "rb").read()
doc = json.loads(body)
heads = {n: len(open(os.path.join(work, n + ".headers"), "rb").read()) for n in ("backfeed", "nginx")}
cold_runs = json.load(open(os.path.join(work, "cold.json")))
before, after = json.loads(counts_before), json.loads(counts_after)

def spread(items, key="ms"):
    values = [i[key] for i in items]
    return statistics.median(values), max(values), min(values)

def calls_of(items):
    """The upstream calls each timed request made, when they are all alike."""
    seen = {json.dumps({k: v for k, v in i["calls"].items() if v}, sort_keys=True) for i in items}
    return " / ".join(sorted(seen))

def depth(items, d=1):
    return max((depth(c["replies"], d + 1) for c in items), default=d - 1)

new_med, new_max, new_min = spread(cold_runs["new"])
ann_med, ann_max, ann_min = spread(cold_runs["announced"])
new_up = statistics.median(i["upstream_busy_ms"] for i in cold_runs["new"])
ann_up = statistics.median(i["upstream_busy_ms"] for i in cold_runs["announced"])
rr_med, rr_max, rr_min = spread(cold_runs["rerender"])
mb = 1024 * 1024

print()
print(f"backfeed /api/comments {bf_rps:8.0f} req/s  (median of {rounds}; p50 {med(bf,3):.2f} ms, "
      f"p99 {med(bf,4):.2f} ms; cached thread, {replies} replies)")
print(f"nginx static JSON      {ng_rps:8.0f} req/s  (median of {rounds}; p50 {med(ng,3):.2f} ms, p99 {med(ng,4):.2f} ms)")
print(f"ratio                  {ratio:8.2f}        (target >= {t_ratio}: {verdict(ratio >= float(t_ratio))})")
print(f"body                   {len(body):8d} B      (identical bytes; {bf_rps * len(body) / mb:.0f} MB/s "
      f"from backfeed, {ng_rps * len(body) / mb:.0f} MB/s from nginx)")
print(f"cold thread, new post  {new_med:8.1f} ms     (median of {len(cold_runs['new'])}, max {new_max:.1f}; "
      f"announce + status + context of {replies} replies; fake upstream busy {new_up:.1f} ms of it)")
print(f"cold thread, announced {ann_med:8.1f} ms     (median of {len(cold_runs['announced'])}, max {ann_max:.1f}; "
      f"status + context only; fake upstream busy {ann_up:.1f} ms of it)")
print(f"re-render after change {rr_med:8.1f} ms     (median of {len(cold_runs['rerender'])}, max {rr_max:.1f}; "
      f"thread from the store's cache, no upstream call)")
print(f"peak RSS under load    {peak_mb:8.1f} MB     (VmRSS every 100 ms; lifetime peak VmHWM {hwm_mb:.1f} MB)")
if changes_result != "-":
    c = changes_result.split()
    made, secs, hwm_after = (int(c[6]), float(c[7]), int(c[8])) if len(c) >= 9 else (0, 0.0, 0)
    print(f"with changes           {float(c[0]):8.0f} req/s  (one run of {duration}, {made} changes in {secs:.1f} s "
          f"(asked {changes_rate}/s); p50 {float(c[3]):.2f} ms, p99 {float(c[4]):.2f} ms; non-2xx {c[1]}, "
          f"socket errors {c[2]}; VmHWM after it {hwm_after / 1024:.1f} MB)")
print()
print(f"per round, backfeed    " + ", ".join(f"{float(r[0]):.0f}" for r in bf) + " req/s")
print(f"per round, nginx       " + ", ".join(f"{float(r[0]):.0f}" for r in ng) + " req/s")
print(f"non-2xx / socket errs  backfeed {sum(int(r[1]) for r in bf)}/{sum(int(r[2]) for r in bf)}, "
      f"nginx {sum(int(r[1]) for r in ng)}/{sum(int(r[2]) for r in ng)}")
print(f"cold, new (ms)         {[i['ms'] for i in cold_runs['new']]}")
print(f"cold, announced (ms)   {[i['ms'] for i in cold_runs['announced']]}")
print(f"re-render (ms)         {[i['ms'] for i in cold_runs['rerender']]}")
print(f"benchmark post         first request {cold_runs['first']['ms']:.1f} ms (cold, new post), "
      f"second {cold_runs['second_ms']:.2f} ms (cached, one request on a new connection)")
print(f"upstream calls / cold  new post: {calls_of(cold_runs['new'])}; announced: "
      f"{calls_of(cold_runs['announced'])}; re-render: {calls_of(cold_runs['rerender']) or 'none'}")
during = {k: after[k] - before[k] for k in after if k != "busy_ms" and after[k] != before[k]}
print(f"upstream during wrk    {during or 'no calls'} (TTL 1h: expect no calls)")
print(f"upstream in all        {after['statuses']} statuses posted, {after['status']} status and "
      f"{after['context']} context reads, {after['posts']} page fetches, {after['other']} other "
      f"(expect {2 * int(cold) + 1} of each but other 0)")
print(f"thread shape           {len(doc['comments'])} top-level comments, {doc['comment_count']} in all, "
      f"nesting depth {depth(doc['comments'])}; reply content_html {statistics.median(len(c['content_html']) for c in doc['comments']):.0f} "
      f"characters (median, top level)")
print(f"response size          body {len(body)} B; headers backfeed {heads['backfeed']} B, nginx {heads['nginx']} B")
requests = {}
metrics_path = os.path.join(work, "metrics.txt")
if os.path.exists(metrics_path):
    for line in open(metrics_path):
        m = re.match(r'http_requests_total\{(.*)\} (\d+)', line)
        if m:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            key = f"{labels.get('method')} {labels.get('route')} {labels.get('status')}"
            requests[key] = requests.get(key, 0) + int(m.group(2))
        m = re.match(r'backfeed_thread_fetches_total\{(.*)\} (\d+)', line)
        if m:
            requests["thread fetches " + m.group(1)] = int(m.group(2))
if requests:
    print(f"backfeed /metrics      " + "; ".join(f"{k}: {v}" for k, v in sorted(requests.items())))
bf_requests = int(bf_warmup.split()[5]) + sum(int(r[5]) for r in bf)
growth = (int(rss_end) - int(rss_before)) * 1024 / bf_requests if bf_requests else 0.0
print(f"RSS                    idle {int(rss_idle)/1024:.1f} MB; {int(rss_before)/1024:.1f} MB with the "
      f"{2 * int(cold) + 1} threads cached; {int(rss_end)/1024:.1f} MB after load; "
      f"lifetime peak (VmHWM) {hwm_mb:.1f} MB; {bf_threads} threads")
print(f"RSS growth             {growth:.1f} bytes per request over {bf_requests} requests "
      f"(from before the warm-up to after the rounds; steady memory use keeps this near 0)")
print(f"setup                  wrk -t{threads} -c{conns} -d{duration} per round, both servers on all "
      f"{cores} cores (tokio multi-thread; nginx worker_processes auto), wrk on the same cores")
from report import cpu_model, print_backfeed_stderr
cpu = cpu_model()
print(f"machine                {cores} cores ({cpu}), Linux {os.uname().release}; load average before / after "
      f"the runs {load} (the runs themselves add about {cores})")
print(f"versions               {bf_version}; {ng_version}; {wrk_version}")
print_backfeed_stderr(os.path.join(work, "backfeed.err"), 23)
EOF

# Everything is stopped by the EXIT trap; check nothing is left listening.
stop_all_and_check_ports "$UP_PORT" "$BF_PORT" "$NG_PORT"
