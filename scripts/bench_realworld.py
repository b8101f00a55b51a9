#!/usr/bin/env python3
"""Benchmark RealWorld ("Conduit") backends with wrk, on loopback, in one run.

Driven by scripts/bench-realworld.sh, which starts the MongoDB-compatible server; run it
directly to attach to a server of your own. Python 3 standard library only.

For each target (a command that serves the RealWorld API under /api on 127.0.0.1:<port>):
start it on a fresh database, wait until it answers, seed it through the API (2 users,
one following the other, N articles with tags and comments), then run every scenario
with wrk, targets interleaved scenario by scenario so that both meet the same background
load. For each run it records req/s, p50/p99 latency, non-2xx answers, the server's CPU
time per request (utime + stime from /proc/<pid>/stat, all threads), the database
server's CPU time per request when its pid is known, the peak RSS sampled from
/proc/<pid>/status while the scenario ran, and the mean response size. It prints a
Markdown report and writes it to --out.

Unpaced, wrk keeps every connection busy, so each target serves as many requests as it
and the database can: CPU per request then also depends on throughput (a busier server
handles more requests per wake-up), and a target the database serves a little slower
looks dearer for it. --rate N paces wrk (a delay before each request on each connection)
so that every target serves about N requests/s, and --rate auto picks, per scenario, half
the slowest target's throughput in its warm-up: the like-for-like comparison. --turns K
measures each scenario K times per target, the targets taking turns, and reports the
mean with the spread of CPU per request; --pin runs the targets on the first CPU and wrk
on the others, so that the load generator never competes with the target for a core.

With --callgrind the targets run under valgrind's callgrind instead, and each scenario
sends --requests requests (a tenth for login) from Python over warmed keep-alive
connections; the counters are zeroed before and dumped after, and the report gives
instructions per request, which machine load does not change. --cache-sim adds valgrind's
cache and branch simulation: first-level cache misses and mispredicted branches per
request, the memory traffic that instruction counts miss. --env KEY=VALUE adds
configuration to the Flagstone targets (one layer off at a time, say).

Built-in targets (--targets, comma-separated):
  twin             the hand-written axum + MongoDB driver backend (package realworld-twin)
  realworld        Flagstone's realworld example on the MongoDB server
  embedded         Flagstone's realworld example on its embedded store, persisted to a file
  embedded-memory  Flagstone's realworld example on its in-memory embedded store
Any other backend: --custom 'NAME=COMMAND', where COMMAND is run with `sh -c 'exec ...'`
(so the pid measured is the server's, not a shell's) after replacing {port},
{mongodb_url} and {tmpdir}; PORT is also set in its environment. A custom target whose
command mentions {mongodb_url} counts as a MongoDB target for the ratio table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET = "bench-secret-bench-secret-bench-secret-0123456789"
PASSWORD = "bench password 1234"
TICKS = os.sysconf("SC_CLK_TCK")

SCENARIOS = ["list", "single", "user", "feed", "create", "login"]
SCENARIO_TITLES = {
    "list": "list 20 (GET /api/articles?limit=20)",
    "single": "single by slug (GET /api/articles/{slug})",
    "user": "current user (GET /api/user)",
    "feed": "feed 20 (GET /api/articles/feed?limit=20)",
    "create": "create article (POST /api/articles)",
    "login": "login (POST /api/users/login)",
}


def log(*args: object) -> None:
    print("bench:", *args, file=sys.stderr, flush=True)


# --- targets -----------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    mongo: bool
    package: str | None = None
    tmpdir: str = ""
    proc: subprocess.Popen | None = None
    log_path: str = ""
    seed: dict = field(default_factory=dict)
    has_health: bool = False

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def database_url(uri: str, name: str) -> str:
    """`uri` with its database path replaced by `name` (query string kept)."""
    parts = urllib.parse.urlsplit(uri)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def flagstone_env(port: int, database: str) -> dict[str, str]:
    return {
        "PORT": str(port),
        "FLAGSTONE_PROFILE": "production",
        "FLAGSTONE_SERVER__HOST": "127.0.0.1",
        "FLAGSTONE_SERVER__PORT": str(port),
        "FLAGSTONE_DATABASE__URL": database,
        "FLAGSTONE_AUTH__SECRET": SECRET,
        # A load test from one IP is exactly what the rate limiter exists to stop.
        "FLAGSTONE_RATE_LIMIT__ENABLED": "false",
        "FLAGSTONE_AUTH__RATE_LIMIT": "0",
        "FLAGSTONE_LOGGING__LEVEL": "warn",
    }


def make_targets(args: argparse.Namespace, run_id: str) -> list[Target]:
    bin_dir = args.bin_dir
    targets = []
    port = args.port_base
    for name in [t for t in args.targets.split(",") if t]:
        db = f"bench_{name.replace('-', '_')}_{run_id}"
        tmp = tempfile.mkdtemp(prefix=f"bench-{name}-")
        if name == "twin":
            env = {"PORT": str(port), "MONGODB_URL": database_url(args.mongodb_uri, db), "JWT_SECRET": SECRET}
            t = Target(name, [os.path.join(bin_dir, "realworld-twin")], env, port, True, "realworld-twin")
        elif name == "realworld":
            env = flagstone_env(port, database_url(args.mongodb_uri, db))
            t = Target(name, [os.path.join(bin_dir, "realworld")], env, port, True, "realworld")
        elif name == "embedded":
            env = flagstone_env(port, f"file://{tmp}/realworld.redb")
            t = Target(name, [os.path.join(bin_dir, "realworld")], env, port, False, "realworld")
        elif name == "embedded-memory":
            env = flagstone_env(port, "memory://")
            t = Target(name, [os.path.join(bin_dir, "realworld")], env, port, False, "realworld")
        else:
            sys.exit(f"bench: unknown target {name!r} (twin, realworld, embedded, embedded-memory)")
        t.tmpdir = tmp
        targets.append(t)
        port += 1
    for spec in args.custom:
        name, _, command = spec.partition("=")
        if not name or not command:
            sys.exit(f"bench: --custom wants NAME=COMMAND, got {spec!r}")
        tmp = tempfile.mkdtemp(prefix=f"bench-{name}-")
        db = f"bench_{name.replace('-', '_')}_{run_id}"
        command = (
            command.replace("{port}", str(port))
            .replace("{mongodb_url}", database_url(args.mongodb_uri, db))
            .replace("{tmpdir}", tmp)
        )
        t = Target(name, ["sh", "-c", "exec " + command], {"PORT": str(port)}, port, "{mongodb_url}" in spec)
        t.tmpdir = tmp
        targets.append(t)
        port += 1
    return targets


def build(targets: list[Target]) -> None:
    packages = sorted({t.package for t in targets if t.package})
    if not packages:
        return
    cmd = ["cargo", "build", "--release"] + [a for p in packages for a in ("-p", p)]
    log("building:", " ".join(cmd))
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def on_cpus(cpus: set[int] | None):
    """A `preexec_fn` that confines the child to `cpus` before it starts (so a runtime that
    sizes its thread pool by the CPUs it may use sees only those); None when unpinned."""
    if not cpus:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


def start(t: Target, timeout: float, cpus: set[int] | None = None) -> None:
    t.log_path = os.path.join(t.tmpdir, "server.log")
    out = open(t.log_path, "wb")
    env = dict(os.environ, **t.env)
    log(f"starting {t.name}: {shlex.join(t.argv)} on port {t.port}")
    t.proc = subprocess.Popen(t.argv, env=env, cwd=t.tmpdir, stdout=out, stderr=subprocess.STDOUT,
                              start_new_session=True, preexec_fn=on_cpus(cpus))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if t.proc.poll() is not None:
            sys.exit(f"bench: {t.name} exited with {t.proc.returncode} at start-up; see {t.log_path}:\n" + tail(t.log_path))
        try:
            status, _ = request(t, "GET", "/api/articles?limit=1")
            if status < 500:
                t.has_health = request(t, "GET", "/health/live")[0] == 200
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit(f"bench: {t.name} did not answer within {timeout}s; see {t.log_path}")


def stop(t: Target) -> None:
    if t.proc and t.proc.poll() is None:
        t.proc.send_signal(signal.SIGTERM)
        try:
            t.proc.wait(10)
        except subprocess.TimeoutExpired:
            t.proc.kill()
            t.proc.wait()


def tail(path: str, lines: int = 20) -> str:
    with open(path, "rb") as f:
        return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")


# --- HTTP and seeding ---------------------------------------------------------------------


def request(t: Target, method: str, path: str, body: object = None, token: str | None = None, conn=None):
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", t.port, timeout=30)
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Token {token}"
    try:
        conn.request(method, path, data, headers)
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        if own:
            conn.close()
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        payload = raw.decode(errors="replace")
    return resp.status, payload


def expect(t: Target, what: str, result, *ok: int):
    status, payload = result
    if status not in ok:
        sys.exit(f"bench: seeding {t.name}: {what} answered {status}: {str(payload)[:300]}")
    return payload


TAGS = ["rust", "mongodb", "axum", "tokio", "web", "api", "bench", "serde", "tower", "http"]
BODY = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. " * 12).strip()


def seed(t: Target, articles: int, comments: int, run_id: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", t.port, timeout=60)
    users = {}
    for role in ("reader", "author"):
        user = {"username": f"{role}{run_id}", "email": f"{role}{run_id}@bench.test", "password": PASSWORD}
        expect(t, f"register {role}", request(t, "POST", "/api/users", {"user": user}, conn=conn), 200, 201)
        login = {"email": user["email"], "password": PASSWORD}
        body = expect(t, f"login {role}", request(t, "POST", "/api/users/login", {"user": login}, conn=conn), 200)
        users[role] = dict(user, token=body["user"]["token"])
    reader, author = users["reader"], users["author"]
    path = f"/api/profiles/{author['username']}/follow"
    expect(t, "follow", request(t, "POST", path, token=reader["token"], conn=conn), 200, 201)
    slugs = []
    for i in range(articles):
        tags = sorted({TAGS[i % len(TAGS)], TAGS[(i * 7 + 3) % len(TAGS)], "seed"})
        article = {"title": f"Seed article {i} of run {run_id}", "description": f"Description of article {i}",
                   "body": BODY, "tagList": tags}
        body = expect(t, "create article", request(t, "POST", "/api/articles", {"article": article},
                                                   author["token"], conn), 200, 201)
        slug = body["article"]["slug"]
        slugs.append(slug)
        for c in range(comments):
            who = reader if c % 2 == 0 else author
            comment = {"body": f"Comment {c} on article {i}: " + BODY[:120]}
            expect(t, "comment", request(t, "POST", f"/api/articles/{urllib.parse.quote(slug)}/comments",
                                         {"comment": comment}, who["token"], conn), 200, 201)
    conn.close()
    # Sanity checks the scenarios rely on.
    status, page = request(t, "GET", "/api/articles?limit=20")
    if status != 200 or page.get("articlesCount") != articles or len(page.get("articles", [])) != min(20, articles):
        sys.exit(f"bench: {t.name}: list after seeding is wrong: {status} {str(page)[:300]}")
    status, page = request(t, "GET", "/api/articles/feed?limit=20", token=reader["token"])
    if status != 200 or len(page.get("articles", [])) != min(20, articles):
        sys.exit(f"bench: {t.name}: feed after seeding is wrong: {status} {str(page)[:300]}")
    t.seed = {"reader": reader, "author": author, "slug": slugs[len(slugs) // 2] if slugs else "none"}


# --- wrk -----------------------------------------------------------------------------------

LUA_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50":%d,"p99":%d,"max":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def lua_string(s: str) -> str:
    return json.dumps(s)  # a JSON string literal is a valid Lua string literal for ASCII


def scenario_script(t: Target, scenario: str, run_id: str) -> tuple[str, str]:
    """(path, Lua script) of `scenario` for `t`: the requests of `scenario_request`, except
    that create titles come from wrk's thread number and a counter."""
    method, path, body, token = scenario_request(t, scenario, run_id, 0)
    lua = f'wrk.headers["Authorization"] = "Token " .. {lua_string(token)}\n' if token else ""
    if scenario == "create":
        return path, (
            lua
            + 'wrk.headers["Content-Type"] = "application/json"\n'
            + "local threads = 0\n"
            + "setup = function(thread) threads = threads + 1; thread:set('tid', threads) end\n"
            + "local n = 0\n"
            + "request = function()\n"
            + "  n = n + 1\n"
            + f"  local body = '{{\"article\":{{\"title\":\"Load {run_id} ' .. tid .. ' ' .. n .. '\","
            + '"description\":\"Written under load\",\"body\":\"'
            + BODY[:400]
            + '\",\"tagList\":[\"load\",\"bench\"]}}'
            + "'\n"
            + '  return wrk.format("POST", nil, nil, body)\n'
            + "end\n"
        )
    if method != "GET":
        lua += f'wrk.method = "{method}"\n'
    if body is not None:
        lua += f'wrk.headers["Content-Type"] = "application/json"\nwrk.body = {lua_string(json.dumps(body))}\n'
    return path, lua


