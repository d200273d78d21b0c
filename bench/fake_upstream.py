#!/usr/bin/env python3
"""A fake Mastodon instance and a fake blog on one loopback port, for benchmarks.

Serves just enough for backfeed to announce a post once:

  GET  /api/v2/instance    the instance limits (500 characters, URLs count 23)
  POST /api/v1/statuses    a created status with an increasing string id
  GET  /posts/<slug>/      a blog post page with an og:title
  GET  /_counts            what it has served so far, as JSON (for checks)

Standard library only. Usage:

  fake_upstream.py [--port N] [--port-file PATH]

With --port 0 (the default) the OS picks a free port; the chosen port is
printed on stdout as "listening on 127.0.0.1:N" and, with --port-file, written
to PATH once the socket is bound (so a script can wait for the file). It only
ever binds 127.0.0.1. Counters of what it served are printed on SIGTERM/SIGINT.
"""

import argparse
import itertools
import json
import os
import signal
import sys
import threading
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

_ids = itertools.count(110_000_000_000_000_001)
_lock = threading.Lock()
served = {"instance": 0, "statuses": 0, "posts": 0, "other": 0}


def _count(kind):
    with _lock:
        served[kind] += 1


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-upstream/1"

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

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/api/v2/instance":
            _count("instance")
            self._json(200, INSTANCE)
        elif path == "/_counts":
            with _lock:
                counts = dict(served)
            self._json(200, counts)
        elif path.startswith("/posts/") and path.endswith("/"):
            _count("posts")
            self._send(200, POST_PAGE, "text/html; charset=utf-8")
        else:
            _count("other")
            self._json(404, {"error": "Record not found"})

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
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
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
