#!/usr/bin/env python3
"""A fake Mastodon instance and a fake blog on one loopback port, for benchmarks.

Serves just enough for backfeed to announce a post and read its replies:

  GET  /api/v2/instance    the instance limits (500 characters, URLs count 23)
  POST /api/v1/statuses    a created status with an increasing string id
  GET  /api/v1/statuses/<id>          a status posted here, with its counts
  GET  /api/v1/statuses/<id>/context  {"ancestors":[],"descendants":[...]}: N
                           public replies (--replies, default 200; a
                           `?replies=N` query overrides it, for use by hand)
  GET  /posts/<slug>/      a blog post page with an og:title
  GET  /replies/<slug>/<n> an h-entry reply to /posts/<slug>/ on this host (a
                           webmention source that verifies)
  GET  /_counts            what it has served so far, as JSON (for checks),
                           with "busy_ms": time spent answering, per kind

The replies look like real Mastodon statuses (string ids, about a third
nested under an earlier reply, depth-first order as Mastodon answers,
200-400 characters of HTML with mentions, links and hashtags, remote
accounts, some custom emoji). They are generated with a fixed seed: every
thread has the same replies, under ids derived from the status id, so the
same status always gets the same bytes. The JSON is built once per reply
count and reused with the ids substituted (the time spent shows in busy_ms).
The status endpoints need `Authorization: Bearer …`, like the real ones with
a token, and answer 404 for an id that was not posted here.

Standard library only. Usage:

  fake_upstream.py [--port N] [--port-file PATH] [--replies N]

With --port 0 (the default) the OS picks a free port; the chosen port is
printed on stdout as "listening on 127.0.0.1:N" and, with --port-file, written
to PATH once the socket is bound (so a script can wait for the file). It only
ever binds 127.0.0.1. Counters of what it served are printed on SIGTERM/SIGINT.
"""

import argparse
import itertools
import json
import os
import random
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INSTANCE = {
    "configuration": {
        "statuses": {"max_characters": 500, "characters_reserved_per_url": 23}
    }
}

POST_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Bench</title>
<meta property="og:title" content="Bench">
<meta property="og:description" content="A post that exists so that backfeed can announce it.">
</head>
<body><article><h1>Bench</h1><p>Hello.</p></article></body>
</html>
"""

REPLY_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Re: {target}</title></head>
<body><article class="h-entry">
<p>In reply to <a class="u-in-reply-to" href="{target}">a post on the bench blog</a></p>
<div class="p-author h-card"><a class="p-name u-url" href="/">Alice Sender</a></div>
<div class="e-content"><p>Reply {n}: thanks for writing this up.</p></div>
</article></body>
</html>
"""
_REPLY_PATH = re.compile(r"^/replies/([^/]+)/([^/]+)$")

_FIRST_ID = 110_000_000_000_000_001
_ids = itertools.count(_FIRST_ID)
_lock = threading.Lock()
served = {"instance": 0, "statuses": 0, "posts": 0, "other": 0, "status": 0, "context": 0,
          "replies": 0}
busy_ns = {kind: 0 for kind in served}
DEFAULT_REPLIES = 200
# Statuses posted here: id -> when (Unix seconds).
posted = {}


def _count(kind, started=None):
    with _lock:
        served[kind] += 1
        if started is not None:
            busy_ns[kind] += time.perf_counter_ns() - started


# --- replies ---------------------------------------------------------------

_WORDS = (
    "the a this that post really great read thanks for writing it I think you "
    "are right about most of but not sure why would anyone do so much here "
    "there again finally agree disagree point argument example code server "
    "blog comments Mastodon federation small web static site generator RSS "
    "feed link article idea years ago recently tried same problem solved "
    "differently nice clear well written bookmarked shared friends team work "
    "always never sometimes maybe probably definitely interesting useful"
).split()
_DOMAINS = ["mastodon.social", "fosstodon.org", "hachyderm.io", "social.example",
            "infosec.exchange", "mas.to", "chaos.social", "toot.cafe"]
_FIRST = ["Alice", "Bob", "Carol", "Dan", "Erin", "Frank", "Grace", "Heidi", "Ivan",
          "Judy", "Mallory", "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent",
          "Victor", "Walter", "Zoë"]
