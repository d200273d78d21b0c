#!/usr/bin/env bash
# Load benchmark of receiving webmentions: accepted webmentions per second on
# `POST /webmention`, verifications per second against a local source server
# (nginx), and `GET /api/mentions.jf2` for a page with 200 mentions against
# nginx serving the same JSON bytes; then a site-wide listing (token and
# `domain`, as static-site plugins fetch it) of 10,000 mentions in pages of
# 1,000, every page in turn, against nginx serving the same pages' bytes.
# See bench/README.md.
#
# Environment (all optional):
#   DURATION=10s     measured wrk run per round (intake, and each read server)
#   WARMUP=3s        wrk warm-up before the first round
#   CONNECTIONS=64   wrk connections      THREADS=2  wrk threads
#   ROUNDS=3         intake rounds; alternating backfeed/nginx read rounds;
#                    medians are reported
#   DRAIN_CAP=120    seconds to wait for the verification queue to empty
#   BACKFEED_BIN=…   use this binary instead of building one
#   CARGO_TARGET_DIR honoured by the release build
set -euo pipefail

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
DRAIN_CAP=${DRAIN_CAP:-120}
READ_MENTIONS=200
SITE_MENTIONS=${SITE_MENTIONS:-10000}
SITE_PER_PAGE=1000
READ_TOKEN=bench-read-token-0123456789abcdef

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
UTIL=$BENCH_DIR/webmention_util.py

# Targets.
TARGET_INTAKE=5000

bench_setup sqlite3

BF_PORT=$(free_port)
BLOG_PORT=$(free_port)
SRC_PORT=$(free_port)
NG_PORT=$(free_port)
for p in "$BLOG_PORT" "$SRC_PORT" "$NG_PORT"; do
    [[ $p != "$BF_PORT" ]] || die "the OS handed out one port twice; run again"
done
BLOG=http://127.0.0.1:$BLOG_PORT
SRC=http://127.0.0.1:$SRC_PORT
BF=http://127.0.0.1:$BF_PORT
INTAKE_TARGET=$BLOG/posts/p/
READ_TARGET=$BLOG/posts/read/

# --- nginx: the source pages, the blog, and the read API baseline ------------
# Every /s/<n> is the same reply to /posts/p/, every /r/<n> the same reply to
# /posts/read/: an h-entry with an author h-card and some content, roughly
# what a reply from another IndieWeb site looks like.
mkdir -p "$WORK/nginx/src" "$WORK/nginx/blog" "$WORK/nginx/api"
reply_page() {
    local target=$1
    cat <<EOF
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Re: a post on the bench blog</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<header><nav><a href="/">Home</a> <a href="/notes/">Notes</a> <a href="/about/">About</a></nav></header>
<main>
<article class="h-entry">
  <p>In reply to <a class="u-in-reply-to" href="$target">a post on the bench blog</a></p>
  <div class="p-author h-card">
    <img class="u-photo" src="/me.jpg" alt="">
    <a class="p-name u-url" href="/">Alice Sender</a>
  </div>
  <div class="e-content">
    <p>Thanks for writing this up. I tried the same thing on my own site and it
    worked on the <em>first</em> attempt, which never happens.</p>
    <p>One question: did you measure it with an empty database, or with a few
    years of posts in it? <a href="https://example.org/notes/1">My notes</a>.</p>
  </div>
  <time class="dt-published" datetime="2026-01-15T10:30:00+01:00">15 January 2026</time>
</article>
</main>
<footer><p>Alice Sender, 2026. <a href="/feed.xml">Feed</a></p></footer>
</body>
</html>
EOF
}
reply_page "$INTAKE_TARGET" >"$WORK/nginx/src/reply.html"
reply_page "$READ_TARGET" >"$WORK/nginx/src/reply-read.html"
# The site-wide listing's mentions are of another host of the blog
# (`localhost`), so `domain=localhost` lists exactly them.
SITE_HOST=localhost
SITE_TARGET=http://$SITE_HOST:$BLOG_PORT/posts/site/
reply_page "$SITE_TARGET" >"$WORK/nginx/src/reply-site.html"
printf '<!doctype html><html><head><title>Post</title></head><body><h1>Post</h1></body></html>\n' \
    >"$WORK/nginx/blog/post.html"
