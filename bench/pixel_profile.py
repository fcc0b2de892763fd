"""Where the pixel's time goes under load: OnePage's pixel under granian (as
bench/pixel_load.py serves it: the live process's ASGI lane, then the web
process's WSGI lane), driven by wrk, sampled by py-spy, with the CPU
time of every process on the machine's side of the request counted.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/onepage_bench \\
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/pixel_profile.py \\
    [--seconds 10] [--threads 4] [--gil] [--stream-only] [--py-spy PATH]

For each mode (stream: valid tokens appended to Redis; direct: no Redis, each
open written to PostgreSQL in the request; and the peers' INSERT + UPDATE view
of bench/peer_view.py for comparison) it prints the requests per second, the
CPU time per 1,000 requests of granian's workers, Redis (shared with whatever
else uses it), the PostgreSQL backends of the workers' connections and wrk
itself, and from py-spy's samples of the workers the share of the Python time
spent in each part of the path (of the threads running or waiting on a socket
or the GIL; with --gil, of the thread holding the GIL only: where the CPU
goes). First, one direct write timed in-process, one at a time: how long it
holds the email row's lock, and the commit in it. Runs in a throwaway
database and stream, like bench/pixel_load.py. Needs py-spy (pip install
py-spy) and the right to trace processes (root, or ptrace_scope 0).
"""

import argparse
import collections
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pixel_load import _drop_stream, child, drop_environment, granian, granian_live, own_environment, start, wrk_script
from servers import LOCAL, ROOT, free_port, stop

# What each share of the samples is: a frame of the stack that marks it, in order
# (the first that matches names the sample).
PARTS = [
    (
        "redis round trip (socket wait)",
        re.compile(r"redis/connection\.py|redis/client\.py|redis/commands|redis/asyncio/|tracking/pipelined\.py"),
    ),
    ("database: execute + commit", re.compile(r"psycopg2|backends/utils\.py|backends/base/base\.py.*commit")),
    ("django ORM / SQL compile", re.compile(r"django/db/")),
    ("token check (signing)", re.compile(r"signing\.py|emails/pixels\.py|onepage/signed_ids\.py")),
    ("policy (open_mode)", re.compile(r"emails/policy\.py")),
    ("pixel view + intake", re.compile(r"tracking/(views|hits|intake|stream|ratelimit)\.py")),
    ("response (HttpResponse, headers)", re.compile(r"django/http/response\.py")),
    ("request (WSGIRequest, path)", re.compile(r"django/core/handlers/wsgi\.py.*__init__|django/http/request\.py")),
    ("handler, signals, middleware", re.compile(r"django/core/handlers/|django/dispatch/|tracking/middleware\.py")),
    # The ASGI lane's loop, and its sends to granian (asgi_in_front_of's awaits).
    ("the event loop (asyncio; the ASGI lane's sends)", re.compile(r"asyncio/|uvloop|asgi_in_front_of")),
]

