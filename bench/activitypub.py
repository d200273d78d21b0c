#!/usr/bin/env python3
"""Helpers for bench/activitypub.sh: a fake fediverse and the load on the inbox.

Talks to loopback only. Needs Python's `cryptography` (Debian:
python3-cryptography): the signatures made here, and those of backfeed's
deliveries checked here, go through OpenSSL, an implementation other than
backfeed's own. Subcommands:

  fediverse --backfeed URL --servers S --users U --port-file PATH [--inbox-delay-ms D]
      The other servers. S fake servers, one per loopback address
      127.0.0.2 … 127.0.0.(S+1), all on one port (written to PATH once every
      socket is bound); U actors, actor i on server i % S at
      /users/u<i>, every one with the fixed test key
      (tests/fixtures/activitypub/test-key.pub.pem), its personal inbox at
      /users/u<i>/inbox and its server's shared inbox at /inbox. Every POST
      to an inbox is answered 202 and recorded: its type, object, server,
      path, arrival time and whether backfeed's signature on it verifies
      (Digest, then RSA over the headers it lists, with the key of backfeed's
      actor, fetched once at start). On 127.0.0.1 the same port also serves
      blog posts (GET /posts/<slug>/, a page with a title and description)
      and GET /_stats: what it has seen, as JSON; POST /_dead?n=K makes the
      inboxes of the first K servers hang (never answer). With --inbox-delay-ms (or
      after POST /_delay?ms=D), an inbox answers after D ms, like a real
      server over a real network, and the most POSTs in flight at one server
      at once is recorded.

  fire --backfeed URL --port P --servers S --users U --kind follow|like
       [--count N] [--concurrency C] [--run R] [--wait-cap SECONDS]
      Signs (`(request-target) host date digest`, rsa-sha256, the test key)
      then POSTs activities to backfeed's shared inbox over C keep-alive
      connections: `follow`: one Follow of backfeed's actor per actor (U);
      `like`: N Likes, actors in turn, each with its own id. All requests are
      signed before the clock starts. Then waits until backfeed's queue has
      processed every accepted activity (its `backfeed_jobs_total` counter of
      process-activity jobs) and, for follows, until every Accept reached the
      fake fediverse. Prints one JSON object.

  publish --backfeed URL --port P --servers S --posts N --token T [--run R] [--dead K]
      Makes backfeed publish N new posts (one `POST /admin/publish` with N
      `url=` parameters, pages served by the fake fediverse) and waits until
      every follower server's shared inbox got the Create of each post.
      Prints one JSON object: deliveries, times, whether each post reached
      each server exactly once, and how long GET /status took meanwhile.
      With --dead K (after POST /_dead?n=K to the fediverse), the first K
      servers take each delivery and never answer; the others are waited for.
"""

import argparse
import asyncio
import base64
import collections
import hashlib
import json
import os
import re
import sys
import time
import urllib.parse
import urllib.request
from email.utils import formatdate

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "activitypub")
AS_JSON = "application/activity+json"
AS_CONTEXT = "https://www.w3.org/ns/activitystreams"


def server_ip(s):
    return f"127.0.0.{2 + s}"


def actor_id(i, servers, port):
    return f"http://{server_ip(i % servers)}:{port}/users/u{i}"


