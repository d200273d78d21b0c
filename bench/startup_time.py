#!/usr/bin/env python3
"""Measures process start -> first HTTP 200, over several fresh starts.

  startup_time.py --port N [--path /status] [--runs 5] [--db-dir DIR | --db FILE]
                  [--timeout 10] -- COMMAND [ARGS...]

For each run: note the time, spawn COMMAND (environment inherited), then poll
`GET PATH` on 127.0.0.1:N over raw sockets in a tight loop (no sleeping
between refused connections beyond 0.2 ms) until a response's status line
says 200; that instant minus the spawn instant is the figure. Then the
process gets SIGTERM and the time until it exits is noted as well.

--db-dir gives every run a new, empty SQLite file (DATABASE_URL is set to
sqlite://DIR/start-<n>.db: creation and migrations are included);
--db reuses one existing file for every run (DATABASE_URL=sqlite://FILE).

Prints one JSON object on stdout: {"starts_ms": [...], "median_ms": …,
"stops_ms": [...], "median_stop_ms": …}. Exits 1 if a start times out or the
process dies before answering (its stderr is shown).
"""

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def first_status_line(port, path, timeout):
    """One GET; the status code, or None when nothing is listening yet."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            data = b""
            while b"\r\n" not in data:
                chunk = s.recv(256)
                if not chunk:
                    break
                data += chunk
    except (ConnectionRefusedError, ConnectionResetError):
        return None
    line = data.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) >= 2 and line[1].isdigit() else -1


def one_start(cmd, env, port, path, timeout):
    err = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = t0 + timeout
        while True:
            status = first_status_line(port, path, timeout=2)
            if status == 200:
                started = (time.perf_counter() - t0) * 1000
                break
            if proc.poll() is not None or time.perf_counter() > deadline:
                err.seek(0)
                sys.stderr.write(err.read().decode("utf-8", "replace"))
                why = "exited" if proc.poll() is not None else "timed out"
                raise SystemExit(f"startup_time: the process {why} before a 200 (last status {status})")
            time.sleep(0.0002)
        t1 = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=timeout)
        stopped = (time.perf_counter() - t1) * 1000
        err.seek(0)
        log = err.read().decode("utf-8", "replace").strip()
        return started, stopped, log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        err.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/status")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=10.0)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--db-dir")
    group.add_argument("--db")
    parser.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("no command given")

    starts, stops, logs = [], [], []
    for n in range(args.runs):
        env = dict(os.environ)
        if args.db_dir:
            env["DATABASE_URL"] = f"sqlite://{os.path.join(args.db_dir, f'start-{n}.db')}"
        elif args.db:
            env["DATABASE_URL"] = f"sqlite://{args.db}"
        started, stopped, log = one_start(cmd, env, args.port, args.path, args.timeout)
        starts.append(round(started, 2))
        stops.append(round(stopped, 2))
        if log:
            logs.append(log)
    print(
        json.dumps(
            {
                "starts_ms": starts,
                "median_ms": round(statistics.median(starts), 2),
                "stops_ms": stops,
                "median_stop_ms": round(statistics.median(stops), 2),
                "stderr": logs,
            }
        )
    )


if __name__ == "__main__":
    main()