def scenario_request(t: Target, scenario: str, run_id: str, n: int) -> tuple[str, str, object, str | None]:
    """(method, path, body, token) of the `n`th request of `scenario`, as the wrk scripts send it."""
    reader, author = t.seed["reader"], t.seed["author"]
    if scenario == "list":
        return "GET", "/api/articles?limit=20", None, None
    if scenario == "single":
        return "GET", "/api/articles/" + urllib.parse.quote(t.seed["slug"]), None, None
    if scenario == "user":
        return "GET", "/api/user", None, reader["token"]
    if scenario == "feed":
        return "GET", "/api/articles/feed?limit=20", None, reader["token"]
    if scenario == "login":
        return "POST", "/api/users/login", {"user": {"email": reader["email"], "password": PASSWORD}}, None
    if scenario == "create":
        article = {"title": f"Counted {run_id} {n}", "description": "Written under load", "body": BODY[:400],
                   "tagList": ["load", "bench"]}
        return "POST", "/api/articles", {"article": article}, author["token"]
    raise ValueError(scenario)


def drive(t: Target, scenario: str, run_id: str, first: int, count: int,
          conns: list[http.client.HTTPConnection]) -> tuple[int, int]:
    """Sends requests `first .. first + count` of `scenario`, one thread per connection in
    `conns` (kept open, so that a measurement after a warm-up on the same connections
    counts requests, not connection set-up); returns (non-2xx answers, response bytes)."""
    lock, state = threading.Lock(), {"next": first, "bad": 0, "bytes": 0}

    def worker(conn: http.client.HTTPConnection) -> None:
        while True:
            with lock:
                n = state["next"]
                if n >= first + count:
                    break
                state["next"] = n + 1
            method, path, body, token = scenario_request(t, scenario, run_id, n)
            status, payload = request(t, method, path, body, token, conn)
            with lock:
                state["bad"] += status >= 400
                state["bytes"] += len(json.dumps(payload)) if payload is not None else 0

    threads = [threading.Thread(target=worker, args=(conn,)) for conn in conns]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return state["bad"], state["bytes"]


