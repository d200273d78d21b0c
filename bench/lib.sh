# shellcheck shell=bash
# Shared pieces of the benchmark scripts (lookup.sh, webmention.sh,
# comments.sh): sourced, never run. The scripts set `set -euo pipefail` and the
# wrk settings THREADS and CONNECTIONS before calling into it. See
# bench/README.md.
#
# Globals it sets: BENCH_DIR, ROOT, BIN, NGINX, WORK, PIDS, BF_PID, UP_PORT,
# UPSTREAM, BF_WARMUP, BF_RESULTS, NG_RESULTS, SAMPLER.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
BENCH_NAME=$(basename "$0")
# The summaries import report.py.
export PYTHONPATH="$BENCH_DIR${PYTHONPATH:+:$PYTHONPATH}"

# Progress and errors go to stderr; the summary alone goes to stdout.
say() { printf '%s\n' "$*" >&2; }
die() { say "$BENCH_NAME: $*"; exit 1; }

# --- clean-up: every process started here, and the temp dir ---------------
PIDS=()
WORK=""
POLICY_RC_D_ADDED=""

# Stops every process in PIDS (TERM, then KILL after 5 s) and removes $WORK.
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
    if [[ -n "$WORK" && -d "$WORK" ]]; then
        rm -rf "$WORK"
    fi
    restore_policy_rc_d
}

# Removes the policy-rc.d that ensure_tools put there, if it did.
restore_policy_rc_d() {
    if [[ -n "$POLICY_RC_D_ADDED" ]]; then
        rm -f /usr/sbin/policy-rc.d
        POLICY_RC_D_ADDED=""
    fi
}

