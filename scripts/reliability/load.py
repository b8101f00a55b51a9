#!/usr/bin/env python3
"""Load and acknowledged-write recorder for the reliability scripts (Python stdlib only).

A target is a JSON file (scripts/reliability/targets/*.json) that says how to log in,
which request writes and how to read a write back; see scripts/reliability/README.md.

    load.py token  --target T --base URL               print an access token
    load.py run    --target T --base URL [options]     steady load; prints a JSON summary
    load.py verify --target T --base URL --acks FILE   read every acknowledged write back

`run` sends writes (and reads, with --read-ratio) from --connections threads, each on
its own keep-alive connection (or a new one per request with --close), for --duration
seconds or until SIGINT/SIGTERM. Every write answered with 2xx is appended to --acks as
one line `<id>\t<body-marker>` before the thread sends anything else, so the file lists
every acknowledged write even when the target is killed. The summary counts answers by
status, transport failures by kind, latencies (p50/p99/max, per phase when --phases
names the marks of a phase file), 503s that lacked Retry-After, and answers slower than
--slow seconds.
"""

import argparse
import http.client
import json
import os
import random
import signal
import socket
import string
import sys
import threading
import time
import urllib.parse

# ---- target -------------------------------------------------------------------------------


def load_target(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def fill(value, **names):
    """Replaces {name} in every string of a JSON value."""
    if isinstance(value, str):
        for key, sub in names.items():
            value = value.replace("{" + key + "}", str(sub))
        return value
    if isinstance(value, list):
        return [fill(v, **names) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, **names) for k, v in value.items()}
    return value


def pick(document, dotted):
    """document["a"]["b"] for "a.b"."""
    for part in dotted.split("."):
        document = document[part]
    return document


class Client:
    """One HTTP/1.1 connection to the target (reopened when it breaks)."""

    def __init__(self, base, timeout, close=False):
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname, url.port or 80
        self.timeout, self.close = timeout, close
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        """(status, headers, body bytes); raises OSError / http.client errors."""
        headers = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        if self.close:
            headers["connection"] = "close"
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            payload = response.read()
        except BaseException:
            self.reset()
            raise
        if self.close or response.will_close:
            self.reset()
        return response.status, response.headers, payload

    def reset(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def token(target, base, timeout=30.0):
    """Registers a fresh user (or logs in, per the target) and returns the auth header."""
    auth = target.get("auth")
    if not auth:
        return {}
    user = "rel" + "".join(random.choices(string.ascii_lowercase + string.digits, k=10))
    client = Client(base, timeout)
    status, _, payload = client.request("POST", auth["path"], fill(auth["body"], user=user))
    if status // 100 != 2:
        raise SystemExit(f"authentication failed: {status} {payload[:300]!r}")
    value = pick(json.loads(payload), auth["token"])
    return {"authorization": f"{auth.get('scheme', 'Bearer')} {value}"}


# ---- run ----------------------------------------------------------------------------------


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.by_status = {}
        self.failures = {}
        self.latencies = []  # (start time, seconds, kind, outcome: status or failure name)
        self.missing_retry_after = 0
        self.slow = 0
        self.sent = 0
        self.writes_acked = 0
        self.started_after_stop = 0

    def answer(self, start, seconds, kind, status, headers, slow):
        with self.lock:
            self.sent += 1
            self.by_status[status] = self.by_status.get(status, 0) + 1
            self.latencies.append((start, seconds, kind, status))
            if status == 503 and headers.get("retry-after") is None:
                self.missing_retry_after += 1
            if seconds > slow:
                self.slow += 1

    def failure(self, start, seconds, name, slow):
        with self.lock:
            self.sent += 1
            self.failures[name] = self.failures.get(name, 0) + 1
            self.latencies.append((start, seconds, "failure", name))
            if seconds > slow:
                self.slow += 1


def failure_name(error):
    if isinstance(error, ConnectionRefusedError):
        return "connection_refused"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(error, ConnectionResetError):
        return "connection_reset"
    if isinstance(error, http.client.RemoteDisconnected):
        return "closed_without_answer"
    return type(error).__name__


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(p / 100 * len(values)))], 4)


def summarize(values):
    return {
        "count": len(values),
        "p50": percentile(values, 50),
        "p99": percentile(values, 99),
        "max": round(max(values), 4) if values else None,
    }