printf '{}\n' >"$WORK/nginx/api/mentions.jf2"
write_nginx_conf "    types { text/html html; }" <<EOF
    server {
        listen 127.0.0.1:$SRC_PORT;
        root $WORK/nginx/src;
        charset utf-8;
        location /s/ { try_files /reply.html =404; }
        location /r/ { try_files /reply-read.html =404; }
        location /w/ { try_files /reply-site.html =404; }
    }
    server {
        listen 127.0.0.1:$BLOG_PORT;
        root $WORK/nginx/blog;
        location /posts/ { try_files /post.html =404; }
    }
    server {
        listen 127.0.0.1:$NG_PORT;
        root $WORK/nginx/api;
        location = /api/mentions.jf2 {
            default_type application/json;
            add_header Access-Control-Allow-Origin * always;
            try_files /mentions.jf2 =404;
        }
        location = /api/site.jf2 {
            default_type application/json;
            add_header Access-Control-Allow-Origin * always;
            try_files /site-\$arg_page.jf2 =404;
        }
    }
EOF
start_nginx "$WORK/nginx/src" "$WORK/nginx/blog" "$WORK/nginx/api"
wait_ok "$SRC/s/check"
wait_ok "$BLOG/posts/p/"
[[ $(curl -s --max-time 5 -o /dev/null -w '%{content_type}' "$SRC/s/check") == text/html* ]] \
    || die "nginx does not serve the source page as text/html"

# --- backfeed ------------------------------------------------------------------
export BACKFEED_SITES=$BLOG/,http://$SITE_HOST:$BLOG_PORT/
export BACKFEED_RATE_LIMIT=off
export BACKFEED_READ_TOKENS=$READ_TOKEN
backfeed_env wm.db \
    BACKFEED_MODERATION BACKFEED_ALLOWED_DOMAINS BACKFEED_BLOCKED_DOMAINS BACKFEED_WEBHOOK_URL \
    BACKFEED_VERIFY_RETRY_DELAYS BACKFEED_ADMIN_TOKEN BACKFEED_TRUST_X_FORWARDED_FOR \
    BACKFEED_WEBHOOK_SECRET BACKFEED_FETCH_CONNECT_TIMEOUT BACKFEED_FETCH_TIMEOUT \
    BACKFEED_FETCH_MAX_BODY_BYTES BACKFEED_FETCH_MAX_REDIRECTS MASTODON_HOST MASTODON_USER MASTODON_OAUTH_TOKEN BLOG_POST_PATTERN

start_backfeed "$BF_PORT"
RSS_IDLE_KB=$(rss_kb VmRSS)
metrics() { python3 "$UTIL" metrics "$BF/metrics"; }

# One webmention by hand: 201 with Location, then verified, with the reply's data.
code=$(curl -s --max-time 10 -D "$WORK/first.headers" -o "$WORK/first.json" -w '%{http_code}' \
    -H 'Content-Type: application/x-www-form-urlencoded' \
    --data "source=$(urlencode "$SRC/s/first")&target=$(urlencode "$INTAKE_TARGET")" "$BF/webmention")
[[ $code == 201 ]] || die "the first webmention answered $code: $(cat "$WORK/first.json")"
location=$(sed -n 's/^[Ll]ocation: *//p' "$WORK/first.headers" | tr -d '\r')
[[ -n "$location" ]] || die "the first webmention's 201 has no Location"
state=""
for _ in $(seq 100); do
    state=$(curl -s --max-time 5 "$BF$location")
    [[ $state == *'"status":"pending"'* ]] || break
    sleep 0.1
done
[[ $state == *'"status":"verified"'* ]] || die "the first webmention was not verified within 10 s: $state"

# --- 1. intake -----------------------------------------------------------------
# intake.lua makes every source unique, so every request is a new mention.
SOURCE_BASE_ENC=$(urlencode "$SRC/s/")
TARGET_ENC=$(urlencode "$INTAKE_TARGET")

intake() {
    run_wrk "$1" -s "$BENCH_DIR/intake.lua" "$BF/webmention" -- "$2" "$SOURCE_BASE_ENC" "$TARGET_ENC"
}

