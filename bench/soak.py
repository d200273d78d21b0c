#!/usr/bin/env python3
"""The load driver and RSS sampler of bench/soak.sh.

Runs a mixed load against backfeed for --seconds, each kind of request in
its own threads with keep-alive connections, and samples backfeed's VmRSS
(from /proc/PID/status) once a second into --samples. Kinds:

  lookup    GET /?url=<post>: one of the posts (announced on first sight,
            then answered from memory), and one in ten a URL that is not a
            post (400)
  intake    POST /webmention: a new reply each time to one of the --posts
            "written" posts (its source is a page of the fake upstream that
            links to the post), at most --intake-rate/s
  comments  GET /api/comments?url=<post> for one of the --posts "read"
            posts (40 Mastodon replies each, no webmentions), and
            /api/mentions.jf2?target=<post> for a written post (a page of
            20 of its growing list of mentions)

The read and written posts are apart so that what the comment threads hold
stays the same size: a growing thread is data, not a leak, and would hide
one (threads are rendered once and kept in memory, one per post).
  admin     the admin API: list mentions and jobs, approve or hide a mention,
            block and unblock a domain, at most --admin-rate/s

Prints one JSON object on stdout: the requests by kind and status, errors,
and the RSS figures (start, peak, end, and a least-squares line over the
second half). Standard library only; talks to 127.0.0.1 only.
"""