def callgrind(pid: int, *command: str) -> None:
    subprocess.run(["callgrind_control", *command, str(pid)], check=True, stdout=subprocess.DEVNULL, timeout=120)


def callgrind_totals(path: str) -> dict[str, int]:
    """The event counts of one callgrind dump (Ir, and with --cache-sim the cache misses and
    mispredicted branches), by name: its `totals:` line, the sum of its cost lines."""
    events: list[str] = []
    with open(path) as f:
        for line in f:
            if line.startswith("events:"):
                events = line.split()[1:]
            elif line.startswith("totals:"):
                return dict(zip(events, map(int, line.split()[1:])))
    sys.exit(f"bench: no totals line in {path}")


def run_counted(t: Target, scenario: str, args: argparse.Namespace, run_id: str) -> dict:
    """Callgrind mode: `--requests` requests (a tenth of them for login), counters zeroed
    just before they start and dumped when they end, each scenario in its own file."""
    count = max(1, args.requests // 10) if scenario == "login" else args.requests
    pid = t.proc.pid
    # Logins are slow under valgrind (argon2): fewer connections, so a short warm-up.
    width = min(args.connections, count, 8 if scenario == "login" else count)
    conns = [http.client.HTTPConnection("127.0.0.1", t.port, timeout=600) for _ in range(max(1, width))]
    # Warm-up, not counted: every connection, the server's and the database driver's
    # pools, and the first-use paths see traffic before the counters start.
    warmup = max(count // 10, len(conns))
    drive(t, scenario, run_id, 0, warmup, conns)
    before = set(os.listdir(t.tmpdir))
    callgrind(pid, "--zero")
    bad, size = drive(t, scenario, run_id, warmup, count, conns)
    callgrind(pid, f"--dump={scenario}")
    for conn in conns:
        conn.close()
    dumps = sorted(f for f in set(os.listdir(t.tmpdir)) - before if f.startswith("callgrind.out"))
    if len(dumps) != 1:
        sys.exit(f"bench: expected one new callgrind dump for {t.name} {scenario}, found {dumps}")
    kept = os.path.join(args.callgrind_dir, f"{t.name}.{scenario}.callgrind")
    shutil.move(os.path.join(t.tmpdir, dumps[0]), kept)
    totals = callgrind_totals(kept)
    row = {"target": t.name, "scenario": scenario, "requests": count, "non2xx": bad,
           "ir": totals["Ir"] / count, "bytes": size / count, "dump": kept}
    if args.cache_sim:
        # First-level misses (instruction fetch, data read, data write) and mispredicted
        # branches (conditional and indirect): the costs instruction counts do not show.
        row["l1_misses"] = sum(totals[e] for e in ("I1mr", "D1mr", "D1mw")) / count
        row["mispredicts"] = (totals["Bcm"] + totals["Bim"]) / count
    log(f"{t.name:>16} {scenario:>7}: {row['ir']:12,.0f} instructions/req over {count} requests  non-2xx {bad}")
    return row


def proc_cpu_ms(pid: int) -> float:
    """CPU time of every thread of `pid`, in ms: the nanoseconds of each thread's
    /proc/<pid>/task/<tid>/schedstat when the kernel keeps them, else utime + stime in
    clock ticks (a tick is 10 ms, coarse for a short run of a slow scenario). A thread that
    ended between two readings takes its time with it: the servers measured here keep
    their threads."""
    if not os.path.exists(f"/proc/{pid}/schedstat"):
        return proc_cpu_ticks(pid) * 1000 / TICKS
    total, tasks = 0, f"/proc/{pid}/task"
    for tid in os.listdir(tasks):
        try:
            with open(f"{tasks}/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except FileNotFoundError:
            pass  # the thread ended after the listing
    return total / 1e6


def proc_cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


def proc_status_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class RssSampler(threading.Thread):
    def __init__(self, pid: int, every: float = 0.05):
        super().__init__(daemon=True)
        self.pid, self.every, self.peak = pid, every, 0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                self.peak = max(self.peak, proc_status_kib(self.pid, "VmRSS"))
            except OSError:
                return
            self.halt.wait(self.every)


class HealthProbe(threading.Thread):
    """GET /health/live every `every` seconds on its own connection; latencies in ms."""

    def __init__(self, t: Target, every: float = 0.02):
        super().__init__(daemon=True)
        self.t, self.every, self.latencies, self.failures = t, every, [], 0
        self.halt = threading.Event()

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.t.port, timeout=10)
        while not self.halt.is_set():
            began = time.perf_counter()
            try:
                conn.request("GET", "/health/live")
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    self.failures += 1
                else:
                    self.latencies.append((time.perf_counter() - began) * 1000)
            except OSError:
                self.failures += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.t.port, timeout=10)
            self.halt.wait(self.every)
        conn.close()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def pace_lua(rate: float | None, connections: int) -> str:
    """wrk's `delay()`: the pause before each request that makes `connections` connections
    offer about `rate` requests/s in all (a little less, by the time each takes). Drawn
    uniformly between none and twice the mean, so that the connections do not stay in step
    and arrive as one burst after another."""
    if not rate:
        return ""
    return f"delay = function() return math.random() * {2 * connections * 1000 / rate:.3f} end\n"


def wrk(t: Target, path: str, lua: str, seconds: float, args: argparse.Namespace, script_path: str,
        rate: float | None = None) -> dict:
    with open(script_path, "w") as f:
        f.write(lua + pace_lua(rate, args.connections) + LUA_DONE)
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
           "-s", script_path, t.base + path]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, preexec_fn=args.wrk_cpus)
    for line in out.stdout.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[6:])
    sys.exit(f"bench: wrk failed on {t.name} {path}: {out.stdout}{out.stderr}")


