#!/usr/bin/env python3
"""Helpers for bench/webmention.sh: counters, queue draining, sending, checks.

Standard library only; talks to 127.0.0.1 only. Subcommands, each printing
one JSON object on stdout:

  metrics URL
      The counters the benchmark needs from backfeed's `GET /metrics`:
      answers of POST /webmention by status, webmentions received,
      verifications by outcome, and every non-2xx answer by route.

  drain --db FILE --metrics URL [--cap 120] [--interval 1]
      Polls the SQLite file (read-only queries on its own connection) and
      `/metrics` every INTERVAL seconds until no verification job is due or
      claimed any more, or CAP seconds pass. Reports the pending count over
      time, the jobs drained per second over the measured window (from the
      first poll to the first poll that found the queue empty), the verified
      counter's rate over the same window, and jobs left waiting for a retry.

  send --url URL --source-base URL --target URL --count N [--prefix P]
      POSTs N webmentions over one keep-alive connection, sources
      SOURCE_BASE + P + n; every answer must be 201 with a Location.

  pages DIR --pages P --count N
      Checks the saved pages DIR/site-<0…P-1>.jf2 of a site-wide listing:
      jf2 feeds holding N mentions in all, each once (by wm-id).

  feed FILE --target URL --count N
      Checks a saved `GET /api/mentions.jf2` body: a jf2 feed with exactly N
      children, all for TARGET, each with an author and content.
"""

import argparse
import http.client
import json
import re
import sqlite3
import sys
import time
import urllib.parse
import urllib.request

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """[(name, {label: value}, float)] for every sample line."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            continue
        name, labels, value = m.groups()
        try:
            samples.append((name, dict(LABEL.findall(labels or "")), float(value)))
        except ValueError:
            pass
    return samples


def counters(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode("utf-8", "replace")
    out = {
        "webmention_posts": {},
        "received": 0,
        "verifications": {},
        "non_2xx": {},
        "requests": 0,
    }
    for name, labels, value in parse_metrics(text):
        if name == "http_requests_total":
            status = labels.get("status", "?")
            route = labels.get("route", "?")
            out["requests"] += int(value)
            if route in ("/webmention", "/web-mentions") and labels.get("method") == "POST":
                out["webmention_posts"][status] = out["webmention_posts"].get(status, 0) + int(value)
            if not status.startswith("2"):
                key = f"{labels.get('method', '?')} {route} {status}"
                out["non_2xx"][key] = out["non_2xx"].get(key, 0) + int(value)
        elif name == "backfeed_webmentions_received_total":
            out["received"] += int(value)
        elif name == "backfeed_webmention_verifications_total":
            outcome = labels.get("outcome", "?")
            out["verifications"][outcome] = out["verifications"].get(outcome, 0) + int(value)
    return out


def queue(db):
    """(due or running, waiting for a retry later, total) verification jobs
    on the one job queue (`jobs`, kind `verify-mention`; a running job's
    `due_at` is the end of its lease)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        now_ms = int(time.time() * 1000)
        total, due = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(due_at <= ?1 OR state = 'running'), 0)"
            " FROM jobs WHERE kind = 'verify-mention' AND state <> 'dead'",
            (now_ms,),
        ).fetchone()
        return int(due), int(total) - int(due), int(total)
    finally:
        conn.close()


def cmd_metrics(args):
    print(json.dumps(counters(args.url)))