def run(args):
    target = load_target(args.target)
    auth = {"authorization": args.token} if args.token else token(target, args.base)
    write, read = target["write"], target.get("read")
    stats = Stats()
    stop = threading.Event()
    acks = open(args.acks, "a", encoding="utf-8") if args.acks else None
    acks_lock = threading.Lock()
    known_ids = []  # acknowledged ids, for reads
    interval = args.connections / args.rate if args.rate else 0.0

    def on_signal(_signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def worker(number):
        client = Client(args.base, args.timeout, args.close)
        rng = random.Random(args.seed * 1000 + number)
        sequence = 0
        next_at = time.monotonic() + rng.random() * interval
        while not stop.is_set():
            if interval and not args.cycle:
                delay = next_at - time.monotonic()
                if delay > 0:
                    if stop.wait(delay):
                        break
                next_at = max(next_at + interval, time.monotonic() - interval)
            if args.cycle:
                cycle(client, number, sequence, auth)
                sequence += 1
                continue
            reading = read and known_ids and rng.random() < args.read_ratio
            if reading:
                ident = known_ids[rng.randrange(len(known_ids))]
                method, path, body, kind = "GET", fill(read["path"], id=ident), None, "read"
            else:
                sequence += 1
                marker = f"{args.run_id}-{number}-{sequence}"
                method = write.get("method", "POST")
                path = fill(write["path"], n=marker)
                body, kind = fill(write["body"], n=marker), "write"
            start = time.monotonic()
            try:
                status, headers, payload = client.request(method, path, body, auth)
            except Exception as error:  # noqa: BLE001 - every failure is counted by kind
                stats.failure(start, time.monotonic() - start, failure_name(error), args.slow)
                if not stop.is_set() and args.backoff:
                    stop.wait(args.backoff)
                continue
            seconds = time.monotonic() - start
            stats.answer(start, seconds, kind, status, headers, args.slow)
            if kind == "write" and status // 100 == 2:
                ident = pick(json.loads(payload), write["id"])
                with acks_lock:
                    stats.writes_acked += 1
                    if acks:
                        acks.write(f"{ident}\t{marker}\n")
                        acks.flush()
                    if len(known_ids) < 100_000:
                        known_ids.append(ident)
            if status >= 500 and args.backoff:
                stop.wait(args.backoff)

    def timed(client, kind, method, path, body, headers):
        start = time.monotonic()
        try:
            status, response_headers, payload = client.request(method, path, body, headers)
        except Exception as error:  # noqa: BLE001 - every failure is counted by kind
            stats.failure(start, time.monotonic() - start, failure_name(error), args.slow)
            return None, None
        stats.answer(start, time.monotonic() - start, kind, status, response_headers, args.slow)
        return status, payload

    def cycle(client, number, sequence, headers):
        """Create, read back, delete: steady load that keeps the data set small."""
        marker = f"{args.run_id}-{number}-{sequence}"
        next_at = time.monotonic() + (3 * interval if interval else 0)
        status, payload = timed(
            client, "write", write.get("method", "POST"), fill(write["path"], n=marker), fill(write["body"], n=marker), headers
        )
        if status is not None and status // 100 == 2:
            with acks_lock:
                stats.writes_acked += 1
            ident = pick(json.loads(payload), write["id"])
            timed(client, "read", "GET", fill(read["path"], id=ident), None, headers)
            timed(client, "delete", "DELETE", fill(target["delete"]["path"], id=ident), None, headers)
        delay = next_at - time.monotonic()
        if delay > 0:
            stop.wait(delay)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(args.connections)]
    began = time.monotonic()
    began_wall = time.time()
    for thread in threads:
        thread.start()
    deadline = began + args.duration if args.duration else None
    windows = []
    last_window = began
    while not stop.is_set():
        stop.wait(1.0 if not deadline else max(0.0, min(1.0, deadline - time.monotonic())))
        now = time.monotonic()
        if args.window and now - last_window >= args.window:
            with stats.lock:
                entries = [e for e in stats.latencies if last_window <= e[0] < now]
            recent = [e[1] for e in entries]
            errors = sum(1 for e in entries if e[2] == "failure" or e[3] >= 500)
            window = {"t": round(now - began), "requests": len(recent), "errors": errors, **summarize(recent)}
            if args.rss_pid:
                window["rss_kib"] = rss_kib(args.rss_pid)
            windows.append(window)
            print(json.dumps({"window": window}), file=sys.stderr, flush=True)
            last_window = now
        if deadline and now >= deadline:
            stop.set()
    for thread in threads:
        thread.join(args.timeout + 5)
    elapsed = time.monotonic() - began
    if acks:
        acks.close()

    summary = {
        "target": target.get("name", args.target),
        "seconds": round(elapsed, 1),
        "connections": args.connections,
        "requests": stats.sent,
        "per_second": round(stats.sent / elapsed, 1) if elapsed else None,
        "by_status": {str(k): v for k, v in sorted(stats.by_status.items())},
        "server_errors_5xx": sum(v for k, v in stats.by_status.items() if k >= 500),
        "transport_failures": stats.failures,
        "writes_acked": stats.writes_acked,
        "503_without_retry_after": stats.missing_retry_after,
        f"slower_than_{args.slow}s": stats.slow,
        "latency": summarize([e[1] for e in stats.latencies if e[2] != "failure"]),
        "started_at": began_wall,
    }
    if args.phases:
        summary["phases"] = phases(args.phases, began_wall, began, stats)
    if windows:
        summary["windows"] = windows
    print(json.dumps(summary, indent=1 if args.pretty else None))


