#!/usr/bin/env bash
# Benchmark of `backfeed publish`: the first run over a feed of POSTS posts
# with LINKS links each (every link a target page that advertises a local
# endpoint), in sends per second, then the re-run of the unchanged feed (its
# time and the requests it made; the target is one request, under 1 s).
# See bench/README.md.
#
# Everything is on loopback and served by one nginx: the blog (the feed and
# the post pages, with ETags) on 127.0.0.1, and the target pages and their
# endpoint (`POST /wm` answers 202) on 127.0.0.2 … 127.0.0.(LINKS+1), so each
# post links LINKS different hosts, as real posts do, and backfeed's limit of
# two requests in flight per host applies per target host. Mastodon is not
# configured: announcing is off, the figures are webmention sending.
#
# Environment (all optional):
#   POSTS=1000 LINKS=10   the feed's size (LINKS at most 250)
#   BACKFEED_BIN=…        use this binary instead of building one
#   CARGO_TARGET_DIR      honoured by the release build
set -euo pipefail

POSTS=${POSTS:-1000}
LINKS=${LINKS:-10}
((LINKS >= 1 && LINKS <= 250)) || { echo "LINKS must be 1..250" >&2; exit 2; }

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_setup

BLOG_PORT=$(free_port)
TGT_PORT=$(free_port)
[[ $BLOG_PORT != "$TGT_PORT" ]] || die "the OS handed out one port twice; run again"
BLOG=http://127.0.0.1:$BLOG_PORT

# --- the blog and the targets -------------------------------------------------
mkdir -p "$WORK/nginx/blog" "$WORK/nginx/targets"
say "writing a feed of $POSTS posts × $LINKS links…"
python3 - "$WORK/nginx/blog" "$BLOG" "$TGT_PORT" "$POSTS" "$LINKS" <<'EOF'
import os, sys
root, blog, port, posts, links = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
items = []
for i in range(posts):
    anchors = "".join(
        f'<li><a href="http://127.0.0.{2 + j}:{port}/t/{i}/{j}">link {j}</a></li>' for j in range(links)
    )
    os.makedirs(f"{root}/posts/p{i}", exist_ok=True)
    with open(f"{root}/posts/p{i}/index.html", "w") as page:
        page.write(
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Post {i}</title></head>'
            f'<body><nav><a href="/">Home</a></nav><article class="h-entry"><h1 class="p-name">Post {i}</h1>'
            f'<div class="e-content"><p>Post number {i} links to:</p><ul>{anchors}</ul></div></article></body></html>\n'
        )
    items.append(f"<item><title>Post {i}</title><link>{blog}/posts/p{i}/</link><guid>{blog}/posts/p{i}/</guid></item>")
with open(f"{root}/feed.xml", "w") as feed:
    feed.write('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Bench</title>'
               f'<link>{blog}/</link><description>bench</description>' + "".join(items) + "</channel></rss>\n")
EOF
printf '<!doctype html><html><head><title>A target</title></head><body><p>A page someone linked.</p></body></html>\n' \
    >"$WORK/nginx/targets/target.html"
listens=""
for ((j = 0; j < LINKS; j++)); do
    listens+="        listen 127.0.0.$((j + 2)):$TGT_PORT;"$'\n'
done
write_nginx_conf "    types { text/html html; application/rss+xml xml; }" <<EOF
    server {
        listen 127.0.0.1:$BLOG_PORT;
        root $WORK/nginx/blog;
        access_log $WORK/nginx/logs/blog.log;
        index index.html;
    }
    server {
$listens
        root $WORK/nginx/targets;
        access_log $WORK/nginx/logs/targets.log;
        location /t/ {
            add_header Link '</wm>; rel="webmention"';
            try_files /target.html =404;
        }
        location = /wm { return 202; }
    }
EOF
if [[ $EUID -eq 0 ]]; then
    chmod -R a+rX "$WORK/nginx/blog"
fi
start_nginx "$WORK/nginx/targets"
wait_ok "$BLOG/feed.xml"
wait_ok "http://127.0.0.2:$TGT_PORT/t/0/0"
[[ $(curl -s -o /dev/null -w '%{http_code}' -X POST -d 'source=a&target=b' "http://127.0.0.2:$TGT_PORT/wm") == 202 ]] \
    || die "the endpoint does not answer 202"

# --- backfeed publish, twice ------------------------------------------------------
backfeed_env publish.db MASTODON_HOST MASTODON_USER MASTODON_OAUTH_TOKEN BLOG_POST_PATTERN \
    BACKFEED_SITES BACKFEED_ANNOUNCE_ON_VIEW
export BACKFEED_FEEDS=$BLOG/feed.xml

lines() { if [[ -f $1 ]]; then wc -l <"$1"; else echo 0; fi; }
# Runs `backfeed publish --json` into $WORK/$1.json; prints "seconds requests".
publish_run() {
    local name=$1 before_blog before_targets start end
    before_blog=$(lines "$WORK/nginx/logs/blog.log")
    before_targets=$(lines "$WORK/nginx/logs/targets.log")
    start=$(date +%s.%N)
    "$BIN" publish --json >"$WORK/$name.json" 2>"$WORK/$name.err" \
        || die "backfeed publish failed: $(tail -5 "$WORK/$name.err")"
    end=$(date +%s.%N)
    sleep 0.2 # nginx writes its access log after answering
    echo "$(python3 -c "print(f'{$end - $start:.3f}')") \
$(($(lines "$WORK/nginx/logs/blog.log") - before_blog)) $(($(lines "$WORK/nginx/logs/targets.log") - before_targets))"
}

say "first run: $POSTS posts, $((POSTS * LINKS)) webmentions…"
read -r FIRST_S FIRST_BLOG FIRST_TARGETS < <(publish_run first)
say "  ${FIRST_S} s"
say "re-run of the unchanged feed…"
read -r AGAIN_S AGAIN_BLOG AGAIN_TARGETS < <(publish_run again)
say "  ${AGAIN_S} s"

python3 - "$WORK" "$POSTS" "$LINKS" "$FIRST_S" "$FIRST_BLOG" "$FIRST_TARGETS" \
    "$AGAIN_S" "$AGAIN_BLOG" "$AGAIN_TARGETS" "$(load_average)" <<'EOF'
import json, sys
work, posts, links = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
first_s, first_blog, first_targets = float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
again_s, again_blog, again_targets = float(sys.argv[7]), int(sys.argv[8]), int(sys.argv[9])
first = json.load(open(f"{work}/first.json"))
again = json.load(open(f"{work}/again.json"))
sent = first["done"]["sent"]
expected = posts * links
if sent != expected:
    sys.exit(f"the first run sent {sent} webmentions, not {expected}: {first['done']}")
if again["done"]["sent"] or again["scan"]["sends_queued"]:
    sys.exit(f"the re-run sent something: {again}")
requests = again_blog + again_targets
print(f"first run               {posts} posts × {links} links: {sent} webmentions in {first_s:.1f} s "
      f"= {sent / first_s:.0f} sends/s")
print(f"  requests              {first_blog} to the blog (feed + pages), {first_targets} to the targets "
      f"(a discovery GET and a POST per webmention)")
print(f"unchanged re-run        {again_s * 1000:.0f} ms, {requests} request(s) "
      f"({again_blog} to the blog, {again_targets} to the targets)  "
      f"[target: 1 request, under 1 s: {'met' if requests == 1 and again_s < 1 else 'NOT met'}]")
print(f"setup                   SQLite store, nginx on loopback, {links} target hosts (2 requests in flight per host), "
      f"load average {sys.argv[10]}")
EOF