def http_json(url, method="GET", headers=None, timeout=10):
    request = urllib.request.Request(url, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return json.loads(answer.read() or b"null")


def backfeed_actor(backfeed):
    return http_json(f"{backfeed}/ap/actor", headers={"Accept": AS_JSON})


def metric_sum(backfeed, name, **labels):
    """Sum of the samples of `name` whose labels include `labels`."""
    with urllib.request.urlopen(f"{backfeed}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    total = 0.0
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)", line)
        if not m or m.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(m.group(3))
    return total


def metric_by(backfeed, name, label):
    """{value of `label`: sum} over the samples of `name`."""
    with urllib.request.urlopen(f"{backfeed}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    out = collections.Counter()
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)", line)
        if m and m.group(1) == name:
            have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
            out[have.get(label, "")] += float(m.group(3))
    return dict(out)


def percentile(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


# --- a small HTTP/1.1 server and client on asyncio streams -----------------

async def read_message_head(reader):
    """(first line, {lowercase name: value}) or None at the end of the stream."""
    line = await reader.readline()
    if not line:
        return None
    headers = {}
    while True:
        h = await reader.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return line.decode("latin-1").rstrip("\r\n"), headers


async def read_body(reader, headers):
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                await reader.readline()
                return body
            body += await reader.readexactly(size)
            await reader.readline()
    n = int(headers.get("content-length") or 0)
    return await reader.readexactly(n) if n else b""


def response_bytes(status, body=b"", content_type="application/json"):
    reason = {200: "OK", 202: "Accepted", 404: "Not Found", 405: "Method Not Allowed"}[status]
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\n"
            f"content-length: {len(body)}\r\n\r\n").encode() + body


# --- fediverse -------------------------------------------------------------------

class Fediverse:
    def __init__(self, args, backfeed_key, backfeed_key_id):
        self.servers, self.users = args.servers, args.users
        self.port = None
        self.key, self.key_id = backfeed_key, backfeed_key_id
        self.public_pem = open(os.path.join(FIXTURES, "test-key.pub.pem")).read()
        self.actor_fetches = 0
        self.other_requests = 0
        # kind -> list of records
        self.deliveries = collections.defaultdict(list)
        self.bad = collections.Counter()
        # Inboxes answer after this many seconds (a real server's latency);
        # with a delay, requests in flight per server are counted.
        self.delay = args.inbox_delay_ms / 1000
        self.in_flight = collections.Counter()
        self.max_in_flight = collections.Counter()
        # Servers whose inboxes never answer (POST /_dead?n=K: the first K).
        self.dead = set()
        self.hung = 0

    def check_signature(self, method, path, headers, body):
        """None when backfeed's signature verifies, else why not."""
        digest = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
        if headers.get("digest") != digest:
            return "digest"
        params = dict(re.findall(r'(\w+)="([^"]*)"', headers.get("signature", "")))
        if params.get("keyId") != self.key_id:
            return "keyId"
        lines = []
        for name in params.get("headers", "date").split():
            if name == "(request-target)":
                lines.append(f"(request-target): {method.lower()} {path}")
            elif name in headers:
                lines.append(f"{name}: {headers[name]}")
            else:
                return f"missing {name}"
        if "digest" not in params.get("headers", ""):
            return "digest not signed"
        try:
            self.key.verify(base64.b64decode(params.get("signature", "")), "\n".join(lines).encode(),
                            padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return "signature"
        return None

    def actor_doc(self, i):
        aid = actor_id(i, self.servers, self.port)
        base = f"http://{server_ip(i % self.servers)}:{self.port}"
        return {
            "@context": [AS_CONTEXT, "https://w3id.org/security/v1"],
            "id": aid,
            "type": "Person",
            "preferredUsername": f"u{i}",
            "name": f"User {i}",
            "inbox": f"{aid}/inbox",
            "endpoints": {"sharedInbox": f"{base}/inbox"},
            "url": f"{base}/@u{i}",
            "publicKey": {"id": f"{aid}#main-key", "owner": aid, "publicKeyPem": self.public_pem},
        }

    def stats(self):
        out = {"actor_fetches": self.actor_fetches, "other_requests": self.other_requests, "hung": self.hung,
               "bad_signatures": dict(self.bad), "max_in_flight_per_server": max(self.max_in_flight.values(), default=0),
               "deliveries": {}}
        for kind, records in self.deliveries.items():
            per_object = collections.defaultdict(collections.Counter)
            times = {}
            for r in records:
                per_object[r["object"]][(r["server"], r["path"])] += 1
                first, last = times.get(r["object"], (r["at"], r["at"]))
                times[r["object"]] = (min(first, r["at"]), max(last, r["at"]))
            out["deliveries"][kind] = {
                "count": len(records),
                "first": min(r["at"] for r in records),
                "last": max(r["at"] for r in records),
                "paths": dict(collections.Counter(r["path"] if r["path"] == "/inbox" else "personal"
                                                  for r in records)),
                "objects": {obj: {"servers": len({s for s, _ in c}), "inboxes": len(c),
                                  "max_per_inbox": max(c.values()), "total": sum(c.values()),
                                  "shared": sum(n for (_, path), n in c.items() if path == "/inbox"),
                                  "first": times[obj][0], "last": times[obj][1]}
                            for obj, c in per_object.items()},
            }
        return out

    async def handle(self, server, reader, writer):
        try:
            while True:
                head = await read_message_head(reader)
                if head is None:
                    break
                line, headers = head
                method, target, _ = line.split(" ", 2)
                body = await read_body(reader, headers)
                if method == "POST" and server in self.dead:
                    # A server that takes the request and never answers:
                    # wait for the sender to give up and hang up.
                    self.hung += 1
                    while await reader.read(65536):
                        pass
                    break
                answer = self.route(server, method, target, headers, body)
                if self.delay and method == "POST":
                    self.in_flight[server] += 1
                    self.max_in_flight[server] = max(self.max_in_flight[server], self.in_flight[server])
                    try:
                        await asyncio.sleep(self.delay)
                    finally:
                        self.in_flight[server] -= 1
                writer.write(answer)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    def route(self, server, method, target, headers, body):
        path = urllib.parse.urlsplit(target).path
        if server is None:  # 127.0.0.1: the blog and the stats
            if method == "GET" and path == "/_stats":
                return response_bytes(200, json.dumps(self.stats()).encode())
            if method == "POST" and path == "/_dead":
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query)
                self.dead = set(range(int(query["n"][0])))
                return response_bytes(200, b"{}")
            if method == "POST" and path == "/_delay":
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query)
                self.delay = float(query["ms"][0]) / 1000
                self.max_in_flight.clear()
                return response_bytes(200, b"{}")
            m = re.fullmatch(r"/posts/([\w-]+)/", path)
            if method == "GET" and m:
                slug = m.group(1)
                page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Post {slug}</title>'
                        f'<meta name="description" content="What post {slug} is about.">'
                        f'<meta property="og:title" content="Post {slug}"></head><body>'
                        f'<article class="h-entry"><h1 class="p-name">Post {slug}</h1>'
                        f'<div class="e-content"><p>The text of post {slug}, without links.</p></div>'
                        f'</article></body></html>\n')
                return response_bytes(200, page.encode(), "text/html; charset=utf-8")
            self.other_requests += 1
            return response_bytes(404)
        m = re.fullmatch(r"/users/u(\d+)", path)
        if method == "GET" and m and int(m.group(1)) < self.users and int(m.group(1)) % self.servers == server:
            self.actor_fetches += 1
            return response_bytes(200, json.dumps(self.actor_doc(int(m.group(1)))).encode(), AS_JSON)
        m = re.fullmatch(r"/users/u(\d+)/inbox", path)
        if method == "POST" and (path == "/inbox" or (m and int(m.group(1)) % self.servers == server)):
            at = time.time()
            why = self.check_signature(method, target, headers, body)
            if why:
                self.bad[why] += 1
            try:
                activity = json.loads(body)
            except ValueError:
                activity = {}
            obj = activity.get("object")
            obj = obj.get("id") if isinstance(obj, dict) else obj
            self.deliveries[activity.get("type", "?")].append(
                {"at": at, "server": server, "path": path, "object": obj})
            return response_bytes(202)
        self.other_requests += 1
        return response_bytes(404 if method == "GET" else 405)