def answers_promptly(t: Target) -> bool:
    """Whether `t` answers a request that reads the database within a second: a profile,
    one lookup by a unique index, once seeded. Not a page of articles: after the create
    scenario there are thousands, and a count over them on a slow server would itself be
    the load this waits out."""
    path = "/api/profiles/" + urllib.parse.quote(t.seed["author"]["username"]) if t.seed else "/api/articles?limit=1"
    conn = http.client.HTTPConnection("127.0.0.1", t.port, timeout=1)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def settle(t: Target, pids: list[int], limit: float) -> float:
    """Waits (at most `limit` seconds) until every process in `pids` stays under 10% of a
    core for half a second and `t` answers a database read within a second, so that work
    left over from the previous run (requests that wrk abandoned at its deadline are still
    being answered, by the target and by the database; a driver that lost the server under
    load is still reconnecting) is not billed to the next one. Returns the seconds waited."""
    began = time.monotonic()
    while time.monotonic() - began < limit:
        before = [proc_cpu_ticks(pid) for pid in pids]
        time.sleep(0.5)
        idle = all(proc_cpu_ticks(pid) - b <= TICKS * 0.05 for pid, b in zip(pids, before))
        if idle and answers_promptly(t):
            break
    return time.monotonic() - began


def warm_up(t: Target, scenario: str, args: argparse.Namespace, run_id: str) -> float:
    """Runs `scenario` unpaced for `--warmup` seconds, unmeasured; returns its req/s."""
    if args.warmup <= 0:
        return 0.0
    path, lua = scenario_script(t, scenario, run_id)
    result = wrk(t, path, lua, args.warmup, args, os.path.join(t.tmpdir, f"{scenario}.lua"))
    return result["requests"] / max(result["duration_us"] / 1e6, 1e-6)