_ROOT_ACCOUNT_ID = "109000000000000001"


def _emoji(domain, shortcode):
    return {
        "shortcode": shortcode,
        "url": f"https://{domain}/system/custom_emojis/images/000/001/{shortcode}/original/{shortcode}.png",
        "static_url": f"https://{domain}/system/custom_emojis/images/000/001/{shortcode}/static/{shortcode}.png",
        "visible_in_picker": True,
    }


def _accounts():
    """40 remote accounts, the same every run."""
    rng = random.Random(7)
    accounts = []
    for i in range(40):
        first = _FIRST[i % len(_FIRST)]
        username = f"{first.lower().replace('ë', 'e')}{i}"
        domain = _DOMAINS[i % len(_DOMAINS)]
        emojis = [_emoji(domain, "blobcat")] if i % 5 == 0 else []
        display = f"{first} {rng.choice(_FIRST)}" + (" :blobcat:" if emojis else "")
        accounts.append({
            "id": str(109_100_000_000_000_000 + i * 7919),
            "username": username,
            "acct": f"{username}@{domain}",
            "display_name": display,
            "locked": False,
            "bot": False,
            "discoverable": True,
            "group": False,
            "created_at": "2022-11-0%dT00:00:00.000Z" % (1 + i % 9),
            "note": f"<p>Writes about {rng.choice(_WORDS)} and {rng.choice(_WORDS)}.</p>",
            "url": f"https://{domain}/@{username}",
            "uri": f"https://{domain}/users/{username}",
            "avatar": f"https://files.{domain}/accounts/avatars/000/{i:03d}/original/avatar.png",
            "avatar_static": f"https://files.{domain}/accounts/avatars/000/{i:03d}/original/avatar.png",
            "header": f"https://files.{domain}/accounts/headers/000/{i:03d}/original/header.jpg",
            "header_static": f"https://files.{domain}/accounts/headers/000/{i:03d}/original/header.jpg",
            "followers_count": rng.randrange(10, 5000),
            "following_count": rng.randrange(10, 900),
            "statuses_count": rng.randrange(100, 20000),
            "last_status_at": "2026-11-21",
            "emojis": emojis,
            "fields": [],
        })
    return accounts


ACCOUNTS = _accounts()


def _mention_html(account):
    return (f'<span class="h-card" translate="no"><a href="{account["url"]}" '
            f'class="u-url mention">@<span>{account["username"]}</span></a></span>')