LOAD_BEFORE=$(load_average)
say "system load before the runs: $LOAD_BEFORE"
start_rss_sampler rss-intake.samples
say "intake: warming up ($WARMUP)…"
intake "$WARMUP" w >/dev/null
metrics >"$WORK/metrics-intake-start.json"
INTAKE_T0=$(date +%s.%N)
INTAKE_RESULTS=()
for ((round = 1; round <= ROUNDS; round++)); do
    say "intake round $round/$ROUNDS ($DURATION)…"
    INTAKE_RESULTS+=("$(intake "$DURATION" "r$round")")
    say "  ${INTAKE_RESULTS[-1]}"
done
INTAKE_T1=$(date +%s.%N)
metrics >"$WORK/metrics-intake-end.json"
check_backfeed_alive
RSS_AFTER_INTAKE_KB=$(rss_kb VmRSS)
DB_BYTES_INTAKE=$(du -cb "$WORK"/wm.db* | tail -1 | cut -f1)

# --- 2. verification throughput --------------------------------------------------
say "verification: draining the queue (at most ${DRAIN_CAP}s)…"
python3 "$UTIL" drain --db "$WORK/wm.db" --metrics "$BF/metrics" --cap "$DRAIN_CAP" \
    >"$WORK/drain.json"
RSS_AFTER_DRAIN_KB=$(rss_kb VmRSS)
stop_rss_sampler
python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["emptied"] else 1)' \
    "$WORK/drain.json" || die "the verification queue did not empty within ${DRAIN_CAP}s (raise DRAIN_CAP, or lower DURATION/CONNECTIONS): $(head -c 400 "$WORK/drain.json")"

# --- 3. read API -------------------------------------------------------------------
say "read API: $READ_MENTIONS mentions of $READ_TARGET…"
python3 "$UTIL" send --url "$BF/webmention" --source-base "$SRC/r/" --target "$READ_TARGET" \
    --count "$READ_MENTIONS" --prefix m >"$WORK/read-send.json"
python3 "$UTIL" drain --db "$WORK/wm.db" --metrics "$BF/metrics" --cap 60 \
    >"$WORK/read-drain.json" 2>/dev/null
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["emptied"] and d["end_waiting_retry"] == 0 else 1)' \
    "$WORK/read-drain.json" || die "the $READ_MENTIONS read-API mentions were not all verified: $(head -c 400 "$WORK/read-drain.json")"
READ_QUERY="target=$(urlencode "$READ_TARGET")&per-page=$READ_MENTIONS"
BF_READ="$BF/api/mentions.jf2?$READ_QUERY"
NG_READ="http://127.0.0.1:$NG_PORT/api/mentions.jf2?$READ_QUERY"
code=$(curl -s --max-time 10 -o "$WORK/read.json" -w '%{http_code}' "$BF_READ")
[[ $code == 200 ]] || die "GET /api/mentions.jf2 answered $code: $(head -c 300 "$WORK/read.json")"
curl -s --max-time 10 -D "$WORK/backfeed-read.headers" -o "$WORK/read2.json" "$BF_READ"
cmp -s "$WORK/read.json" "$WORK/read2.json" || die "two reads of the same feed differ"
python3 "$UTIL" feed "$WORK/read.json" --target "$READ_TARGET" --count "$READ_MENTIONS" \
    >"$WORK/read-feed.json"
cp "$WORK/read.json" "$WORK/nginx/api/mentions.jf2"
curl -s --max-time 10 -D "$WORK/nginx-read.headers" -o "$WORK/nginx-read.json" "$NG_READ"
cmp -s "$WORK/read.json" "$WORK/nginx-read.json" || die "nginx does not serve the same bytes"

warm_up_both "read API: " "$BF_READ" "$NG_READ"
start_rss_sampler rss-read.samples
alternate_rounds "read " "$BF_READ" "$NG_READ"
stop_rss_sampler
READ_BF_RESULTS=("${BF_RESULTS[@]}")
READ_NG_RESULTS=("${NG_RESULTS[@]}")

# --- 4. site-wide listing ------------------------------------------------------------
SITE_PAGES=$(((SITE_MENTIONS + SITE_PER_PAGE - 1) / SITE_PER_PAGE))
say "site-wide listing: $SITE_MENTIONS mentions of $SITE_HOST, $SITE_PAGES pages of $SITE_PER_PAGE…"
python3 "$UTIL" send --url "$BF/webmention" --source-base "$SRC/w/" --target "$SITE_TARGET" \
    --count "$SITE_MENTIONS" --prefix s >"$WORK/site-send.json"