import argparse
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse
from collections import Counter


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Client:
    """One keep-alive connection, reopened after an error."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                response = self.conn.getresponse()
                data = response.read()
                return response.status, response.getheader("Location"), data
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")


class Soak:
    def __init__(self, args):
        self.args = args
        self.deadline = time.monotonic() + args.seconds
        self.lock = threading.Lock()
        self.statuses = Counter()
        self.errors = Counter()
        self.mention_ids = []
        self.read_posts = [f"{args.upstream}/posts/read-{n}/" for n in range(args.posts)]
        self.written_posts = [f"{args.upstream}/posts/written-{n}/" for n in range(args.posts)]
        self.replies = 0

    def running(self):
        return time.monotonic() < self.deadline

    def record(self, kind, status):
        with self.lock:
            self.statuses[f"{kind} {status}"] += 1

    def call(self, client, kind, method, path, body=None, headers=None):
        try:
            status, location, data = client.request(method, path, body, headers)
        except Exception as error:  # counted and reported, never fatal
            with self.lock:
                self.errors[f"{kind}: {type(error).__name__}"] += 1
            time.sleep(0.1)
            return None, None, b""
        self.record(kind, status)
        return status, location, data

    def paced(self, rate, work):
        """Runs work() at most `rate` times a second until the deadline."""
        interval = 1.0 / rate
        next_at = time.monotonic()
        while self.running():
            work()
            next_at += interval
            pause = next_at - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            else:
                next_at = time.monotonic()

    def lookup(self):
        client = Client(self.args.port)
        rng = random.Random()
        while self.running():
            if rng.random() < 0.1:
                url = f"http://127.0.0.1:1/not-a-post/{rng.randrange(10**9)}"
            else:
                url = rng.choice(self.read_posts + self.written_posts)
            self.call(client, "lookup", "GET", "/?url=" + urllib.parse.quote(url, safe=""))

    def comments(self):
        client = Client(self.args.port)
        rng = random.Random()
        while self.running():
            read = urllib.parse.quote(rng.choice(self.read_posts), safe="")
            self.call(client, "comments", "GET", f"/api/comments?url={read}")
            written = urllib.parse.quote(rng.choice(self.written_posts), safe="")
            self.call(client, "read-api", "GET", f"/api/mentions.jf2?target={written}")

    def intake(self):
        client = Client(self.args.port)
        rng = random.Random()
        form = {"Content-Type": "application/x-www-form-urlencoded"}

        def one():
            with self.lock:
                self.replies += 1
                n = self.replies
            slug = rng.choice(self.written_posts).rstrip("/").rsplit("/", 1)[1]
            body = urllib.parse.urlencode({
                "source": f"{self.args.upstream}/replies/{slug}/{n}",
                "target": f"{self.args.upstream}/posts/{slug}/",
            })
            status, location, _ = self.call(client, "intake", "POST", "/webmention", body, form)
            if status == 201 and location:
                with self.lock:
                    self.mention_ids.append(location.rsplit("/", 1)[1])
                    del self.mention_ids[:-1000]

        self.paced(self.args.intake_rate, one)

    def admin(self):
        client = Client(self.args.port)
        rng = random.Random()
        auth = {"Authorization": f"Bearer {self.args.admin_token}"}
        form = {**auth, "Content-Type": "application/x-www-form-urlencoded"}
        step = [0]

        def one():
            step[0] += 1
            with self.lock:
                some = rng.choice(self.mention_ids) if self.mention_ids else None
            kind = step[0] % 6
            if kind == 0:
                self.call(client, "admin", "GET", "/admin/mentions?per-page=50", headers=auth)
            elif kind == 1:
                self.call(client, "admin", "GET", "/admin/jobs?limit=50", headers=auth)
            elif kind in (2, 3) and some:
                action = "approve" if kind == 2 else "hide"
                self.call(client, "admin", "POST", f"/admin/mentions/{some}/{action}", headers=auth)
            elif kind == 4:
                domain = f"spam-{step[0] % 50}.example"
                self.call(client, "admin", "POST", "/admin/blocks",
                          urllib.parse.urlencode({"domain": domain}), form)
                self.call(client, "admin", "DELETE", f"/admin/blocks/{domain}", headers=auth)
            else:
                self.call(client, "admin", "GET", "/admin/blocks", headers=auth)

        self.paced(self.args.admin_rate, one)

    def sample(self, out):
        start = time.monotonic()
        samples = []
        while self.running():
            try:
                kb = rss_kb(self.args.pid)
            except (OSError, RuntimeError):
                with self.lock:
                    self.errors["backfeed exited"] += 1
                break
            t = time.monotonic() - start
            samples.append((t, kb))
            out.write(f"{t:.1f} {kb}\n")
            out.flush()
            time.sleep(max(0.0, 1.0 - (time.monotonic() - start - t)))
        return samples


def fit(points):
    """Least-squares slope (per second) and intercept of (t, y) points."""
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    slope = sum((t - mean_t) * (y - mean_y) for t, y in points) / var if var else 0.0
    return slope, mean_y - slope * mean_t


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--admin-token", required=True)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--intake-rate", type=float, default=100)
    parser.add_argument("--admin-rate", type=float, default=20)
    parser.add_argument("--lookup-threads", type=int, default=2)
    parser.add_argument("--comments-threads", type=int, default=2)
    parser.add_argument("--samples", required=True)
    args = parser.parse_args()

    soak = Soak(args)
    workers = (
        [soak.lookup] * args.lookup_threads
        + [soak.comments] * args.comments_threads
        + [soak.intake, soak.admin]
    )
    threads = [threading.Thread(target=w, daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    with open(args.samples, "w") as out:
        samples = soak.sample(out)
    for thread in threads:
        thread.join(timeout=60)

    if len(samples) < 4:
        sys.exit(f"soak: only {len(samples)} RSS samples")
    second_half = [(t, kb) for t, kb in samples if t >= samples[-1][0] / 2]
    slope, _ = fit(second_half)
    half_seconds = second_half[-1][0] - second_half[0][0]
    mean_half = sum(kb for _, kb in second_half) / len(second_half)
    growth_kb = slope * half_seconds
    by_kind = Counter()
    for key, count in soak.statuses.items():
        by_kind[key.split()[0]] += count
    print(json.dumps({
        "seconds": round(samples[-1][0], 1),
        "samples": len(samples),
        "rss_start_kb": samples[0][1],
        "rss_peak_kb": max(kb for _, kb in samples),
        "rss_end_kb": samples[-1][1],
        "second_half_slope_kb_per_min": round(slope * 60, 1),
        "second_half_growth_kb": round(growth_kb),
        "second_half_mean_kb": round(mean_half),
        # Climbing: the fitted line over the second half rises by more than
        # 5% of that half's mean RSS.
        "climbs": growth_kb > 0.05 * mean_half,
        "requests": dict(sorted(by_kind.items())),
        "statuses": dict(sorted(soak.statuses.items())),
        "errors": dict(soak.errors),
        "mentions_sent": soak.replies,
    }))


if __name__ == "__main__":
    main()
