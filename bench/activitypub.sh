#!/usr/bin/env bash
# Benchmark of the blog's fediverse account (issue 12): signed activities
# verified per second at the inbox, and deliveries per second from
# `publish` to 1,000 followers on 100 servers. See bench/README.md.
#
# Everything is on loopback. backfeed (`serve`, SQLite, ActivityPub on) on
# 127.0.0.1; a fake fediverse (activitypub.py) of SERVERS servers, one per
# address 127.0.0.2 … 127.0.0.(SERVERS+1) on one port, with USERS actors
# spread over them, all holding the fixed test key
# (tests/fixtures/activitypub/test-key.pem). The phases:
#
#   1. follow: every actor sends a signed Follow to the shared inbox: each is
#      the first sight of its actor (one actor fetch per Follow), and ends
#      as a follower plus a signed Accept delivered to its personal inbox.
#   2. like: ACTIVITIES signed Likes from the same actors (keys now cached):
#      the inbox's verify-and-queue rate, then the queue's processing.
#   3. publish: POSTS new posts through `POST /admin/publish`: a Create per
#      post to each server's shared inbox, delivered by the server's workers.
#   4. the same with every inbox answering after INBOX_DELAY_MS (a real
#      server's latency), unless INBOX_DELAY_MS=0.
#   5. DEAD_POSTS posts with the inboxes of DEAD_SERVERS servers taking the
#      request and never answering (the others instant), unless
#      DEAD_SERVERS=0.
#
# Environment (all optional):
#   SERVERS=100 USERS=1000   the fake fediverse (SERVERS at most 250)
#   ACTIVITIES=5000          Likes in phase 2
#   CONCURRENCY=32           connections the inbox load uses
#   POSTS=10                 posts published in phases 3 and 4
#   INBOX_DELAY_MS=50        phase 4's inbox latency (0 skips phase 4)
#   DEAD_SERVERS=4 DEAD_POSTS=3   phase 5: servers that never answer (0
#                            skips the phase), posts published
#   BACKFEED_BIN=…           use this binary instead of building one
#   AP_CRYPTO_COST=…         examples/ap_crypto_cost built with it (default:
#                            beside BACKFEED_BIN; skipped when missing)
#   CARGO_TARGET_DIR         honoured by the release build
set -euo pipefail

SERVERS=${SERVERS:-100}
USERS=${USERS:-1000}
ACTIVITIES=${ACTIVITIES:-5000}
CONCURRENCY=${CONCURRENCY:-32}
POSTS=${POSTS:-10}
INBOX_DELAY_MS=${INBOX_DELAY_MS:-50}
DEAD_SERVERS=${DEAD_SERVERS:-4}
DEAD_POSTS=${DEAD_POSTS:-3}
((SERVERS >= 1 && SERVERS <= 250)) || { echo "SERVERS must be 1..250" >&2; exit 2; }
((DEAD_SERVERS < SERVERS)) || { echo "DEAD_SERVERS must be below SERVERS" >&2; exit 2; }
((USERS >= SERVERS)) || { echo "USERS must be at least SERVERS" >&2; exit 2; }

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_cleanup_traps
command -v curl >/dev/null || die "curl is needed"
command -v python3 >/dev/null || die "python3 is needed"
python3 -c 'import cryptography' 2>/dev/null \
    || die "python3 needs its cryptography module (apt-get install python3-cryptography)"
find_backfeed_bin
# What one RSA signature and one verification cost in this build
# (examples/ap_crypto_cost.rs): built beside the binary, or found beside
# BACKFEED_BIN, else skipped.
if [[ -z "${BACKFEED_BIN:-}" ]]; then
    say "building examples/ap_crypto_cost (release)…"
    (cd "$ROOT" && cargo build --release --example ap_crypto_cost >&2)
fi
CRYPTO_COST=${AP_CRYPTO_COST:-$(dirname "$BIN")/examples/ap_crypto_cost}
WORK=$(mktemp -d /tmp/backfeed-bench.XXXXXX)
AP=(python3 "$BENCH_DIR/activitypub.py")

# --- backfeed -------------------------------------------------------------------
BF_PORT=$(free_port)
BACKFEED=http://127.0.0.1:$BF_PORT
TOKEN=bench-admin-token
backfeed_env activitypub.db MASTODON_HOST MASTODON_USER MASTODON_OAUTH_TOKEN BLOG_POST_PATTERN \
    BACKFEED_SITES BACKFEED_FEEDS BACKFEED_ANNOUNCE_ON_VIEW BACKFEED_ACTOR BACKFEED_ACTOR_DOMAIN \
    BACKFEED_ACTIVITYPUB_OBJECT