def run_scenario(t: Target, scenario: str, args: argparse.Namespace, run_id: str, db_pid: int | None,
                 rate: float | None) -> dict:
    """One measured wrk run of `scenario` on `t` (paced at `rate` requests/s when given),
    after waiting for the target and the database to go idle."""
    path, lua = scenario_script(t, scenario, run_id)
    script = os.path.join(t.tmpdir, f"{scenario}.lua")
    db_pid = db_pid if t.mongo else None  # the embedded store lives in the target itself
    pids = [t.proc.pid] + ([db_pid] if db_pid else [])
    waited = settle(t, pids, args.settle)
    if waited > 2:
        log(f"waited {waited:.1f} s for {t.name} and the database to go idle before {scenario}")
    pid = t.proc.pid
    sampler = RssSampler(pid)
    probe = HealthProbe(t) if scenario == "login" and t.has_health else None
    cpu0 = proc_cpu_ms(pid)
    db0 = proc_cpu_ms(db_pid) if db_pid else 0
    sampler.start()
    if probe:
        probe.start()
    result = wrk(t, path, lua, args.duration, args, script, rate)
    sampler.halt.set()
    if probe:
        probe.halt.set()
        probe.join()
    sampler.join()
    cpu = proc_cpu_ms(pid) - cpu0
    db = proc_cpu_ms(db_pid) - db0 if db_pid else None
    n = max(result["requests"], 1)
    row = {
        "target": t.name,
        "scenario": scenario,
        "requests": result["requests"],
        "rps": result["requests"] / (result["duration_us"] / 1e6),
        "p50_ms": result["p50"] / 1000,
        "p99_ms": result["p99"] / 1000,
        "non2xx": result["status"],
        "socket_errors": result["connect"] + result["read"] + result["write"] + result["timeout"],
        "cpu_ms": cpu / n,
        "db_cpu_ms": db / n if db is not None else None,
        "rss_mib": sampler.peak / 1024,
        "bytes": result["bytes"] / n,
    }
    if probe:
        row["health_p99_ms"] = percentile(probe.latencies, 99)
        row["health_samples"] = len(probe.latencies)
        row["health_failures"] = probe.failures
    log(f"{t.name:>16} {scenario:>7}: {row['rps']:9.1f} req/s  p50 {row['p50_ms']:.2f} ms  "
        f"p99 {row['p99_ms']:.2f} ms  non-2xx {row['non2xx']}  cpu {row['cpu_ms']:.3f} ms/req  "
        f"rss {row['rss_mib']:.1f} MiB")
    return row