python3 "$UTIL" drain --db "$WORK/wm.db" --metrics "$BF/metrics" --cap 120 \
    >"$WORK/site-drain.json" 2>/dev/null
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["emptied"] and d["end_waiting_retry"] == 0 else 1)' \
    "$WORK/site-drain.json" || die "the $SITE_MENTIONS site mentions were not all verified: $(head -c 400 "$WORK/site-drain.json")"
SITE_QUERY="domain=$SITE_HOST&token=$READ_TOKEN&per-page=$SITE_PER_PAGE"
SITE_BYTES=0
for ((page = 0; page < SITE_PAGES; page++)); do
    code=$(curl -s --max-time 30 -o "$WORK/nginx/api/site-$page.jf2" -w '%{http_code}' \
        "$BF/api/mentions.jf2?$SITE_QUERY&page=$page")
    [[ $code == 200 ]] || die "the site listing's page $page answered $code: $(head -c 300 "$WORK/nginx/api/site-$page.jf2")"
    SITE_BYTES=$((SITE_BYTES + $(stat -c %s "$WORK/nginx/api/site-$page.jf2")))
done
python3 "$UTIL" pages "$WORK/nginx/api" --pages "$SITE_PAGES" --count "$SITE_MENTIONS" \
    >"$WORK/site-pages.json"
curl -s --max-time 10 -o "$WORK/site-ng-0.jf2" "http://127.0.0.1:$NG_PORT/api/site.jf2?$SITE_QUERY&page=0"
cmp -s "$WORK/site-ng-0.jf2" "$WORK/nginx/api/site-0.jf2" || die "nginx does not serve the site pages' bytes"
BF_SITE="$BF/api/mentions.jf2"
NG_SITE="http://127.0.0.1:$NG_PORT/api/site.jf2"
pages_wrk() { run_wrk "$1" -s "$BENCH_DIR/pages.lua" "$2" -- "$SITE_QUERY" "$SITE_PAGES"; }
say "site listing: warming up both servers ($WARMUP each)…"
pages_wrk "$WARMUP" "$BF_SITE" >/dev/null
pages_wrk "$WARMUP" "$NG_SITE" >/dev/null
SITE_BF_RESULTS=()
SITE_NG_RESULTS=()
start_rss_sampler rss-site.samples
for ((round = 1; round <= ROUNDS; round++)); do
    say "site listing round $round/$ROUNDS: backfeed ($DURATION)…"
    SITE_BF_RESULTS+=("$(pages_wrk "$DURATION" "$BF_SITE")")
    say "  ${SITE_BF_RESULTS[-1]}"
    say "site listing round $round/$ROUNDS: nginx ($DURATION)…"
    SITE_NG_RESULTS+=("$(pages_wrk "$DURATION" "$NG_SITE")")
    say "  ${SITE_NG_RESULTS[-1]}"
done
stop_rss_sampler

LOAD_AFTER=$(load_average)
metrics >"$WORK/metrics-end.json"
RSS_HWM_KB=$(rss_kb VmHWM)
THREADS_BF=$(rss_kb Threads)
check_backfeed_alive
python3 - "$WORK/wm.db" >"$WORK/db.json" <<'EOF'
import json, sqlite3, sys
conn = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
rows = conn.execute("SELECT verification, COUNT(*) FROM mentions GROUP BY verification").fetchall()
jobs = conn.execute("SELECT COUNT(*) FROM jobs WHERE kind = 'verify-mention' AND state <> 'dead'").fetchone()[0]
reasons = conn.execute("SELECT reason, COUNT(*) FROM mentions WHERE reason IS NOT NULL"
                       " GROUP BY reason ORDER BY 2 DESC LIMIT 3").fetchall()
print(json.dumps({"states": dict(rows), "jobs": jobs, "reasons": reasons}))
EOF

