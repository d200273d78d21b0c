#!/usr/bin/env python3
"""Process start to first answered request in each runtime mode, and the
idle RSS after it: the socket server, AWS Lambda (against a minimal fake of
the Lambda Runtime API), OpenWhisk ActionLoop (stdin and file descriptor 3)
and the OpenWhisk action proxy (/init + /run over HTTP).

Usage: serverless_start.py --bin BACKFEED --work DIR [--runs N]
Prints one JSON object: per mode the start times (ms), their median and the
idle RSS (kB) one second after the first answer. The request answered is
`GET /status` in every mode; each start gets a new SQLite database.
"""

import argparse
import http.server
import json
import os
import select
import socket
import statistics
import subprocess
import threading
import time
import urllib.request

STATUS_EVENT_V2 = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/status",
    "rawQueryString": "",
    "headers": {"host": "abc.lambda-url.us-east-1.on.aws", "accept": "application/json"},
    "requestContext": {
        "accountId": "anonymous",
        "apiId": "abc",
        "domainName": "abc.lambda-url.us-east-1.on.aws",
        "domainPrefix": "abc",
        "http": {
            "method": "GET",
            "path": "/status",
            "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.9",
            "userAgent": "bench",
        },
        "requestId": "bench-request",
        "routeKey": "$default",
        "stage": "$default",
        "time": "22/Nov/2026:12:00:00 +0000",
        "timeEpoch": 1795348800000,
    },
    "isBase64Encoded": False,
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def base_env(work, n):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": f"sqlite://{work}/start-{n}.db",
        "BACKFEED_LOG": "warn",
    }
    return env


def finish(proc):
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def idle_rss(proc):
    time.sleep(1.0)
    return rss_kb(proc.pid)


# --- the socket server --------------------------------------------------------
def start_server(binary, env):
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    request = b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    wait_for_200(proc, port, request)
    return proc, (time.perf_counter() - t0) * 1000


def wait_for_200(proc, port, request):
    """Sends `request` to the port in a tight loop until it answers 200."""
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(request)
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"{' '.join(proc.args)} exited with {proc.returncode}")
            time.sleep(0.0005)


# --- Lambda -------------------------------------------------------------------
class RuntimeApi(http.server.BaseHTTPRequestHandler):
    """GET …/invocation/next hands out one event; POST …/response ends it."""

    protocol_version = "HTTP/1.1"
    event = None
    answered = None
    served = False

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.endswith("/runtime/invocation/next") and not RuntimeApi.served:
            RuntimeApi.served = True
            body = json.dumps(RuntimeApi.event).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Lambda-Runtime-Aws-Request-Id", "bench-1")
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                             "arn:aws:lambda:us-east-1:123456789012:function:backfeed")
            self.send_header("Lambda-Runtime-Trace-Id", "Root=1-bench")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            # A second /next: hold it, as Lambda freezes the function here.
            time.sleep(30)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        if RuntimeApi.answered is not None:
            RuntimeApi.answered.put((self.path, body, time.perf_counter()))


def start_lambda(binary, env):
    import queue

    RuntimeApi.event = STATUS_EVENT_V2
    RuntimeApi.served = False
    RuntimeApi.answered = queue.Queue()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(env,
               AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}",
               AWS_LAMBDA_FUNCTION_NAME="backfeed",
               AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
               AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
               AWS_REGION="us-east-1")
    t0 = time.perf_counter()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    path, body, t1 = RuntimeApi.answered.get(timeout=30)
    if not path.endswith("/response") or json.loads(body).get("statusCode") != 200:
        raise SystemExit(f"Lambda answered {path}: {body[:300]!r}")
    return proc, (t1 - t0) * 1000, server


# --- OpenWhisk ActionLoop -------------------------------------------------------
def start_action_loop(binary, env):
    read_fd, write_fd = os.pipe()
    activation = {
        "value": {"__ow_method": "get", "__ow_path": "/status", "__ow_headers": {}},
        "action_name": "/ns/backfeed", "activation_id": "bench", "namespace": "ns",
        "deadline": str(int(time.time() * 1000) + 60_000),
    }
    t0 = time.perf_counter()
    proc = subprocess.Popen([binary, "openwhisk"], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            pass_fds=(write_fd, 3),
                            preexec_fn=lambda: os.dup2(write_fd, 3))
    os.close(write_fd)
    proc.stdin.write((json.dumps(activation) + "\n").encode())
    proc.stdin.flush()
    line = b""
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([read_fd], [], [], 30)
        if not ready:
            raise SystemExit("no ActionLoop result within 30 s")
        chunk = os.read(read_fd, 65536)
        if not chunk:
            raise SystemExit(f"fd 3 closed; exit {proc.poll()}")
        line += chunk
    t1 = time.perf_counter()
    result = json.loads(line)
    if result.get("statusCode") != 200:
        raise SystemExit(f"ActionLoop answered {line[:300]!r}")
    proc._bench_fd = read_fd  # closed by the caller's finish
    return proc, (t1 - t0) * 1000


# --- OpenWhisk action proxy -------------------------------------------------------
def start_action_proxy(binary, env):
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([binary, "openwhisk", "--http", "--listen", f"127.0.0.1:{port}"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run = json.dumps({"value": {"__ow_method": "get", "__ow_path": "/status", "__ow_headers": {}},
                      "activation_id": "bench", "action_name": "/ns/backfeed", "namespace": "ns",
                      "deadline": str(int(time.time() * 1000) + 60_000)}).encode()
    request = (b"POST /run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Connection: close\r\nContent-Length: " + str(len(run)).encode() + b"\r\n\r\n" + run)
    wait_for_200(proc, port, request)
    return proc, (time.perf_counter() - t0) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    results = {}
    n = 0
    for mode in ("server", "lambda", "openwhisk-actionloop", "openwhisk-http"):
        starts, rss = [], None
        for run in range(args.runs):
            n += 1
            env = base_env(args.work, n)
            extra = None
            if mode == "server":
                proc, ms = start_server(args.bin, env)
            elif mode == "lambda":
                proc, ms, extra = start_lambda(args.bin, env)
            elif mode == "openwhisk-actionloop":
                proc, ms = start_action_loop(args.bin, env)
            else:
                proc, ms = start_action_proxy(args.bin, env)
            starts.append(round(ms, 2))
            if run == 0:
                rss = idle_rss(proc)
            finish(proc)
            if extra is not None:
                extra.shutdown()
            fd = getattr(proc, "_bench_fd", None)
            if fd is not None:
                os.close(fd)
        results[mode] = {"starts_ms": starts, "median_ms": round(statistics.median(starts), 2),
                         "idle_rss_kb": rss}
    print(json.dumps(results))


if __name__ == "__main__":
    main()