def combine(turns: list[dict], rate: float | None) -> dict:
    """One target's turns at one scenario as one row: means (sums for error counts, the
    peak for RSS and the health probe's p99), with the CPU per request of each turn kept
    for the spread."""
    row = dict(turns[-1])
    if len(turns) > 1:
        def mean(key):
            values = [r[key] for r in turns if r.get(key) is not None]
            return sum(values) / len(values) if values else None
        for key in ("rps", "p50_ms", "p99_ms", "cpu_ms", "db_cpu_ms", "bytes"):
            row[key] = mean(key)
        for key in ("requests", "non2xx", "socket_errors", "health_samples", "health_failures"):
            if key in row:
                row[key] = sum(r[key] for r in turns)
        row["rss_mib"] = max(r["rss_mib"] for r in turns)
        if "health_p99_ms" in row:
            row["health_p99_ms"] = max(r["health_p99_ms"] for r in turns)
    row["cpu_turns"] = [r["cpu_ms"] for r in turns]
    row["rate"] = rate
    return row


def measure(targets: list[Target], scenario: str, args: argparse.Namespace, run_id: str) -> list[dict]:
    """Every target's row for `scenario`: warm-ups first (which also set the pace of
    `--rate auto`), then `--turns` measured runs each, the order reversed every other turn
    (ABBA) so that a drift in the machine or the database is shared out evenly."""
    warm = {t.name: warm_up(t, scenario, args, run_id) for t in targets}
    rate = args.rate
    if rate == "auto":
        rate = 0.5 * min(warm.values()) if min(warm.values(), default=0) > 0 else None
    if rate:
        log(f"{scenario}: pacing every target at {rate:.0f} req/s")
    turns: dict[str, list[dict]] = {t.name: [] for t in targets}
    for k in range(args.turns):
        for t in targets if k % 2 == 0 else targets[::-1]:
            turns[t.name].append(run_scenario(t, scenario, args, run_id, args.db_pid, rate))
    return [combine(turns[t.name], rate) for t in targets]


def spread(values: list[float]) -> str:
    return f" ({min(values):.3f}–{max(values):.3f})" if len(values) > 1 else ""


# --- report --------------------------------------------------------------------------------