def phases(path, began_wall, began, stats):
    """Counts per phase; the phase file has lines `<name> <unix time>` marking starts."""
    marks = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                name, at = line.split()
                marks.append((name, float(at) - began_wall + began))
    except FileNotFoundError:
        return {}
    marks.sort(key=lambda m: m[1])
    out = {}
    for i, (name, at) in enumerate(marks):
        end = marks[i + 1][1] if i + 1 < len(marks) else float("inf")
        entries = [e for e in stats.latencies if at <= e[0] < end]
        # Started before the mark, answered (or failed) after it: in flight at the mark.
        straddling = [e for e in stats.latencies if e[0] < at <= e[0] + e[1]]
        out[name] = {
            "requests": len(entries),
            "outcomes": count(e[3] for e in entries),
            "latency": summarize([e[1] for e in entries]),
            "in_flight_at_start": count(e[3] for e in straddling),
        }
    return out


def count(outcomes):
    out = {}
    for outcome in outcomes:
        out[str(outcome)] = out.get(str(outcome), 0) + 1
    return dict(sorted(out.items()))


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


# ---- verify -------------------------------------------------------------------------------


def verify(args):
    target = load_target(args.target)
    auth_header = {}
    if args.token:
        auth_header = {"authorization": args.token}
    read = target["read"]
    client = Client(args.base, args.timeout)
    acked = present = missing = other = 0
    examples = []
    with open(args.acks, encoding="utf-8") as f:
        lines = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    for ident, marker in lines:
        acked += 1
        path = fill(read["path"], id=ident)
        status, _, payload = client.request("GET", path, None, auth_header)
        if status == 200 and marker.encode() in payload:
            present += 1
        elif status == 404:
            missing += 1
            if len(examples) < 5:
                examples.append(ident)
        else:
            other += 1
            if len(examples) < 5:
                examples.append(f"{ident}: {status}")
    result = {"writes_acked": acked, "present": present, "missing": missing, "other": other}
    if examples:
        result["examples"] = examples
    print(json.dumps(result))
    return 0 if acked == present else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["token", "run", "verify"])
    parser.add_argument("--target", required=True, help="target JSON file")
    parser.add_argument("--base", required=True, help="base URL, e.g. http://127.0.0.1:3300")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds; 0 = until signalled")
    parser.add_argument("--rate", type=float, default=0.0, help="requests per second in all (0 = as fast as possible)")
    parser.add_argument("--read-ratio", type=float, default=0.0, help="share of reads of acknowledged writes")
    parser.add_argument("--acks", help="append acknowledged writes here")
    parser.add_argument("--token", help="the Authorization header value (default: register a user)")
    parser.add_argument("--timeout", type=float, default=30.0, help="client timeout per request, seconds")
    parser.add_argument("--slow", type=float, default=5.0, help="count answers slower than this")
    parser.add_argument("--backoff", type=float, default=0.0, help="pause after a failure or 5xx, seconds")
    parser.add_argument("--close", action="store_true", help="a new connection per request")
    parser.add_argument("--cycle", action="store_true", help="create, read back and delete (needs the target's delete)")
    parser.add_argument("--window", type=float, default=0.0, help="report a window every N seconds")
    parser.add_argument("--rss-pid", type=int, help="sample this process's RSS in each window")
    parser.add_argument("--phases", help="file of `<name> <unix time>` lines, for per-phase counts")
    parser.add_argument("--run-id", default=str(os.getpid()))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pretty", action="store_true")
    args = parser.parse_args()
    if args.command == "token":
        header = token(load_target(args.target), args.base)
        print(header.get("authorization", ""))
        return 0
    if args.command == "run":
        run(args)
        return 0
    return verify(args)


if __name__ == "__main__":
    sys.exit(main())