def _content(rng, parent_account, domain):
    """A reply's HTML, 200-400 characters with its markup (a little more when
    it carries a link): a mention, sentences, sometimes a link, a hashtag or
    a custom emoji."""
    emojis = []
    extra = ""
    pick = rng.random()
    if pick < 0.2:
        extra = (' <a href="https://example.org/2026/related" target="_blank" '
                 'rel="nofollow noopener noreferrer" translate="no"><span class="invisible">'
                 'https://</span><span class="">example.org/2026/related</span>'
                 '<span class="invisible"></span></a>')
    elif pick < 0.4:
        extra = (f' <a href="https://{domain}/tags/IndieWeb" class="mention hashtag" '
                 'rel="tag">#<span>IndieWeb</span></a>')
    elif pick < 0.5:
        extra = " :blobcat:"
        emojis.append(_emoji(domain, "blobcat"))
    head = _mention_html(parent_account) + " "
    two = rng.random() < 0.4
    markup = len(head) + len(extra) + (len("<p></p><p></p>") if two else len("<p><br /></p>"))
    budget = max(60, rng.randrange(200, 400) - markup)
    words = []
    while sum(len(w) + 1 for w in words) < budget:
        words.append(rng.choice(_WORDS))
    cut = max(1, len(words) // 2)
    first = " ".join(words[:cut]).capitalize() + "."
    second = " ".join(words[cut:]).capitalize() + "." + extra
    if two:
        return f"<p>{head}{first}</p><p>{second}</p>", emojis
    return f"<p>{head}{first}<br />{second}</p>", emojis


def _iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".000Z"


def _root_account(host):
    return {
        "id": _ROOT_ACCOUNT_ID, "username": "bench", "acct": "bench", "display_name": "Bench",
        "locked": False, "bot": False, "discoverable": True, "group": False,
        "created_at": "2022-11-01T00:00:00.000Z", "note": "<p>A blog.</p>",
        "url": f"http://{host}/@bench", "uri": f"http://{host}/users/bench",
        "avatar": f"http://{host}/avatars/bench.png", "avatar_static": f"http://{host}/avatars/bench.png",
        "header": f"http://{host}/headers/bench.png", "header_static": f"http://{host}/headers/bench.png",
        "followers_count": 321, "following_count": 123, "statuses_count": 456,
        "last_status_at": "2026-11-22", "emojis": [], "fields": [],
    }


# Every thread starts here (2026-11-18): the replies' timestamps are fixed.
_EPOCH = 1_795_000_000


def root_status(host, toot_id, replies):
    created = _EPOCH
    return {
        "id": toot_id, "created_at": _iso(created), "in_reply_to_id": None,
        "in_reply_to_account_id": None, "sensitive": False, "spoiler_text": "",
        "visibility": "public", "language": "en",
        "uri": f"http://{host}/users/bench/statuses/{toot_id}",
        "url": f"http://{host}/@bench/{toot_id}",
        "replies_count": replies, "reblogs_count": 12, "favourites_count": 34,
        "edited_at": None, "content": "<p>Bench</p>", "reblog": None,
        "account": _root_account(host), "media_attachments": [], "mentions": [],
        "tags": [], "emojis": [], "card": None, "poll": None,
    }


def descendants(host, toot_id, count, reply_id=None):
    """`count` public replies to `toot_id`, in Mastodon's depth-first order.
    `reply_id(i)` names the i-th reply (default: 18 digits from the toot's)."""
    rng = random.Random(count)
    if reply_id is None:
        seq = int(toot_id) - _FIRST_ID if toot_id.isdigit() else 0
        reply_id = lambda i: f"112{seq % 10**10:010d}{i:05d}"
    start = _EPOCH
    root = {"id": toot_id, "account": _root_account(host)}
    made = []
    children = {toot_id: []}
    for i in range(count):
        # Two thirds answer the toot, a third an earlier reply.
        parent = rng.choice(made) if made and rng.random() < 0.35 else root
        account = rng.choice(ACCOUNTS)
        domain = account["acct"].split("@", 1)[1]
        status_id = reply_id(i)
        content, emojis = _content(rng, parent["account"], domain)
        status = {
            "id": status_id,
            "created_at": _iso(start + 60 + i * 37),
            "in_reply_to_id": parent["id"],
            "in_reply_to_account_id": parent["account"]["id"],
            "sensitive": False,
            "spoiler_text": "",
            "visibility": "public",
            "language": "en",
            "uri": f"https://{domain}/users/{account['username']}/statuses/{status_id}",
            "url": f"https://{domain}/@{account['username']}/{status_id}",
            "replies_count": 0,
            "reblogs_count": rng.randrange(3),
            "favourites_count": rng.randrange(6),
            "edited_at": None,
            "content": content,
            "reblog": None,
            "account": account,
            "media_attachments": [],
            "mentions": [{
                "id": parent["account"]["id"], "username": parent["account"]["username"],
                "url": parent["account"]["url"], "acct": parent["account"]["acct"],
            }],
            "tags": [],
            "emojis": emojis,
            "card": None,
            "poll": None,
        }
        made.append(status)
        children[status_id] = []
        children[parent["id"]].append(status)
    for status in made:
        status["replies_count"] = len(children[status["id"]])
    ordered = []

    def walk(parent_id):
        for child in children[parent_id]:
            ordered.append(child)
            walk(child["id"])

    walk(toot_id)
    return ordered


# Every thread has the same shape and text; only the ids differ. The JSON is
# made once per (host, count) with placeholders, so that answering a new
# thread costs a string replacement (well under a millisecond for 200
# replies) rather than the few milliseconds of building and encoding it.
_ROOT_MARK = "RRRRRRRRRRRRRRRRRR"
_SEQ_MARK = "QQQQQQQQQQ"
_templates = {}


def context_body(host, toot_id, count):
    key = (host, count)
    with _lock:
        template = _templates.get(key)
    if template is None:
        replies = descendants(host, _ROOT_MARK, count, lambda i: f"112{_SEQ_MARK}{i:05d}")
        template = json.dumps({"ancestors": [], "descendants": replies}, ensure_ascii=False)
        with _lock:
            _templates[key] = template
    seq = int(toot_id) - _FIRST_ID if toot_id.isdigit() else 0
    body = template.replace(_ROOT_MARK, toot_id).replace(_SEQ_MARK, f"{seq % 10**10:010d}")
    return body.encode("utf-8")


_STATUS_PATH = re.compile(r"^/api/v1/statuses/([^/]+)(/context)?$")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-upstream/1"
    # Headers and body leave in one write, with TCP_NODELAY: otherwise the
    # body of a small answer waits for the client's delayed ACK (Nagle), and
    # every call to the fake costs about 40 ms that a real server does not add.
    disable_nagle_algorithm = True
    wbufsize = 1 << 16

    def log_message(self, *args):  # quiet: a benchmark's output is its figures
        pass

    def _send(self, status, body, content_type):
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _json(self, status, value):
        self._send(status, json.dumps(value), "application/json; charset=utf-8")

    def _replies(self, query):
        for part in query.split("&"):
            key, _, value = part.partition("=")
            if key == "replies" and value.isdigit():
                return int(value)
        return self.server.replies

    def do_GET(self):
        started = time.perf_counter_ns()
        path, _, query = self.path.partition("?")
        status = _STATUS_PATH.match(path)
        if path == "/api/v2/instance":
            _count("instance")
            self._json(200, INSTANCE)
        elif status:
            self._status(status.group(1), bool(status.group(2)), query, started)
        elif path == "/_counts":
            with _lock:
                counts = dict(served)
                counts["busy_ms"] = {k: round(v / 1e6, 3) for k, v in busy_ns.items()}
            self._json(200, counts)
        elif path.startswith("/posts/") and path.endswith("/"):
            _count("posts")
            self._send(200, POST_PAGE, "text/html; charset=utf-8")
        elif _REPLY_PATH.match(path):
            _count("replies")
            slug, n = _REPLY_PATH.match(path).groups()
            target = f"http://{self.headers.get('Host')}/posts/{slug}/"
            self._send(200, REPLY_PAGE.format(target=target, n=n), "text/html; charset=utf-8")
        else:
            _count("other")
            self._json(404, {"error": "Record not found"})

    def _status(self, toot_id, context, query, started):
        if not (self.headers.get("Authorization") or "").startswith("Bearer "):
            _count("other")
            self._json(401, {"error": "The access token is invalid"})
            return
        with _lock:
            known = toot_id in posted
        if not known:
            _count("other")
            self._json(404, {"error": "Record not found"})
            return
        host = self.headers.get("Host")
        replies = self._replies(query)
        if context:
            body = context_body(host, toot_id, replies)
            self._send(200, body, "application/json; charset=utf-8")
            _count("context", started)
        else:
            self._json(200, root_status(host, toot_id, replies))
            _count("status", started)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        path = self.path.split("?", 1)[0]
        if path != "/api/v1/statuses":
            _count("other")
            self._json(404, {"error": "Record not found"})
            return
        if not (self.headers.get("Authorization") or "").startswith("Bearer "):
            _count("other")
            self._json(401, {"error": "The access token is invalid"})
            return
        _count("statuses")
        with _lock:
            toot_id = str(next(_ids))
            posted[toot_id] = int(time.time())
        self._json(
            200,
            {
                "id": toot_id,
                "uri": f"http://{self.headers.get('Host')}/users/bench/statuses/{toot_id}",
                "url": f"http://{self.headers.get('Host')}/@bench/{toot_id}",
                "visibility": "public",
                "content": form,
            },
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--replies", type=int, default=DEFAULT_REPLIES,
                        help="public replies in every thread (default %(default)s)")
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.replies = args.replies
    port = server.server_address[1]

    def stop(signum, _frame):
        print(f"fake upstream served {json.dumps(served)}", file=sys.stderr, flush=True)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    print(f"listening on 127.0.0.1:{port}", flush=True)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