# --- summary -------------------------------------------------------------------
python3 - "$WORK" "$ROUNDS" "$TARGET_INTAKE" "$READ_MENTIONS" "$(nproc)" "$LOAD_BEFORE" "$LOAD_AFTER" \
    "$THREADS" "$CONNECTIONS" "$DURATION" "$INTAKE_T0" "$INTAKE_T1" \
    "$RSS_IDLE_KB" "$RSS_AFTER_INTAKE_KB" "$RSS_AFTER_DRAIN_KB" "$RSS_HWM_KB" "$THREADS_BF" \
    "$DB_BYTES_INTAKE" "$("$BIN" --version)" "$("$NGINX" -v 2>&1)" "$(wrk -v 2>&1 | head -1)" \
    "$SITE_MENTIONS" "$SITE_PAGES" "$SITE_BYTES" \
    "${INTAKE_RESULTS[@]}" "${READ_BF_RESULTS[@]}" "${READ_NG_RESULTS[@]}" \
    "${SITE_BF_RESULTS[@]}" "${SITE_NG_RESULTS[@]}" <<'EOF'
import json, os, re, statistics, sys

(work, rounds, t_intake, read_n, cores, load_before, load_after, threads, conns, duration,
 t0, t1, rss_idle, rss_intake, rss_drain, rss_hwm, bf_threads, db_bytes,
 bf_version, ng_version, wrk_version, site_n, site_pages, site_bytes) = sys.argv[1:25]
rounds = int(rounds)
runs = [r.split() for r in sys.argv[25:]]
intake, bf, ng = runs[:rounds], runs[rounds:2 * rounds], runs[2 * rounds:3 * rounds]
site_bf, site_ng = runs[3 * rounds:4 * rounds], runs[4 * rounds:]

def load(name):
    return json.load(open(os.path.join(work, name)))

def med(rows, i):
    return statistics.median(float(r[i]) for r in rows)

def verdict(ok):
    return "ok" if ok else "MISSED"

def delta(a, b):
    return {k: b.get(k, 0) - a.get(k, 0) for k in set(a) | set(b) if b.get(k, 0) - a.get(k, 0)}

m0, m1, mend = load("metrics-intake-start.json"), load("metrics-intake-end.json"), load("metrics-end.json")
drain, feed, db = load("drain.json"), load("read-feed.json"), load("db.json")
posts = delta(m0["webmention_posts"], m1["webmention_posts"])
accepted = posts.get("201", 0)
wrk_requests = sum(int(r[5]) for r in intake)
intake_non2xx = sum(int(r[1]) for r in intake)
intake_errs = sum(int(r[2]) for r in intake)
intake_rps = med(intake, 0)
intake_seconds = float(t1) - float(t0)
verified_during = delta(m0["verifications"], m1["verifications"])
read_rps, ng_rps = med(bf, 0), med(ng, 0)
ratio = read_rps / ng_rps if ng_rps else 0.0
body_len = os.path.getsize(os.path.join(work, "read.json"))
head_len = lambda n: os.path.getsize(os.path.join(work, n))
def peak_mb(phase):
    samples = [int(l) for l in open(os.path.join(work, f"rss-{phase}.samples")) if l.strip()]
    return max(samples) / 1024 if samples else float("nan")

print()
print(f"intake POST /webmention {intake_rps:8.0f} accepted/s (median of {rounds}; p50 {med(intake,3):.2f} ms, "
      f"p99 {med(intake,4):.2f} ms; target >= {t_intake}: {verdict(intake_rps >= float(t_intake))})")
print(f"  answers               {accepted} x 201 of {sum(posts.values())} POSTs counted by /metrics "
      f"({wrk_requests} completed by wrk); wrk non-2xx {intake_non2xx}, socket errors {intake_errs}"
      + ("" if set(posts) <= {"201"} else f"; OTHER STATUSES {posts}"))
print(f"  verified meanwhile    {verified_during.get('verified', 0) / intake_seconds:8.0f} /s     "
      f"(background workers during the {intake_seconds:.0f} s of intake rounds; outcomes {verified_during})")
print(f"verification (drain)    {drain['verified_per_s']:8.0f} verified/s (queue of {drain['start_due']} emptied in "
      f"{drain['seconds']:.1f} s, nothing else running; outcomes {drain['outcomes']})")
print(f"GET /api/mentions.jf2   {read_rps:8.0f} req/s    (median of {rounds}; p50 {med(bf,3):.2f} ms, "
      f"p99 {med(bf,4):.2f} ms; {feed['children']} mentions, {body_len} B)")