def fmt(value, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and value != value:
        return "–"
    return f"{value:,.{digits}f}" if isinstance(value, float) else str(value)


def ratio(a, b) -> str:
    if a is None or b is None or not b:
        return "–"
    return f"{a / b:.2f}"


def report(rows: list[dict], targets: list[Target], args: argparse.Namespace, meta: dict) -> str:
    out = [f"# RealWorld benchmark, {meta['date']}", ""]
    out.append(f"- machine: {meta['machine']}; load average before {meta['load_before']}, after {meta['load_after']}")
    out.append(f"- wrk: {args.threads} threads, {args.connections} connections, {args.duration:g} s per scenario "
               f"after a {args.warmup:g} s warm-up; loopback")
    if args.rate:
        how = "half the slowest target's warm-up throughput" if args.rate == "auto" else "a fixed rate"
        rates = {r["scenario"]: r["rate"] for r in rows if r.get("rate")}
        paces = ", ".join(f"{s} {rates[s]:.0f}" for s in args.scenario_list if s in rates)
        out.append(f"- paced ({how}): every target offered the same load, in req/s: {paces}")
    if args.turns > 1:
        out.append(f"- {args.turns} measured turns per scenario and target, the targets taking turns (ABBA); "
                   "figures are means, CPU ms/req also gives the range over the turns")
    if args.pin:
        out.append(f"- pinned: targets on CPU {args.pin_desc['targets']}, wrk on CPUs {args.pin_desc['wrk']} "
                   "(the database server where the scheduler puts it)")
    out.append(f"- data: 2 users (one following the other), {args.articles} articles with 3 tags and "
               f"{args.comments} comments each; MongoDB-compatible server {meta['mongodb']}")
    out.append(f"- targets: " + "; ".join(f"`{t.name}` = `{shlex.join(t.argv)}`" for t in targets))
    out.append("")
    out.append("| target | scenario | req/s | p50 ms | p99 ms | non-2xx | socket errors | CPU ms/req | DB CPU ms/req | peak RSS MiB | bytes/resp |")
    out.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        out.append(f"| {r['target']} | {r['scenario']} | {fmt(r['rps'], 0)} | {fmt(r['p50_ms'])} | {fmt(r['p99_ms'])} "
                   f"| {r['non2xx']} | {r['socket_errors']} | {fmt(r['cpu_ms'], 3)}{spread(r.get('cpu_turns', []))} "
                   f"| {fmt(r['db_cpu_ms'], 3)} "
                   f"| {fmt(r['rss_mib'], 1)} | {fmt(r['bytes'], 0)} |")
    probes = [r for r in rows if "health_p99_ms" in r]
    if probes:
        out += ["", "`GET /health/live` every 20 ms on one connection while the login scenario ran:", "",
                "| target | health p99 ms | samples | failures |", "| --- | ---: | ---: | ---: |"]
        for r in probes:
            out.append(f"| {r['target']} | {fmt(r['health_p99_ms'])} | {r['health_samples']} | {r['health_failures']} |")
    out += ["", "Peak RSS over the whole run (VmHWM): " + ", ".join(
        f"{t.name} {fmt(meta['hwm'].get(t.name, 0) / 1024, 1)} MiB" for t in targets)]
    baseline = args.baseline
    others = [t.name for t in targets if t.mongo and t.name != baseline]
    if baseline in {t.name for t in targets} and others:
        by = {(r["target"], r["scenario"]): r for r in rows}
        out += ["", f"Ratios target / `{baseline}` (same run, same database server; above 1 means more "
                "for req/s and more cost for the others):", "",
                "| target | scenario | req/s | p50 | p99 | CPU/req | per turn: median (range) | DB CPU/req | peak RSS |",
                "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for name in others:
            for s in args.scenario_list:
                a, b = by.get((name, s)), by.get((baseline, s))
                if not a or not b:
                    continue
                paired = [x / y for x, y in zip(a.get("cpu_turns", []), b.get("cpu_turns", [])) if y]
                per_turn = (f"{statistics.median(paired):.2f} ({min(paired):.2f}–{max(paired):.2f})"
                            if len(paired) > 1 else "–")
                out.append(f"| {name} | {s} | {ratio(a['rps'], b['rps'])} | {ratio(a['p50_ms'], b['p50_ms'])} "
                           f"| {ratio(a['p99_ms'], b['p99_ms'])} | {ratio(a['cpu_ms'], b['cpu_ms'])} | {per_turn} "
                           f"| {ratio(a['db_cpu_ms'], b['db_cpu_ms'])} | {ratio(a['rss_mib'], b['rss_mib'])} |")
    return "\n".join(out) + "\n"


def report_counted(rows: list[dict], targets: list[Target], args: argparse.Namespace, meta: dict) -> str:
    out = [f"# RealWorld benchmark (instruction counts), {meta['date']}", ""]
    out.append(f"- machine: {meta['machine']}; valgrind --tool=callgrind, counters zeroed before and dumped after the "
               f"measured requests ran ({args.requests} per scenario, {max(1, args.requests // 10)} for login, "
               f"after an uncounted warm-up on the same {args.connections} keep-alive connections); loopback")
    out.append(f"- data: 2 users (one following the other), {args.articles} articles with 3 tags and "
               f"{args.comments} comments each; MongoDB-compatible server {meta['mongodb']}")
    out.append(f"- targets: " + "; ".join(f"`{t.name}` = `{shlex.join(t.argv[-1:])}`" for t in targets))
    if args.env:
        out.append("- environment of the Flagstone targets: " + ", ".join(f"`{e}`" for e in args.env))
    out.append(f"- dumps: `{os.path.relpath(args.callgrind_dir, ROOT)}/<target>.<scenario>.callgrind` "
               "(`callgrind_annotate --inclusive=yes FILE` shows where the instructions went)")
    counts = [("instructions/req", "ir")]
    if args.cache_sim:
        counts += [("L1 misses/req", "l1_misses"), ("mispredicted branches/req", "mispredicts")]
    counts.append(("bytes/resp (JSON)", "bytes"))
    out += ["", "| target | scenario | requests | non-2xx | " + " | ".join(h for h, _ in counts) + " |",
            "| --- | --- | ---: | ---: |" + " ---: |" * len(counts)]
    for r in rows:
        out.append(f"| {r['target']} | {r['scenario']} | {r['requests']} | {r['non2xx']} | "
                   + " | ".join(fmt(r[key], 0) for _, key in counts) + " |")
    baseline = args.baseline
    others = [t.name for t in targets if t.mongo and t.name != baseline]
    if baseline in {t.name for t in targets} and others:
        by = {(r["target"], r["scenario"]): r for r in rows}
        out += ["", f"Ratios target / `{baseline}` (instructions per request):", "",
                "| target | " + " | ".join(args.scenario_list) + " |",
                "| --- |" + " ---: |" * len(args.scenario_list)]
        for name in others:
            cells = [ratio(by.get((name, s), {}).get("ir"), by.get((baseline, s), {}).get("ir"))
                     for s in args.scenario_list]
            out.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--targets", default="twin,realworld", help="comma-separated built-in targets (default twin,realworld)")
    p.add_argument("--custom", action="append", default=[], metavar="NAME=COMMAND", help="another backend (see above)")
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated subset of {','.join(SCENARIOS)}")
    p.add_argument("--duration", type=float, default=10, help="seconds per scenario (default 10)")
    p.add_argument("--warmup", type=float, default=2, help="unmeasured seconds before each scenario (default 2)")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument("--articles", type=int, default=200)
    p.add_argument("--comments", type=int, default=2, help="comments per article (default 2)")
    p.add_argument("--mongodb-uri", default=os.environ.get("FLAGSTONE_TEST_MONGODB_URI", "mongodb://127.0.0.1:27034/"))
    p.add_argument("--db-pid", type=int, help="pid of the database server, to measure its CPU time too")
    p.add_argument("--bin-dir", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release"))
    p.add_argument("--no-build", action="store_true", help="do not run cargo build for built-in targets")
    p.add_argument("--port-base", type=int, default=3400, help="first port; targets take consecutive ones")
    p.add_argument("--baseline", default="twin", help="target the ratio table divides by (default twin)")
    p.add_argument("--start-timeout", type=float, default=60)
    p.add_argument("--settle", type=float, default=60,
                   help="at most this many seconds to wait for the target and database to go idle before each measurement (default 60)")
    p.add_argument("--callgrind", action="store_true",
                   help="count instructions per request under valgrind's callgrind instead of timing wrk runs")
    p.add_argument("--cache-sim", action="store_true",
                   help="with --callgrind, also simulate the caches and branch predictor and report first-level "
                        "misses and mispredicted branches per request (slower)")
    p.add_argument("--requests", type=int, default=200,
                   help="requests per scenario in --callgrind mode (a tenth for login; default 200)")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra environment for the Flagstone targets, e.g. FLAGSTONE_HTTP__COMPRESSION=false")
    p.add_argument("--rate", help="pace wrk so that every target serves about N requests/s (a number), or `auto`: "
                                  "half the slowest target's warm-up throughput, per scenario (default: unpaced)")
    p.add_argument("--turns", type=int, default=1,
                   help="measured runs per scenario and target, the targets taking turns (default 1)")
    p.add_argument("--pin", action="store_true", help="run the targets on the first CPU and wrk on the others (Linux)")
    p.add_argument("--out", help="where to write the Markdown report (default bench-results/realworld-<time>.md)")
    args = p.parse_args()
    args.callgrind = args.callgrind or args.cache_sim
    args.scenario_list = [s for s in args.scenarios.split(",") if s]
    for s in args.scenario_list:
        if s not in SCENARIOS:
            sys.exit(f"bench: unknown scenario {s!r}")
    if not shutil.which("wrk"):
        sys.exit("bench: wrk is not installed (apt-get install wrk)")
    if args.rate not in (None, "auto"):
        try:
            args.rate = float(args.rate)
        except ValueError:
            sys.exit(f"bench: --rate wants a number of requests/s or `auto`, got {args.rate!r}")
        if args.rate <= 0:
            sys.exit("bench: --rate must be above 0")
    if args.turns < 1:
        sys.exit("bench: --turns must be 1 or more")
    if args.rate == "auto" and args.warmup <= 0:
        sys.exit("bench: --rate auto takes its pace from the warm-up; give --warmup a positive duration")
    if args.callgrind and (args.rate or args.turns > 1):
        sys.exit("bench: --rate and --turns pace and repeat timed runs; --callgrind counts instructions instead")
    args.wrk_cpus, target_cpus = None, None
    if args.pin:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            sys.exit("bench: --pin needs at least two CPUs")
        target_cpus, wrk_cpus = {cpus[0]}, set(cpus[1:])
        args.wrk_cpus = on_cpus(wrk_cpus)
        args.pin_desc = {"targets": str(cpus[0]), "wrk": ",".join(map(str, cpus[1:]))}

    now = dt.datetime.now(dt.timezone.utc)
    run_id = now.strftime("%Y%m%d%H%M%S")
    targets = make_targets(args, run_id)
    for spec in args.env:
        key, sep, value = spec.partition("=")
        if not sep or not key:
            sys.exit(f"bench: --env wants KEY=VALUE, got {spec!r}")
        for t in targets:
            if t.package == "realworld":
                t.env[key] = value
    if args.callgrind:
        if not shutil.which("callgrind_control"):
            sys.exit("bench: --callgrind needs valgrind (apt-get install valgrind)")
        args.callgrind_dir = os.path.join(ROOT, "bench-results", f"callgrind-{run_id}")
        os.makedirs(args.callgrind_dir, exist_ok=True)
        args.start_timeout = max(args.start_timeout, 300)
        for t in targets:
            sim = ["--cache-sim=yes", "--branch-sim=yes"] if args.cache_sim else []
            t.argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=callgrind.out.%p",
                      "--quiet", *sim, *t.argv]
    if not args.no_build:
        build(targets)
    meta = {"date": now.strftime("%Y-%m-%d %H:%M UTC"), "load_before": loadavg(), "hwm": {},
            "machine": f"{os.cpu_count()} CPUs, {platform.system()} {platform.release()}",
            "mongodb": args.mongodb_uri}
    rows: list[dict] = []
    try:
        for t in targets:
            start(t, args.start_timeout, target_cpus)
            began = time.monotonic()
            seed(t, args.articles, args.comments, run_id)
            log(f"seeded {t.name} in {time.monotonic() - began:.1f} s")
        for scenario in args.scenario_list:
            if args.callgrind:
                rows.extend(run_counted(t, scenario, args, run_id) for t in targets)
            else:
                rows.extend(measure(targets, scenario, args, run_id))
        for t in targets:
            meta["hwm"][t.name] = proc_status_kib(t.proc.pid, "VmHWM")
    finally:
        for t in targets:
            stop(t)
    meta["load_after"] = loadavg()
    text = report_counted(rows, targets, args, meta) if args.callgrind else report(rows, targets, args, meta)
    print(text)
    out = args.out or os.path.join(ROOT, "bench-results", f"realworld-{run_id}.md")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    log(f"report written to {out}")
    for t in targets:
        if t.log_path and os.path.exists(t.log_path):
            shutil.copy(t.log_path, f"{os.path.splitext(out)[0]}.{t.name}.log")
        shutil.rmtree(t.tmpdir, ignore_errors=True)


if __name__ == "__main__":
    main()