OURS = re.compile(r"\((tracking|emails|contacts|onepage|privacy)/")


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """Each live process's CPU seconds so far (user + system)."""
    ticks = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return seconds


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between the two readings by the processes alive at both."""
    return sum(after[pid] - before[pid] for pid in after if pid in before)


def pids_of(name: str) -> list[int]:
    out = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def backends_of(url: str) -> list[int]:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return [pid for (pid,) in cur.fetchall()]
    finally:
        conn.close()


def tree(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    children = [int(p) for p in out.split()]
    return [pid] + [p for c in children for p in tree(c)]


def profile(mode: str, env: dict, paths: list[str], workdir: Path, args, app: str = "onepage.wsgi:application") -> None:
    port = free_port()
    if app == "onepage.asgi:application":
        server = start(granian_live(port), {**env, "CONN_MAX_AGE": "0"}, port)
    else:
        server = start(granian(app, port, args.threads), env, port)
    try:
        script = wrk_script(workdir, mode.split()[0], paths)
        wrk_argv = ["wrk", "-t2", "-c16", f"-d{args.seconds}s", "-s", str(script), f"http://{LOCAL}:{port}/"]
        subprocess.run([*wrk_argv[:3], "-d1s", *wrk_argv[4:]], capture_output=True, check=True)  # warm up
        groups = {
            "granian": tree(server.pid),
            "redis-server": pids_of("redis-server"),
            # The server processes of this database's connections (the
            # workers' persistent ones, open after the warm-up): not the other
            # databases' of a shared machine, nor PostgreSQL's own WAL writer.
            "postgres": backends_of(env["DATABASE_URL"]),
        }
        before = {name: cpu_seconds(pids) for name, pids in groups.items()}
        raw = workdir / f"{mode.split()[0]}.txt"
        spy = subprocess.Popen(
            [args.py_spy, "record", "--pid", str(server.pid), "--subprocesses", "--rate", "250",
             "--duration", str(args.seconds), "--format", "raw", "--output", str(raw), "--nonblocking",
             *(["--gil"] if args.gil else [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run(wrk_argv, capture_output=True, text=True, check=True).stdout
        after = {name: cpu_seconds(groups[name]) for name in groups}
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk's, py-spy is not reaped yet
        after["wrk"] = {0: reaped.ru_utime + reaped.ru_stime}
        before["wrk"] = {0: children.ru_utime + children.ru_stime}
        spy.wait(timeout=60)
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        requests = int(re.search(r"(\d+) requests in", out).group(1))
        print(f"\n== {mode}: {rps:,.0f} req/s ({requests:,} requests in {args.seconds} s, 16 connections)")
        print("CPU ms per 1,000 requests (all processes of each, user + system):")
        for name in after:
            print(f"  {name:14} {spent(before[name], after[name]) * 1e6 / requests:8.0f}")
        summarize(raw)
    finally:
        stop(server)


def summarize(raw: Path) -> None:
    if not raw.exists():
        print("  (py-spy wrote nothing: can it trace processes here?)")
        return
    parts: collections.Counter = collections.Counter()
    leaves: collections.Counter = collections.Counter()
    callers: collections.Counter = collections.Counter()  # OnePage's frame nearest each database sample
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        for label, pattern in PARTS:
            if any(pattern.search(frame) for frame in frames):
                parts[label] += n
                if label.startswith(("database", "django ORM")):
                    ours = [f for f in frames if OURS.search(f)]
                    callers[ours[-1] if ours else "(no OnePage frame)"] += n
                break
        else:
            parts["other Python (granian's glue, GC...)"] += n
        leaves[frames[-1]] += n
    if not total:
        print("  no samples")
        return
    print(f"py-spy: {total:,} samples of the workers' Python threads while active; share of them:")
    for label, n in parts.most_common():
        print(f"  {label:44} {n / total:6.1%}")
    if callers:
        print("  database and ORM samples, by the OnePage function nearest them:")
        for frame, n in callers.most_common(6):
            print(f"    {n / total:6.1%}  {frame[:110]}")
    print("  innermost frames (self time):")
    for frame, n in leaves.most_common(8):
        print(f"    {n / total:6.1%}  {frame[:110]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--stream-only", action="store_true", help="only the stream pixel (e.g. to try --threads)")
    parser.add_argument("--gil", action="store_true", help="sample only the thread holding the GIL (CPU)")
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy"))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/pixel_profile.py needs wrk: apt-get install wrk")
    workdir = Path(tempfile.mkdtemp(prefix="onepage-pixel-profile-"))
    env = own_environment(workdir, "profile")
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        data = child(env, "seed")
        timing = child({**env, "REDIS_URL": ""}, "direct", 400, *data["fresh"]["ids"])
        print("one direct write, one thread, medians (ms):", json.dumps(timing))
        paths = [f"/o/{t}.gif" for t in data["fresh"]["tokens"]]
        profile("stream (the live process's ASGI lane)", env, paths, workdir, args, app="onepage.asgi:application")
        _drop_stream(env)
        profile("stream (the web process's WSGI lane)", env, paths, workdir, args)
        _drop_stream(env)
        if args.stream_only:
            return
        profile("direct", {**env, "REDIS_URL": ""}, paths, workdir, args)
        peer = [f"/p/{i}.gif" for i in data["peer"]["ids"]]
        profile("peer (bench/peer_view.py)", env, peer, workdir, args, app="bench.peer_view:application")
    finally:
        drop_environment(env, workdir)


if __name__ == "__main__":
    main()
