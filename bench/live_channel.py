"""The bell's live channel, polling against Server-Sent Events, measured in
one run for 200 open tabs of signed-in users (issue 21): the cost per
connected user and the time an open takes to reach the page.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/onepage_bench \\
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/live_channel.py \\
    [--tabs 200] [--window 50] [--deliveries 30] [--interval 5]

In a throwaway database (bench_live_<pid> on DATABASE_URL's server, dropped
at the end), one rep per tab, each with a session and a sent email. Each
channel in turn, served by granian on 127.0.0.1 with production's settings
(scripts/serve.sh: 2 workers, WSGI with 4 blocking threads each; the ASGI
process as onepage-live runs it, with 2 workers here, for the same cores):

  polling  the app's GET /alerts/count/ (WSGI), each tab every --interval s
           over a keep-alive connection (bench/live_tabs.py);
  SSE      the app's GET /alerts/stream/ (ASGI, as onepage-live serves it:
           deploy/systemd/onepage-live.service): each tab holds it open; the
           session is checked once; an open's count is pushed through Redis
           pub/sub by the app itself (alerts.live, after notify).

The tabs open over the first interval, settle, then are left idle for
--window s (no new opens) while this measures: CPU of granian's processes
(/proc), of the bench database's PostgreSQL backends (sampled every second:
a lower bound), database queries (pg_stat_database: committed and rolled
back transactions of the bench database, which only the server uses then;
the app runs in autocommit, so each query outside a transaction is one, as
is Django's connection health check; pg_stat_statements is not loaded
here), TCP connections held by the server (/proc/net/tcp: the tabs', and
Redis's: with SSE each open stream has its own subscription), the server's
threads and memory, and the database connections open (pg_stat_activity).
Then --deliveries opens are recorded through the writer (tracking.writer,
which makes the notification after its commit), each for another tab's
user, and each one's latency is timed from the write's commit to its tab
seeing the new count. The cost of opening (a poll; a stream, which checks
the session once) is the server's CPU over the tabs' first interval.
Printed: a table with SSE / polling ratios.
"""

import argparse
import asyncio
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from live_probes import Database, connections_to, established, resident_mb, threads
from live_tabs import Tab, poll, stream, totals
from pixel_load import start
from pixel_profile import cpu_seconds, tree
from servers import LOCAL, ROOT, VENV_BIN, drop_environment, free_port, own_environment, stop

CHANNELS = ("polling", "SSE")


def server_argv(channel: str, port: int, args) -> list[str]:
    common = ["--host", LOCAL, "--port", str(port), "--workers", "2", "--respawn-failed-workers",
              "--log-level", "warning"]  # fmt: skip
    if channel == "polling":
        return [str(VENV_BIN / "granian"), "--interface", "wsgi", *common, "--blocking-threads", str(args.threads),
                "onepage.wsgi:application"]  # fmt: skip
    return [str(VENV_BIN / "granian"), "--interface", "asgi", *common, "onepage.asgi:application"]


async def idle(server: subprocess.Popen, port: int, db: Database, tabs: list[Tab], window: float) -> dict:
    """Measure the server and the database for `window` seconds."""
    pids = tree(server.pid)
    redis_port = urlparse(os.environ["REDIS_URL"]).port or 6379
    cpu_before, xact_before, tabs_before = cpu_seconds(pids), db.transactions(), totals(tabs)
    began, samples, backend_cpu = time.monotonic(), [], {}
    while time.monotonic() - began < window:
        await asyncio.sleep(1)
        backends = await asyncio.to_thread(db.backends)
        for pid, seconds in cpu_seconds(backends).items():
            backend_cpu.setdefault(pid, [seconds, seconds])[1] = seconds
        now = tree(server.pid)
        held = {"conns": established(port), "threads": threads(now), "rss": resident_mb(now), "db": len(backends),
                "redis": connections_to(now, redis_port)}  # fmt: skip
        samples.append(held)
    minutes = (time.monotonic() - began) / 60
    cpu_after, xact_after, tabs_after = cpu_seconds(pids), db.transactions(), totals(tabs)
    done = {k: tabs_after[k] - tabs_before[k] for k in tabs_after}
    return {
        "minutes": minutes,
        "cpu": sum(cpu_after[p] - cpu_before[p] for p in cpu_after if p in cpu_before),
        "pg_cpu": sum(last - first for first, last in backend_cpu.values()),
        "queries": xact_after - xact_before,
        "conns": max(s["conns"] for s in samples),
        "redis": max(s["redis"] for s in samples),
        "threads": max(s["threads"] for s in samples),
        "rss": max(s["rss"] for s in samples),
        "db_max": max(s["db"] for s in samples),
        "db_mean": statistics.mean(s["db"] for s in samples),
        **done,
    }