print(f"nginx static JSON       {ng_rps:8.0f} req/s    (median of {rounds}; p50 {med(ng,3):.2f} ms, p99 {med(ng,4):.2f} ms)")
print(f"ratio                   {ratio:8.3f}          (no target set)")
site_rps, site_ng_rps = med(site_bf, 0), med(site_ng, 0)
site_pages_info = load("site-pages.json")
print(f"site listing (token, domain) {site_rps:6.0f} req/s  (median of {rounds}; p50 {med(site_bf,3):.2f} ms, "
      f"p99 {med(site_bf,4):.2f} ms; {site_n} mentions in {site_pages} pages of "
      f"{site_pages_info['per_page']}, every page in turn)")
print(f"  answers               {int(site_bytes) / 1048576:.2f} MB for the whole site, "
      f"{int(site_bytes) / int(site_pages) / 1024:.0f} KB a page; each mention once: "
      f"{site_pages_info['unique']} unique of {site_pages_info['children']}")
print(f"  nginx, same bytes     {site_ng_rps:8.0f} req/s    (median of {rounds}; p50 {med(site_ng,3):.2f} ms, "
      f"p99 {med(site_ng,4):.2f} ms); ratio {site_rps / site_ng_rps if site_ng_rps else 0:.3f}; "
      f"backfeed peak RSS {peak_mb('site'):.1f} MB")
print()
print(f"per round, intake       " + ", ".join(f"{float(r[0]):.0f}" for r in intake) + " req/s")
print(f"per round, read API     " + ", ".join(f"{float(r[0]):.0f}" for r in bf) + " req/s")
print(f"per round, nginx        " + ", ".join(f"{float(r[0]):.0f}" for r in ng) + " req/s")
print(f"per round, site listing " + ", ".join(f"{float(r[0]):.0f}" for r in site_bf) + " req/s (nginx "
      + ", ".join(f"{float(r[0]):.0f}" for r in site_ng) + ")")
print(f"read non-2xx / errs     backfeed {sum(int(r[1]) for r in bf)}/{sum(int(r[2]) for r in bf)}, "
      f"nginx {sum(int(r[1]) for r in ng)}/{sum(int(r[2]) for r in ng)}")
non2xx = {k: v for k, v in mend["non_2xx"].items()}
print(f"non-2xx over the run    {non2xx if non2xx else 'none'} (backfeed /metrics, every route)")
rows, all_201 = sum(db["states"].values()), mend["webmention_posts"].get("201", 0)
print(f"mentions in the store   {db['states']}; {db['jobs']} verification job(s) left"
      + (f"; reasons {db['reasons']}" if db["reasons"] else ""))
if rows >= all_201:
    note = "every answered request a new mention" + (
        f"; {rows - all_201} stored but never answered: in flight when a wrk run stopped"
        if rows > all_201 else "")
else:
    note = "MISMATCH: fewer rows than 201s, some requests were not new mentions"
print(f"                        {rows} rows for {all_201} answers 201 over the whole run ({note})")
print(f"database after intake   {int(db_bytes) / 1048576:.1f} MB (wm.db with -wal and -shm)")
print(f"RSS                     idle {int(rss_idle)/1024:.1f} MB; peak {peak_mb('intake'):.1f} MB during intake "
      f"and drain (after intake {int(rss_intake)/1024:.1f} MB, after the drain {int(rss_drain)/1024:.1f} MB); "
      f"peak {peak_mb('read'):.1f} MB during the read rounds; VmHWM {int(rss_hwm)/1024:.1f} MB; "
      f"{bf_threads} threads at the end")
print(f"response size           body {body_len} B (identical bytes); headers backfeed "
      f"{head_len('backfeed-read.headers')} B, nginx {head_len('nginx-read.headers')} B")
print(f"setup                   wrk -t{threads} -c{conns} -d{duration} per round; backfeed, nginx (source pages "
      f"and baseline) and wrk share all {cores} cores; SQLite in WAL mode on {os.path.dirname(work)}")
from report import cpu_model, print_backfeed_stderr
cpu = cpu_model()
print(f"machine                 {cores} cores ({cpu}), Linux {os.uname().release}; load average before / after "
      f"the runs {load_before} / {load_after} (the runs themselves add about {cores})")
print(f"versions                {bf_version}; {ng_version}; {wrk_version}")
print_backfeed_stderr(os.path.join(work, "backfeed.err"), 24)
EOF

# Everything is stopped by the EXIT trap; check nothing is left listening.
stop_all_and_check_ports "$BF_PORT" "$BLOG_PORT" "$SRC_PORT" "$NG_PORT"