export BACKFEED_ACTIVITYPUB=true BACKFEED_PUBLIC_URL=$BACKFEED BACKFEED_ADMIN_TOKEN=$TOKEN
say "starting backfeed on $BACKFEED…"
start_backfeed "$BF_PORT"
[[ $(curl -s -o /dev/null -w '%{http_code}' -H 'accept: application/activity+json' "$BACKFEED/ap/actor") == 200 ]] \
    || die "backfeed does not serve its actor: is ActivityPub on? $(tail -3 "$WORK/backfeed.err")"

# --- the fake fediverse ---------------------------------------------------------
say "starting a fake fediverse: $SERVERS servers, $USERS actors…"
"${AP[@]}" fediverse --backfeed "$BACKFEED" --servers "$SERVERS" --users "$USERS" \
    --port-file "$WORK/fediverse.port" >"$WORK/fediverse.out" 2>"$WORK/fediverse.err" &
PIDS+=("$!")
for _ in $(seq 100); do [[ -s "$WORK/fediverse.port" ]] && break; sleep 0.05; done
[[ -s "$WORK/fediverse.port" ]] || die "the fake fediverse did not start: $(tail -5 "$WORK/fediverse.err")"
FED_PORT=$(<"$WORK/fediverse.port")
COMMON=(--backfeed "$BACKFEED" --port "$FED_PORT" --servers "$SERVERS")

# CPU seconds backfeed has used (user + system).
cpu_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$BF_PID/stat"
}
# Runs activitypub.py with the arguments given into $WORK/$1.json, and
# backfeed's CPU seconds during it into $WORK/$1.cpu.
phase() {
    local name=$1 before after
    shift
    before=$(cpu_seconds)
    "${AP[@]}" "$@" >"$WORK/$name.json" 2>"$WORK/$name.err" \
        || die "phase $name failed: $(tail -5 "$WORK/$name.err")"
    after=$(cpu_seconds)
    python3 -c "print(round($after - $before, 2))" >"$WORK/$name.cpu"
    check_backfeed_alive
}

if [[ -x "$CRYPTO_COST" ]]; then
    say "timing RSA signing and verification in this build…"
    "$CRYPTO_COST" 200 >"$WORK/crypto.json"
fi
LOAD_BEFORE=$(load_average)
say "phase 1: $USERS signed Follows (each a first sight: one actor fetch) over $CONCURRENCY connections…"
phase follow fire "${COMMON[@]}" --users "$USERS" --kind follow --concurrency "$CONCURRENCY"
say "phase 2: $ACTIVITIES signed Likes (keys cached) over $CONCURRENCY connections…"
phase like fire "${COMMON[@]}" --users "$USERS" --kind like --count "$ACTIVITIES" --concurrency "$CONCURRENCY"
say "phase 3: publishing $POSTS posts to the followers on $SERVERS servers…"
phase publish publish "${COMMON[@]}" --posts "$POSTS" --token "$TOKEN" --run fast
if ((INBOX_DELAY_MS > 0)); then
    say "phase 4: publishing $POSTS posts, every inbox answering after $INBOX_DELAY_MS ms…"
    curl -s -f -o /dev/null -X POST "http://127.0.0.1:$FED_PORT/_delay?ms=$INBOX_DELAY_MS" \
        || die "the fake fediverse refused /_delay"
    phase slow publish "${COMMON[@]}" --posts "$POSTS" --token "$TOKEN" --run slow
fi
if ((DEAD_SERVERS > 0)); then
    say "phase 5: publishing $DEAD_POSTS posts, $DEAD_SERVERS of the servers never answering…"
    curl -s -f -o /dev/null -X POST "http://127.0.0.1:$FED_PORT/_delay?ms=0" \
        && curl -s -f -o /dev/null -X POST "http://127.0.0.1:$FED_PORT/_dead?n=$DEAD_SERVERS" \
        || die "the fake fediverse refused /_dead"
    phase dead publish "${COMMON[@]}" --posts "$DEAD_POSTS" --token "$TOKEN" --run dead --dead "$DEAD_SERVERS"
fi
LOAD_AFTER=$(load_average)

python3 - "$WORK" "$SERVERS" "$USERS" "$INBOX_DELAY_MS" "$LOAD_BEFORE" "$LOAD_AFTER" <<'EOF'
import json, os, sys
from report import cpu_model, print_backfeed_stderr
work, servers, users, delay = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def load(name):
    with open(f"{work}/{name}.json") as f:
        data = json.load(f)
    with open(f"{work}/{name}.cpu") as f:
        data["cpu"] = float(f.read())
    return data
problems = []
follow, like, publish = load("follow"), load("like"), load("publish")
slow = load("slow") if os.path.exists(f"{work}/slow.json") else None
dead = load("dead") if os.path.exists(f"{work}/dead.json") else None
W = 26