async def deliver(channel: str, env: dict, tabs: list[Tab], args) -> list[float]:
    """Record one open for each of --deliveries tabs' users, --spacing s
    apart; each one's seconds from the write's commit to its tab's new count."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "bench" / "live_child.py"), "opens",
        cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    chosen = random.sample(tabs, args.deliveries)
    committed = {}
    for tab in chosen:
        child.stdin.write(f"{tab.recipient}\n".encode())
        await child.stdin.drain()
        committed[tab.recipient] = json.loads(await child.stdout.readline())["committed"]
        await asyncio.sleep(args.spacing)
    child.stdin.close()
    await child.wait()
    deadline = time.monotonic() + 3 * args.interval
    while time.monotonic() < deadline and any(1 not in t.seen for t in chosen):
        await asyncio.sleep(0.1)
    return [t.seen[1] - committed[t.recipient] if 1 in t.seen else float("inf") for t in chosen]


async def measure(channel: str, env: dict, users: list[dict], args) -> dict:
    port = free_port()
    # onepage-live's own setting (deploy/systemd/onepage-live.service).
    server_env = env if channel == "polling" else {**env, "CONN_MAX_AGE": "0"}
    server = start(server_argv(channel, port, args), server_env, port)
    gc.collect()  # start()'s probe: an HTTPError, in a reference cycle, keeps its socket until collected
    tasks = []
    try:
        pids = tree(server.pid)
        at_rest, rss_at_rest, cpu_before = threads(pids), resident_mb(pids), cpu_seconds(pids)
        tabs = [Tab(**u) for u in users]
        opener = poll if channel == "polling" else stream  # each tab opens within the first interval
        tasks = [asyncio.create_task(opener(t, port, args.interval)) for t in tabs]
        await asyncio.sleep(args.interval + args.settle)  # all open, the first polls' connections made
        cpu_opened = cpu_seconds(pids)
        ramp = {"ramp_cpu": sum(cpu_opened[p] - cpu_before[p] for p in cpu_opened if p in cpu_before),
                "ramp_requests": totals(tabs)["requests"]}  # fmt: skip
        db = Database(env["DATABASE_URL"])
        try:
            result = await idle(server, port, db, tabs, args.window)
        finally:
            db.conn.close()
        latencies = await deliver(channel, env, tabs, args)
        result.update(at_rest=at_rest, rss_at_rest=rss_at_rest, latencies=latencies, bad_total=totals(tabs)["bad"],
                      connects_total=totals(tabs)["connects"], **ramp)  # fmt: skip
        print(f"{channel}: done", flush=True)
        return result
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        stop(server)


def report(results: dict[str, dict], tabs: int) -> None:
    def pum(r: dict, key: str) -> float:  # per user per minute
        return r[key] / tabs / r["minutes"]

    def per_request(r: dict) -> float:  # the tabs' first interval: each opened its stream, or polled once or twice
        return 1000 * r["ramp_cpu"] / max(r["ramp_requests"], 1)

    rows = [
        ("server CPU, ms per user per minute", lambda r: 1000 * pum(r, "cpu"), "{:.1f}"),
        ("PostgreSQL CPU, ms per user per minute (at least)", lambda r: 1000 * pum(r, "pg_cpu"), "{:.1f}"),
        ("requests per user per minute", lambda r: pum(r, "requests"), "{:.1f}"),
        ("server CPU ms per request while opening (a poll, a stream)", per_request, "{:.2f}"),
        ("database queries per minute, all tabs", lambda r: r["queries"] / r["minutes"], "{:,.0f}"),
        ("database queries per user per minute", lambda r: pum(r, "queries"), "{:.1f}"),
        ("TCP connections held by the server, idle (max)", lambda r: r["conns"], "{:.0f}"),
        ("Redis connections held by the server, idle (max)", lambda r: r["redis"], "{:.0f}"),
        ("database connections open, idle (max)", lambda r: r["db_max"], "{:.0f}"),
        ("database connections open, idle (mean)", lambda r: r["db_mean"], "{:.1f}"),
        ("server threads: at rest", lambda r: r["at_rest"], "{:.0f}"),
        (f"server threads: {tabs} tabs idle (max)", lambda r: r["threads"], "{:.0f}"),
        ("server memory (RSS), MB at rest", lambda r: r["rss_at_rest"], "{:.0f}"),
        (f"server memory (RSS), MB with {tabs} tabs idle (max)", lambda r: r["rss"], "{:.0f}"),
        ("worker-thread ms per user per minute (round trips)", lambda r: 1000 * pum(r, "busy"), "{:.1f}"),
        ("delivery latency, median s", lambda r: statistics.median(r["latencies"]), "{:.2f}"),
        ("delivery latency, 95th percentile s", lambda r: _quantile(r["latencies"], 0.95), "{:.2f}"),
        ("delivery latency, max s", lambda r: max(r["latencies"]), "{:.2f}"),
        ("deliveries within 5 s", lambda r: sum(x <= 5 for x in r["latencies"]), "{:.0f}"),
        ("connections the tabs opened, whole run", lambda r: r["connects_total"], "{:.0f}"),
        ("errors (non-200, broken connections), whole run", lambda r: r["bad_total"], "{:.0f}"),
    ]
    print(f"\n{'per ' + str(tabs) + ' open tabs':58} {'polling':>10} {'SSE':>10} {'SSE/poll':>9}")
    for label, value, fmt in rows:
        a, b = value(results["polling"]), value(results["SSE"])
        ratio = f"{b / a:9.3g}" if a else f"{'-':>9}"
        print(f"{label:58} {fmt.format(a):>10} {fmt.format(b):>10} {ratio}")


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tabs", type=int, default=200)
    parser.add_argument("--window", type=float, default=50, help="seconds of idle tabs measured per channel")
    parser.add_argument("--interval", type=float, default=5, help="seconds between a tab's polls")
    parser.add_argument("--settle", type=float, default=3, help="seconds after the tabs opened, before measuring")
    parser.add_argument("--deliveries", type=int, default=30, help="opens recorded per channel, timed")
    parser.add_argument("--spacing", type=float, default=0.2, help="seconds between two of those opens")
    parser.add_argument("--threads", type=int, default=4, help="WSGI: granian's blocking threads per worker")
    args = parser.parse_args()
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="onepage-live-"))
    env = own_environment(workdir, "live")
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        out = subprocess.run([sys.executable, str(ROOT / "bench" / "live_child.py"), "seed", str(args.tabs)],
                             cwd=ROOT, env=env, capture_output=True, text=True, check=True)  # fmt: skip
        users = json.loads(out.stdout.strip().splitlines()[-1])
        results = {channel: asyncio.run(measure(channel, env, users, args)) for channel in CHANNELS}
    finally:
        drop_environment(env, workdir)
    report(results, args.tabs)
    print(f"\n(one run, {time.monotonic() - started:.0f} s; idle window {args.window:.0f} s per channel)")


if __name__ == "__main__":
    main()