# Runs cleanup on every exit, Ctrl-C and SIGTERM included.
install_cleanup_traps() {
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# --- tools -----------------------------------------------------------------
# Sets NGINX; installs wrk, nginx and curl from Debian when missing (as root).
# Arguments: python3 modules that must be importable.
ensure_tools() {
    local missing=() pkgs=() m
    NGINX=$(command -v nginx || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } || true)
    command -v wrk >/dev/null || missing+=(wrk)
    [[ -n "$NGINX" ]] || missing+=(nginx)
    command -v curl >/dev/null || missing+=(curl)
    command -v python3 >/dev/null || die "python3 is needed"
    for m in "$@"; do
        python3 -c "import $m" 2>/dev/null || die "python3 needs its $m module"
    done
    ((${#missing[@]})) || return 0
    [[ $EUID -eq 0 ]] || die "missing ${missing[*]}; install them (apt-get install wrk nginx-light curl) or run as root"
    say "installing ${missing[*]} from Debian…"
    # Do not let the nginx package start a system-wide server on port 80.
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        POLICY_RC_D_ADDED=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    for m in "${missing[@]}"; do
        if [[ $m == nginx ]]; then
            if apt-cache policy nginx-light 2>/dev/null | grep -q 'Candidate: [0-9]'; then
                pkgs+=(nginx-light)
            else
                pkgs+=(nginx)
            fi
        else
            pkgs+=("$m")
        fi
    done
    apt-get install -y -qq "${pkgs[@]}" >&2
    restore_policy_rc_d
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
    [[ -x "$NGINX" ]] || die "nginx did not install"
}

# Sets BIN: $BACKFEED_BIN, or a release build of the crate (with the cargo
# features in $BUILD_FEATURES: a benchmark of PostgreSQL sets `postgres`).
find_backfeed_bin() {
    local target_dir
    if [[ -n "${BACKFEED_BIN:-}" ]]; then
        BIN=$BACKFEED_BIN
    else
        say "building backfeed (release${BUILD_FEATURES:+, features $BUILD_FEATURES})…"
        (cd "$ROOT" && cargo build --release ${BUILD_FEATURES:+--features "$BUILD_FEATURES"} --bin backfeed >&2)
        target_dir=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps \
            | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
        BIN=$target_dir/release/backfeed
    fi
    [[ -x "$BIN" ]] || die "no backfeed binary at $BIN"
}

# Everything before the measuring: traps, tools (arguments as for
# ensure_tools), the binary, and a fresh $WORK.
# shellcheck disable=SC2120  # the arguments are optional
bench_setup() {
    install_cleanup_traps
    ensure_tools "$@"
    find_backfeed_bin
    WORK=$(mktemp -d /tmp/backfeed-bench.XXXXXX)
}

# --- small helpers ---------------------------------------------------------
# Prints a free TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits until GET $1 answers 200 (max 10 s).
wait_ok() {
    local url=$1
    for _ in $(seq 200); do
        if [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true) == 200 ]]; then
            return 0
        fi
        sleep 0.05
    done
    die "no 200 from $url within 10 s"
}

# Prints $1 percent-encoded for a query string (nothing left unescaped).
urlencode() {
    python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"
}

# Prints the 1, 5 and 15 minute load averages.
load_average() {
    cut -d' ' -f1-3 /proc/loadavg
}

# --- fake Mastodon + blog --------------------------------------------------
# Starts fake_upstream.py (arguments passed on), sets UP_PORT and UPSTREAM,
# and exports the MASTODON_* settings and BLOG_POST_PATTERN that point
# backfeed at it (user "bench", posts under $UPSTREAM/posts/).
# shellcheck disable=SC2120  # the arguments are optional
start_fake_mastodon() {
    python3 "$BENCH_DIR/fake_upstream.py" --port 0 --port-file "$WORK/upstream.port" "$@" \
        >"$WORK/upstream.out" 2>"$WORK/upstream.err" &
    PIDS+=("$!")
    for _ in $(seq 100); do [[ -s "$WORK/upstream.port" ]] && break; sleep 0.05; done
    [[ -s "$WORK/upstream.port" ]] || die "the fake upstream did not start: $(cat "$WORK/upstream.err")"
    UP_PORT=$(<"$WORK/upstream.port")
    UPSTREAM=http://127.0.0.1:$UP_PORT
    export MASTODON_HOST=$UPSTREAM
    export MASTODON_USER=bench
    export MASTODON_OAUTH_TOKEN=x
    export BLOG_POST_PATTERN="^http://127\\.0\\.0\\.1:$UP_PORT/posts/"
}

# --- backfeed ----------------------------------------------------------------
# Exports what every run needs (private addresses allowed, warn logging, the
# SQLite database $WORK/$1) and unsets the caller's settings that would change
# the figures: the common ones plus the names given after $1.
backfeed_env() {
    export BACKFEED_ALLOW_PRIVATE_ADDRESSES=true
    export BACKFEED_LOG=warn
    export DATABASE_URL=sqlite://$WORK/$1
    shift
    unset BACKFEED_CONFIG BACKFEED_LISTEN PORT BACKFEED_CORS_ORIGINS RUST_LOG BACKFEED_LOG_FORMAT "$@"
}

# Starts `backfeed serve` on 127.0.0.1:$1 (output in $WORK/backfeed.{out,err}),
# sets BF_PID and waits for /status.
start_backfeed() {
    "$BIN" serve --listen "127.0.0.1:$1" >"$WORK/backfeed.out" 2>"$WORK/backfeed.err" &
    BF_PID=$!
    PIDS+=("$BF_PID")
    wait_ok "http://127.0.0.1:$1/status"
}

# Prints field $1 (VmRSS, VmHWM: kB; Threads) of backfeed's /proc status.
rss_kb() { local k v _; while read -r k v _; do [[ $k == "$1:" ]] && { echo "$v"; return; }; done <"/proc/$BF_PID/status"; }

# Dies, with the end of backfeed's stderr, unless backfeed still runs.
check_backfeed_alive() {
    kill -0 "$BF_PID" 2>/dev/null || die "backfeed died under load: $(tail -5 "$WORK/backfeed.err")"
}

# Appends backfeed's VmRSS to $1 every 100 ms while backfeed runs.
sample_rss() {
    while kill -0 "$BF_PID" 2>/dev/null; do
        rss_kb VmRSS >>"$1" || true
        sleep 0.1
    done
}

# Starts sample_rss into $WORK/$1 in the background (sets SAMPLER).
start_rss_sampler() {
    : >>"$WORK/$1"
    sample_rss "$WORK/$1" &
    SAMPLER=$!
    PIDS+=("$SAMPLER")
}

# Stops the sampler start_rss_sampler started.
stop_rss_sampler() {
    kill "$SAMPLER" 2>/dev/null || true
    wait "$SAMPLER" 2>/dev/null || true
}

# --- nginx -------------------------------------------------------------------
# Writes $WORK/nginx/nginx.conf: one nginx in the foreground, workers as
# nobody when run as root, no access log, every path inside $WORK/nginx. The
# server blocks come on stdin; $1, when given, is extra lines for the http
# block.
# shellcheck disable=SC2120  # $1 is optional
write_nginx_conf() {
    local user=""
    if [[ $EUID -eq 0 ]]; then
        user="user nobody nogroup;"
        getent group nogroup >/dev/null || user="user nobody;"
    fi
    mkdir -p "$WORK/nginx/logs" "$WORK/nginx/tmp"
    {
        cat <<EOF
$user
worker_processes auto;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    server_tokens off;
    keepalive_requests 1000000;
EOF
        [[ -z "${1:-}" ]] || printf '%s\n' "$1"
        cat <<EOF
    client_body_temp_path $WORK/nginx/tmp/body;
    proxy_temp_path $WORK/nginx/tmp/proxy;
    fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
    scgi_temp_path $WORK/nginx/tmp/scgi;
EOF
        cat
        printf '}\n'
    } >"$WORK/nginx/nginx.conf"
}

# Starts nginx with $WORK/nginx/nginx.conf in the background. Arguments: the
# directories it serves files from, made readable for workers that run as
# nobody.
start_nginx() {
    local dir
    if [[ $EUID -eq 0 ]]; then
        chmod 755 "$WORK" "$WORK/nginx" "$@"
        for dir in "$@"; do
            chmod 644 "$dir"/*
        done
    fi
    "$NGINX" -p "$WORK/nginx" -e "$WORK/nginx/logs/error.log" -c "$WORK/nginx/nginx.conf" \
        >"$WORK/nginx/logs/stdout" 2>&1 &
    PIDS+=("$!")
}

# --- wrk -----------------------------------------------------------------------
# Runs wrk for $1 with the arguments after it (URL, script, …), prints
# "req/s non2xx errors p50 p99 requests" (latencies in ms).
run_wrk() {
    local length=$1 out
    shift
    out=$(timeout 300 wrk -t"$THREADS" -c"$CONNECTIONS" -d"$length" --latency "$@")
    printf '%s\n' "$out" >>"$WORK/wrk.log"
    python3 -c '
import re, sys
out = sys.stdin.read()
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m|h)$", v)
    if not m:
        sys.exit(f"unreadable wrk latency {v!r} in:\n{out}")
    n, u = m.groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000, "h": 3600000}[u]
rps = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)
non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
p50 = re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1)
p99 = re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1)
total = re.search(r"(\d+) requests in", out).group(1)
print(rps, non2xx.group(1) if non2xx else 0, sum(map(int, errs.groups())) if errs else 0,
      round(ms(p50), 3), round(ms(p99), 3), total)
' <<<"$out"
}

# Warms backfeed ($2) and nginx ($3) up with a $WARMUP wrk run each; backfeed's
# figures go to BF_WARMUP. $1 prefixes the progress line.
warm_up_both() {
    say "${1}warming up both servers ($WARMUP each)…"
    # shellcheck disable=SC2034  # read by the scripts
    BF_WARMUP=$(run_wrk "$WARMUP" "$2")
    run_wrk "$WARMUP" "$3" >/dev/null
}

# Runs ROUNDS alternating wrk runs of DURATION, backfeed ($2) then nginx ($3);
# the figures go to BF_RESULTS and NG_RESULTS. $1 prefixes the progress lines;
# $4, when given, is the file in $WORK that backfeed's RSS is sampled into
# during its runs.
alternate_rounds() {
    local prefix=$1 bf_url=$2 ng_url=$3 samples=${4:-} round
    BF_RESULTS=()
    NG_RESULTS=()
    for ((round = 1; round <= ROUNDS; round++)); do
        say "${prefix}round $round/$ROUNDS: backfeed ($DURATION)…"
        [[ -z "$samples" ]] || start_rss_sampler "$samples"
        BF_RESULTS+=("$(run_wrk "$DURATION" "$bf_url")")
        [[ -z "$samples" ]] || stop_rss_sampler
        say "  ${BF_RESULTS[-1]}"
        say "${prefix}round $round/$ROUNDS: nginx ($DURATION)…"
        NG_RESULTS+=("$(run_wrk "$DURATION" "$ng_url")")
        say "  ${NG_RESULTS[-1]}"
    done
}

# --- the end -------------------------------------------------------------------
# Stops everything (cleanup) and warns about any of the ports given that
# something still listens on.
stop_all_and_check_ports() {
    local p
    cleanup
    for p in "$@"; do
        if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            say "warning: something still listens on 127.0.0.1:$p"
        fi
    done
}

# --- real stores: PostgreSQL and the S3 API (moto) ---------------------------
# Starts a throwaway PostgreSQL from Debian's binaries in $WORK/pg on a free
# loopback port, with its default durability settings (fsync on), as the
# postgres user when run as root (PostgreSQL refuses root). Sets PG_PORT and
# PG_BIN. Installs the postgresql package when missing (as root).
start_postgres() {
    local owner=() pg_user=postgres
    PG_BIN=$(newest_postgres_bin)
    if [[ -z "$PG_BIN" ]]; then
        [[ $EUID -eq 0 ]] || die "PostgreSQL is missing; apt-get install postgresql"
        say "installing postgresql from Debian…"
        [[ -e /usr/sbin/policy-rc.d ]] || {
            printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
            chmod +x /usr/sbin/policy-rc.d
            POLICY_RC_D_ADDED=1
        }
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
        restore_policy_rc_d
        PG_BIN=$(newest_postgres_bin)
    fi
    PG_PORT=$(free_port)
    mkdir -p "$WORK/pg"
    if [[ $EUID -eq 0 ]]; then
        chmod 755 "$WORK"
        chown "$pg_user:" "$WORK/pg"
        owner=(runuser -u "$pg_user" --)
    fi
    "${owner[@]}" "$PG_BIN/initdb" -D "$WORK/pg/data" -U postgres --auth=trust -E UTF8 \
        >"$WORK/pg/initdb.log" 2>&1 || die "initdb failed: $(tail -5 "$WORK/pg/initdb.log")"
    "${owner[@]}" "$PG_BIN/postgres" -D "$WORK/pg/data" -k "$WORK/pg" -p "$PG_PORT" \
        -c listen_addresses=127.0.0.1 -c max_connections=200 >"$WORK/pg/postgres.log" 2>&1 &
    PIDS+=("$!")
    for _ in $(seq 300); do
        "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && return 0
        sleep 0.1
    done
    die "PostgreSQL did not start: $(tail -5 "$WORK/pg/postgres.log")"
}

# Prints the bin directory of the newest PostgreSQL installed, if any.
newest_postgres_bin() {
    printf '%s\n' /usr/lib/postgresql/*/bin | grep -v '\*' | sort -V | tail -1
}

# Creates database $1 on the server start_postgres started; prints its URL.
postgres_database() {
    "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$1" >&2
    echo "postgres://postgres@127.0.0.1:$PG_PORT/$1"
}

# Starts moto's S3 server from the venv the tests use ($ROOT/target/py-moto,
# created from tests/s3/requirements.txt when missing) on a free loopback
# port; sets S3_ENDPOINT and exports the credentials it accepts.
start_moto() {
    local venv=$ROOT/target/py-moto port
    if [[ ! -x "$venv/bin/moto_server" ]]; then
        say "installing moto into $venv (tests/s3/requirements.txt)…"
        python3 -m venv "$venv" >&2 || die "python3 -m venv failed (apt-get install python3-venv)"
        "$venv/bin/python" -m pip install -q -r "$ROOT/tests/s3/requirements.txt" >&2 \
            || die "pip could not install moto"
    fi
    port=$(free_port)
    "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$WORK/moto.log" 2>&1 &
    PIDS+=("$!")
    S3_ENDPOINT=http://127.0.0.1:$port
    export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench
    for _ in $(seq 300); do
        curl -s -o /dev/null --max-time 1 "$S3_ENDPOINT/" && return 0
        sleep 0.1
    done
    die "moto did not start: $(tail -5 "$WORK/moto.log")"
}

# Creates bucket $1 on moto; prints the DATABASE_URL of prefix $2 in it.
moto_bucket() {
    curl -s -f -o /dev/null -X PUT "$S3_ENDPOINT/$1" || die "moto refused bucket $1"
    echo "s3://$1/${2:-}?endpoint=$S3_ENDPOINT&region=us-east-1"
}