def inbox(label, r):
    ok = r["statuses"].get("202", 0)
    print(f"{label:<{W}}{ok} of {r['requests']} answered 202 in {r['seconds']:.2f} s = "
          f"{r['accepted_per_second']:.0f} verified/s  (p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, "
          f"{r['concurrency']} connections)")
    others = {k: v for k, v in r["statuses"].items() if k != "202"}
    if others or r["errors"]:
        print(f"{'':<{W}}other answers {others}, connection errors {r['errors']}")
        problems.append(f"{label.strip()}: answers other than 202: {others} {r['errors']}")
    if r["processed_seconds"] is not None:
        print(f"{'':<{W}}queue: {r['processed']} processed {r['processed_seconds']:.2f} s after the first POST "
              f"= {r['processed'] / r['processed_seconds']:.0f}/s")
    else:
        print(f"{'':<{W}}queue: only {r['processed']} of {ok} processed when the wait ended")
        problems.append(f"{label.strip()}: the queue did not process every activity")
    print(f"{'':<{W}}backfeed CPU {r['cpu']:.2f} s = {r['cpu'] * 1000 / max(r['requests'], 1):.2f} ms per activity; "
          f"the load's own CPU while firing {r['client_cpu_seconds']:.2f} s (signed beforehand in {r['sign_seconds']:.1f} s)")

inbox("inbox, first sight", follow)
print(f"{'':<{W}}{follow['actor_fetches']} actor fetches, {follow['followers']} followers, "
      f"{follow['accepts']} Accepts delivered "
      + (f"(the last {follow['accepts_delivered_seconds']:.2f} s after the first Follow), " if follow["accepts_delivered_seconds"] else "")
      + f"paths {follow['accept_paths']}")
if follow["followers"] != users or follow["accepts"] != users or follow["accept_max_per_inbox"] != 1:
    problems.append(f"follow: expected {users} followers and one Accept each, got {follow['followers']} "
                    f"followers, {follow['accepts']} Accepts (at most {follow['accept_max_per_inbox']} per inbox)")
inbox("inbox, keys cached", like)

def deliveries(label, r):
    servers = f"{r['servers'] - r['dead']} answering servers" if r["dead"] else f"{r['servers']} servers"
    print(f"{label:<{W}}{r['deliveries']} of {r['expected']} Creates ({r['posts']} posts × {servers}) "
          f"in {r['last_delivery_seconds']:.2f} s = {r['per_second']:.0f} deliveries/s")
    print(f"{'':<{W}}publish answered after {r['scan_seconds']:.2f} s; first delivery at "
          f"{r['first_delivery_seconds']:.2f} s; each post at each server once: "
          f"{'yes' if r['each_post_each_server_once'] else 'NO'}; signatures that failed: {r['bad_signatures'] or 'none'}")
    print(f"{'':<{W}}backfeed CPU {r['cpu']:.2f} s = {r['cpu'] * 1000 / max(r['deliveries'], 1):.2f} ms per delivery; "
          f"outcomes {r['delivery_outcomes']}")
    i, d = r["status_ms_idle"], r["status_ms_delivering"]
    print(f"{'':<{W}}GET /status meanwhile: p50 {d['p50']} ms, p99 {d['p99']} ms, max {d['max']} ms "
          f"(before: p50 {i['p50']} ms, max {i['max']} ms)")
    if not r["each_post_each_server_once"] or r["deliveries"] != r["expected"]:
        problems.append(f"{label.strip()}: not one delivery per server per post")
    if r["bad_signatures"]:
        problems.append(f"{label.strip()}: deliveries whose signature did not verify: {r['bad_signatures']}")
    if r["report"].get("post_errors"):
        problems.append(f"{label.strip()}: publish errors {r['report']['post_errors']}")

deliveries("delivery, instant inbox", publish)
if slow:
    deliveries(f"delivery, {delay} ms inbox", slow)
    print(f"{'':<{W}}most POSTs in flight at one server at once: {slow['max_in_flight_per_server']}")
if dead:
    deliveries(f"delivery, {dead['dead']} hanging", dead)
    print(f"{'':<{W}}{dead['delivery_outcomes'].get('retry', 0):.0f} deliveries to the hanging servers timed out "
          f"(each held one of the job workers until the fetch timeout) by the time the last answering server had every post")
if os.path.exists(f"{work}/crypto.json"):
    c = json.load(open(f"{work}/crypto.json"))
    print(f"{'RSA-2048 in this build':<{W}}sign {c['sign_ms']:.2f} ms, verify {c['verify_ms']:.3f} ms "
          f"(examples/ap_crypto_cost: the rsa crate, as backfeed signs and verifies)")
print(f"{'setup':<{W}}SQLite store, {servers} fake servers on 127.0.0.2…, {users} followers, "
      f"load average {sys.argv[5]} before, {sys.argv[6]} after; {os.cpu_count()} × {cpu_model()}")
print_backfeed_stderr(f"{work}/backfeed.err", W)
for p in problems:
    print(f"PROBLEM: {p}")
sys.exit(1 if problems else 0)
EOF