def cmd_drain(args):
    t0 = time.monotonic()
    first = counters(args.metrics)
    due, later, total = queue(args.db)
    samples = [(0.0, due, later, first["verifications"].get("verified", 0))]
    start_due = due
    empty_at = 0.0 if due == 0 else None
    last = first
    while empty_at is None:
        elapsed = time.monotonic() - t0
        if elapsed >= args.cap:
            break
        time.sleep(max(0.0, args.interval - (elapsed % args.interval)))
        due, later, total = queue(args.db)
        last = counters(args.metrics)
        t = time.monotonic() - t0
        samples.append((round(t, 3), due, later, last["verifications"].get("verified", 0)))
        print(f"  {t:6.1f} s: {due} due or claimed, {later} waiting for a retry",
              file=sys.stderr, flush=True)
        if due == 0:
            empty_at = t
    window = empty_at if empty_at is not None else samples[-1][0]
    drained = start_due - samples[-1][1]
    outcomes = {
        k: last["verifications"].get(k, 0) - first["verifications"].get(k, 0)
        for k in set(last["verifications"]) | set(first["verifications"])
    }
    verified = outcomes.get("verified", 0)
    print(json.dumps({
        "start_due": start_due,
        "end_due": samples[-1][1],
        "end_waiting_retry": samples[-1][2],
        "seconds": round(window, 3),
        "emptied": empty_at is not None,
        "drained": drained,
        "drained_per_s": drained / window if window else 0.0,
        "verified_per_s": verified / window if window else 0.0,
        "outcomes": outcomes,
        "samples": samples,
    }))


def cmd_send(args):
    url = urllib.parse.urlsplit(args.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    ids = []
    for n in range(args.count):
        body = urllib.parse.urlencode({
            "source": f"{args.source_base}{args.prefix}{n}",
            "target": args.target,
        })
        conn.request("POST", url.path, body,
                     {"Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        data = response.read()
        if response.status != 201 or not response.getheader("Location"):
            sys.exit(f"webmention {n} answered {response.status}: {data[:300]!r}")
        ids.append(json.loads(data)["id"])
    conn.close()
    print(json.dumps({"sent": len(ids), "first_id": ids[0] if ids else None,
                      "last_id": ids[-1] if ids else None}))


def cmd_feed(args):
    body = json.load(open(args.file, "rb"))
    problems = []
    if body.get("type") != "feed":
        problems.append(f"type is {body.get('type')!r}, not 'feed'")
    children = body.get("children") or []
    if len(children) != args.count:
        problems.append(f"{len(children)} children, expected {args.count}")
    for child in children:
        if child.get("wm-target") not in (args.target, None):
            problems.append(f"child for {child.get('wm-target')!r}")
            break
        if not (child.get("author") or {}).get("name") or not child.get("content"):
            problems.append(f"child without author name or content: {json.dumps(child)[:300]}")
            break
    properties = sorted({c.get("wm-property") for c in children if c.get("wm-property")})
    if problems:
        sys.exit("unexpected jf2 feed: " + "; ".join(problems))
    print(json.dumps({"children": len(children), "properties": properties}))


def cmd_pages(args):
    ids, children, per_page = set(), 0, 0
    for page in range(args.pages):
        body = json.load(open(f"{args.dir}/site-{page}.jf2", "rb"))
        if body.get("type") != "feed":
            sys.exit(f"page {page} is not a jf2 feed")
        kids = body.get("children") or []
        per_page = max(per_page, len(kids))
        children += len(kids)
        ids.update(c.get("wm-id") for c in kids)
    if children != args.count or len(ids) != args.count:
        sys.exit(f"{children} children, {len(ids)} unique, expected {args.count} each")
    print(json.dumps({"children": children, "unique": len(ids), "per_page": per_page}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("metrics")
    p.add_argument("url")
    p.set_defaults(run=cmd_metrics)
    p = sub.add_parser("drain")
    p.add_argument("--db", required=True)
    p.add_argument("--metrics", required=True)
    p.add_argument("--cap", type=float, default=120.0)
    p.add_argument("--interval", type=float, default=1.0)
    p.set_defaults(run=cmd_drain)
    p = sub.add_parser("send")
    p.add_argument("--url", required=True)
    p.add_argument("--source-base", required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--prefix", default="")
    p.set_defaults(run=cmd_send)
    p = sub.add_parser("pages")
    p.add_argument("dir")
    p.add_argument("--pages", type=int, required=True)
    p.add_argument("--count", type=int, required=True)
    p.set_defaults(run=cmd_pages)
    p = sub.add_parser("feed")
    p.add_argument("file")
    p.add_argument("--target", required=True)
    p.add_argument("--count", type=int, required=True)
    p.set_defaults(run=cmd_feed)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