async def fediverse_main(args):
    actor = backfeed_actor(args.backfeed)
    key = serialization.load_pem_public_key(actor["publicKey"]["publicKeyPem"].encode())
    fed = Fediverse(args, key, actor["publicKey"]["id"])
    for _ in range(20):
        first = await asyncio.start_server(lambda r, w: fed.handle(0, r, w), server_ip(0), 0, backlog=1024)
        port = first.sockets[0].getsockname()[1]
        servers = [first]
        try:
            for s in range(1, args.servers):
                servers.append(await asyncio.start_server(
                    lambda r, w, s=s: fed.handle(s, r, w), server_ip(s), port, backlog=1024))
            servers.append(await asyncio.start_server(
                lambda r, w: fed.handle(None, r, w), "127.0.0.1", port, backlog=1024))
            break
        except OSError:
            for srv in servers:
                srv.close()
    else:
        sys.exit("no port was free on every loopback address")
    fed.port = port
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(args.port_file + ".tmp", args.port_file)
    await asyncio.Event().wait()


# --- fire ----------------------------------------------------------------------

def sign_requests(args, activities, inbox_url):
    """Raw HTTP requests, each signed now with the test key."""
    key = serialization.load_pem_private_key(open(os.path.join(FIXTURES, "test-key.pem"), "rb").read(), None)
    url = urllib.parse.urlsplit(inbox_url)
    host, path = url.netloc, url.path or "/"
    raw = []
    for actor, activity in activities:
        body = json.dumps(activity, separators=(",", ":")).encode()
        date = formatdate(usegmt=True)
        digest = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
        string = f"(request-target): post {path}\nhost: {host}\ndate: {date}\ndigest: {digest}"
        signature = base64.b64encode(key.sign(string.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()
        header = (f'keyId="{actor}#main-key",algorithm="rsa-sha256",'
                  f'headers="(request-target) host date digest",signature="{signature}"')
        raw.append((f"POST {path} HTTP/1.1\r\nhost: {host}\r\ndate: {date}\r\ndigest: {digest}\r\n"
                    f"content-type: {AS_JSON}\r\nsignature: {header}\r\n"
                    f"content-length: {len(body)}\r\n\r\n").encode() + body)
    return raw


async def fire_all(address, raw, concurrency):
    statuses = collections.Counter()
    latencies = []
    errors = collections.Counter()
    next_index = iter(range(len(raw)))

    async def connection():
        reader = writer = None
        for i in next_index:
            for attempt in range(3):
                try:
                    if writer is None:
                        reader, writer = await asyncio.open_connection(*address)
                    t0 = time.perf_counter()
                    writer.write(raw[i])
                    head = await read_message_head(reader)
                    if head is None:
                        raise ConnectionError("closed")
                    line, headers = head
                    await read_body(reader, headers)
                    latencies.append(time.perf_counter() - t0)
                    statuses[int(line.split(" ", 2)[1])] += 1
                    if headers.get("connection", "").lower() == "close":
                        writer.close()
                        writer = None
                    break
                except (ConnectionError, asyncio.IncompleteReadError, OSError) as e:
                    errors[type(e).__name__] += 1
                    if writer is not None:
                        writer.close()
                    writer = None
        if writer is not None:
            writer.close()

    start = time.time()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    end = time.time()
    return start, end, statuses, latencies, errors


def fire_main(args):
    actor = backfeed_actor(args.backfeed)
    inbox = actor.get("endpoints", {}).get("sharedInbox") or actor["inbox"]
    bf = urllib.parse.urlsplit(args.backfeed)
    n = args.users if args.kind == "follow" else args.count
    activities = []
    for k in range(n):
        i = k % args.users
        aid = actor_id(i, args.servers, args.port)
        if args.kind == "follow":
            activities.append((aid, {"@context": AS_CONTEXT, "id": f"{aid}/follows/{args.run}", "type": "Follow",
                                     "actor": aid, "object": actor["id"]}))
        else:
            activities.append((aid, {"@context": AS_CONTEXT, "id": f"{aid}/likes/{args.run}-{k}", "type": "Like",
                                     "actor": aid, "object": f"{args.backfeed}/ap/posts/bench-{k % 10}"}))
    t0 = time.perf_counter()
    raw = sign_requests(args, activities, inbox)
    sign_s = time.perf_counter() - t0
    jobs_before = metric_sum(args.backfeed, "backfeed_jobs_total", kind="process-activity")
    accepts_before = stats(args.port).get("deliveries", {}).get("Accept", {}).get("count", 0)
    cpu_before = time.process_time()
    start, end, statuses, latencies, errors = asyncio.run(
        fire_all((bf.hostname, bf.port), raw, args.concurrency))
    client_cpu = time.process_time() - cpu_before
    accepted = statuses.get(202, 0)
    # Wait for the queue: every accepted activity processed (and for follows,
    # every Accept delivered).
    processed_at = delivered_at = None
    deadline = time.time() + args.wait_cap
    while time.time() < deadline:
        now = time.time()
        processed = metric_sum(args.backfeed, "backfeed_jobs_total", kind="process-activity") - jobs_before
        if processed_at is None and processed >= accepted:
            processed_at = now
        if args.kind == "follow":
            accepts = stats(args.port).get("deliveries", {}).get("Accept", {})
            if delivered_at is None and accepts.get("count", 0) - accepts_before >= accepted:
                delivered_at = accepts["last"]
        if processed_at is not None and (args.kind != "follow" or delivered_at is not None):
            break
        time.sleep(0.05)
    processed = metric_sum(args.backfeed, "backfeed_jobs_total", kind="process-activity") - jobs_before
    result = {
        "kind": args.kind,
        "requests": len(raw),
        "concurrency": args.concurrency,
        "sign_seconds": round(sign_s, 3),
        "seconds": round(end - start, 3),
        "client_cpu_seconds": round(client_cpu, 3),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": dict(errors),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "accepted_per_second": round(accepted / (end - start), 1) if end > start else 0,
        "processed": int(processed),
        "processed_seconds": round(processed_at - start, 3) if processed_at else None,
        "job_outcomes": metric_by(args.backfeed, "backfeed_jobs_total", "outcome"),
        "inbox_outcomes": metric_by(args.backfeed, "backfeed_activitypub_inbox_total", "outcome"),
    }
    if args.kind == "follow":
        result["accepts_delivered_seconds"] = round(delivered_at - start, 3) if delivered_at else None
        s = stats(args.port)
        acc = s.get("deliveries", {}).get("Accept", {})
        result["accepts"] = acc.get("count", 0) - accepts_before
        result["accept_paths"] = acc.get("paths", {})
        result["accept_max_per_inbox"] = max((o["max_per_inbox"] for o in acc.get("objects", {}).values()), default=0)
        result["actor_fetches"] = s["actor_fetches"]
        result["bad_signatures"] = s["bad_signatures"]
        followers = http_json(f"{args.backfeed}/ap/followers", headers={"Accept": AS_JSON})
        result["followers"] = followers.get("totalItems")
    print(json.dumps(result))


def stats(port):
    return http_json(f"http://127.0.0.1:{port}/_stats")


# --- publish -------------------------------------------------------------------

def status_latencies(backfeed, seconds, stop=None):
    """GET /status over one keep-alive connection every 10 ms for `seconds`
    (or until `stop` is set): the answer times in ms."""
    import http.client
    u = urllib.parse.urlsplit(backfeed)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    out = []
    end = time.time() + seconds
    while time.time() < end and not (stop and stop.is_set()):
        t0 = time.perf_counter()
        conn.request("GET", "/status")
        conn.getresponse().read()
        out.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.01)
    conn.close()
    return out


class StatusProbe:
    """status_latencies in a thread, from start() to stop()."""

    def __init__(self, backfeed):
        import threading
        self.ms = []
        self.done = threading.Event()
        self.thread = threading.Thread(
            target=lambda: self.ms.extend(status_latencies(backfeed, 3600, self.done)), daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.done.set()
        self.thread.join()


def post_of(object_id):
    """The post URL a backfeed object id (`…/ap/posts/<base64url>`) encodes."""
    encoded = object_id.rsplit("/", 1)[-1] if isinstance(object_id, str) else ""
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except ValueError:
        return None


def publish_main(args):
    posts = [f"http://127.0.0.1:{args.port}/posts/{args.run}-{k}/" for k in range(args.posts)]
    before = stats(args.port).get("deliveries", {}).get("Create", {}).get("count", 0)
    delivered_before = metric_by(args.backfeed, "backfeed_activitypub_deliveries_total", "outcome")
    query = urllib.parse.urlencode([("url", p) for p in posts])
    # How long backfeed takes to answer GET /status while it delivers, next
    # to before: CPU-bound work on the async runtime's threads shows here.
    idle_ms = status_latencies(args.backfeed, 1.0)
    probe = StatusProbe(args.backfeed)
    probe.start()
    start = time.time()
    report = http_json(f"{args.backfeed}/admin/publish?{query}", method="POST",
                       headers={"Authorization": f"Bearer {args.token}"}, timeout=300)
    scanned = time.time()
    live = args.servers - args.dead
    expected = args.posts * live
    hung_before = stats(args.port)["hung"]
    deadline = time.time() + args.wait_cap
    creates = {}
    while time.time() < deadline:
        creates = stats(args.port).get("deliveries", {}).get("Create", {})
        if creates.get("count", 0) - before >= expected:
            break
        time.sleep(0.05)
    probe.stop()
    time.sleep(0.5)  # anything extra (a second delivery) would show now
    s = stats(args.port)
    creates = s.get("deliveries", {}).get("Create", {})
    ours = {k: v for k, v in creates.get("objects", {}).items() if post_of(k) in posts}
    count = sum(o["total"] for o in ours.values())
    first = min((o["first"] for o in ours.values()), default=start)
    last = max((o["last"] for o in ours.values()), default=start)
    delivered_after = metric_by(args.backfeed, "backfeed_activitypub_deliveries_total", "outcome")
    print(json.dumps({
        "posts": args.posts,
        "servers": args.servers,
        "dead": args.dead,
        "hung": s["hung"] - hung_before,
        "expected": expected,
        "deliveries": count,
        "scan_seconds": round(scanned - start, 3),
        "first_delivery_seconds": round(first - start, 3),
        "last_delivery_seconds": round(last - start, 3),
        "per_second": round(count / (last - start), 1) if count and last > start else 0,
        "report": {k: report.get(k) for k in ("posts_seen", "new", "changed", "post_errors")},
        "objects": len(ours),
        "each_post_each_server_once": len(ours) == args.posts and all(
            o["servers"] == live and o["inboxes"] == live and o["max_per_inbox"] == 1
            and o["shared"] == o["total"] for o in ours.values()),
        "bad_signatures": s["bad_signatures"],
        "max_in_flight_per_server": s["max_in_flight_per_server"],
        "status_ms_idle": {"p50": round(percentile(idle_ms, 50), 2), "max": round(max(idle_ms, default=0), 2)},
        "status_ms_delivering": {"p50": round(percentile(probe.ms, 50), 2), "p99": round(percentile(probe.ms, 99), 2),
                                 "max": round(max(probe.ms, default=0), 2), "n": len(probe.ms)},
        "delivery_outcomes": {k: v - delivered_before.get(k, 0) for k, v in delivered_after.items()},
    }))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fediverse")
    f.add_argument("--backfeed", required=True)
    f.add_argument("--servers", type=int, default=100)
    f.add_argument("--users", type=int, default=1000)
    f.add_argument("--port-file", required=True)
    f.add_argument("--inbox-delay-ms", type=float, default=0)
    x = sub.add_parser("fire")
    x.add_argument("--backfeed", required=True)
    x.add_argument("--port", type=int, required=True)
    x.add_argument("--servers", type=int, default=100)
    x.add_argument("--users", type=int, default=1000)
    x.add_argument("--kind", choices=["follow", "like"], required=True)
    x.add_argument("--count", type=int, default=5000)
    x.add_argument("--concurrency", type=int, default=32)
    x.add_argument("--run", default="r1")
    x.add_argument("--wait-cap", type=float, default=300)
    b = sub.add_parser("publish")
    b.add_argument("--backfeed", required=True)
    b.add_argument("--port", type=int, required=True)
    b.add_argument("--servers", type=int, default=100)
    b.add_argument("--posts", type=int, default=10)
    b.add_argument("--token", required=True)
    b.add_argument("--dead", type=int, default=0, help="servers (the first ones) that never answer")
    b.add_argument("--run", default="r1")
    b.add_argument("--wait-cap", type=float, default=300)
    args = p.parse_args()
    if args.command == "fediverse":
        if not 1 <= args.servers <= 250:
            sys.exit("--servers must be 1..250")
        asyncio.run(fediverse_main(args))
    elif args.command == "fire":
        fire_main(args)
    else:
        publish_main(args)


if __name__ == "__main__":
    main()
