"""What the pixel's WAIT costs under Sentinel (README: Redis under Sentinel):
the stream append (tracking.stream.append, on the thread's kept connection)
timed in-process against a master with one replica and three Sentinels that
this script starts on free 127.0.0.1 ports (tests/faults/sentinel.py), with
OPEN_REPLICA_WAIT_MS=100 (the Sentinel default: EVALSHA, then WAIT 1 100) and
=0 (EVALSHA only), alternately, `--rounds` times; and the same append to one
Redis (the master addressed directly). CPU and wall microseconds per call,
wall p50 and p99. Touches no database.

With --wrk SECONDS, the same three ways as a web server: granian (2 workers
of 4 threads, production settings) answering valid pixels, driven by wrk (16
connections, as bench/pixel_load.py's B), in rounds whose order rotates:
requests a second, p50 and p99. DATABASE_URL must be on 127.0.0.1 (the
stream pixel does not query it; an open written directly would).

With --lag, what each way loses when the master dies with its replica
behind: a fresh set, the master's link to its replica cut (CLIENT KILL TYPE
replica: the replica reconnects within a second), 20 appends at once, the
master SIGKILLed, Sentinel's failover; then, of the appends the pixel would
have answered as recorded in the stream, those missing on the new master
(lost), and those that went the direct way (NotReplicated: written to the
database by tracking.intake), with OPEN_REPLICA_WAIT_MS 0 and 100.

    .venv/bin/python bench/pixel_wait.py [-n 20000] [--rounds 3]
    .venv/bin/python bench/pixel_wait.py --lag [--rounds 3]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/onepage_h5 .venv/bin/python bench/pixel_wait.py --wrk 6
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--wrk", type=int, default=0, metavar="SECONDS", help="granian under wrk instead")
    parser.add_argument("--lag", action="store_true", help="what a failover loses, replica behind")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    database_url = os.environ.get("DATABASE_URL", "")
    if args.wrk and not database_url.startswith("postgres"):
        sys.exit("--wrk: set DATABASE_URL to a PostgreSQL on 127.0.0.1 (the stream pixel does not query it)")
    os.environ["DJANGO_SETTINGS_MODULE"] = "onepage.settings"
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.conf import settings
    from django.utils import timezone

    from tests.faults.sentinel import SentinelSet
    from tracking import ratelimit, stream
    from tracking.classify import Signals
    from tracking.hits import Open, new_hit_key

    settings.OPEN_STREAM = f"bench:wait:{os.getpid()}"
    settings.OPENS_PER_RECIPIENT_PER_MINUTE = 10**9
    seen = Signals(address="203.0.113.7", user_agent="Mozilla/5.0 (Windows NT 10.0) Chrome/120", prefetch=False)

    def append_one(url: str, i: int) -> tuple[str, str]:
        now = timezone.now()
        hit = Open(recipient_id=1000 + i % 1000, opened_at=now, key=new_hit_key(), signals=seen)
        return stream.append(url, hit, limit_key=ratelimit.limit_key(1000 + i % 1000, now.timestamp())), hit.key

    if args.lag:
        behind(args, SentinelSet, append_one)
        return
    nodes = SentinelSet(Path(tempfile.mkdtemp(prefix="onepage-bench-wait-")))
    nodes.start()
    try:
        ways = {
            "Sentinel, WAIT 1 100": (nodes.sentinel_url, 100),
            "Sentinel, no WAIT": (nodes.sentinel_url, 0),
            "one Redis, no WAIT": (f"redis://127.0.0.1:{nodes.master().port}/0", 0),
        }
        if args.wrk:
            under_load(ways, nodes, args, database_url)
            return
        results: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in ways}

        def append(url: str, i: int) -> str:
            return append_one(url, i)[0]

        for _ in range(args.rounds):
            for name, (url, wait_ms) in ways.items():
                settings.OPEN_REPLICA_WAIT_MS = wait_ms
                for i in range(args.n // 10):
                    append(url, i)  # warm up
                walls = []
                cpu = time.process_time()
                for i in range(args.n):
                    started = time.perf_counter()
                    assert append(url, i) == "stream"
                    walls.append(time.perf_counter() - started)
                cpu = time.process_time() - cpu
                walls.sort()
                results[name].append(
                    (cpu * 1e6 / args.n, sum(walls) * 1e6 / args.n, walls[len(walls) // 2] * 1e6,
                     walls[int(len(walls) * 0.99)] * 1e6)
                )  # fmt: skip
                stream.client(nodes.sentinel_url).delete(settings.OPEN_STREAM)
        print(f"{args.n:,} appends per way and round, {args.rounds} rounds; us per call: median of rounds (range)")
        print(f"{'':22} {'CPU':>16} {'wall':>16} {'wall p50':>16} {'wall p99':>16}")
        for name, rows in results.items():
            cells = []
            for column in zip(*rows, strict=True):
                cells.append(f"{statistics.median(column):6.1f} ({min(column):.0f}-{max(column):.0f})")
            print(f"{name:22} " + " ".join(f"{c:>16}" for c in cells))
    finally:
        nodes.close()


def behind(args, SentinelSet, append_one) -> None:
    from django.conf import settings

    from tracking import stream

    print("20 appends right after the master's link to its replica was cut, then the master SIGKILLed")
    print(f"{'OPEN_REPLICA_WAIT_MS':>20} {'answered, in the stream':>24} {'lost of those':>14} {'direct':>7}")
    for _ in range(args.rounds):
        for wait_ms in (0, 100):
            settings.OPEN_REPLICA_WAIT_MS = wait_ms
            nodes = SentinelSet(Path(tempfile.mkdtemp(prefix="onepage-bench-lag-")))
            nodes.start()
            try:
                append_one(nodes.sentinel_url, 0)  # connected, the script loaded
                nodes.wait_replicated()
                master = nodes.master()
                master.client().client_kill_filter(_type="replica")
                answered, direct = [], 0
                for i in range(20):
                    try:
                        answered.append(append_one(nodes.sentinel_url, i)[1])
                    except stream.NotReplicated:
                        direct += 1
                nodes.kill_master()
                nodes.wait_failover(master.port)
                kept = {fields["key"] for _, fields in nodes.master().client(decode_responses=True).xrange(
                    settings.OPEN_STREAM)}  # fmt: skip
                lost = sum(key not in kept for key in answered)
                print(f"{wait_ms:>20} {len(answered):>24} {lost:>14} {direct:>7}")
            finally:
                nodes.close()
                shutil.rmtree(nodes.folder, ignore_errors=True)


def under_load(ways: dict, nodes, args, database_url: str) -> None:
    from django.conf import settings

    sys.path.insert(0, str(ROOT / "bench"))
    from pixel_load import granian, start, wrk, wrk_script
    from servers import free_port, production_env, stop

    from emails.pixels import make_token
    from tracking import stream

    workdir = Path(tempfile.mkdtemp(prefix="onepage-bench-wait-wrk-"))
    os.environ["REDIS_URL"] = nodes.sentinel_url
    os.environ["DATABASE_URL"] = database_url
    base = production_env(str(workdir / "static"))
    settings.SECRET_KEY = base["SECRET_KEY"]
    script = wrk_script(workdir, "pixel", [f"/o/{make_token(r)}.gif" for r in range(1000, 2000)])
    stream_name = f"bench:wait:wrk:{os.getpid()}"
    results: dict[str, list[dict]] = {name: [] for name in ways}
    names = list(ways)
    for round_ in range(args.rounds):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            url, wait_ms = ways[name]
            env = {**base, "REDIS_URL": url, "OPEN_REPLICA_WAIT_MS": str(wait_ms), "OPEN_STREAM": stream_name,
                   "OPENS_PER_RECIPIENT_PER_MINUTE": "1000000000",
                   "OPEN_SPOOL_DIR": str(workdir / f"spool-{round_}-{names.index(name)}")}  # fmt: skip
            port = free_port()
            server = start(granian("onepage.wsgi:application", port, 4), env, port)
            try:
                wrk(port, script, 1)  # warm up
                results[name].append(wrk(port, script, args.wrk))
            finally:
                stop(server)
            # Opens the pixel could not leave in Redis: the direct write was
            # tried (this database has no tables) and they went to the spool.
            spool = Path(env["OPEN_SPOOL_DIR"]) / "opens.jsonl"
            results[name][-1]["fallbacks"] = len(spool.read_text().splitlines()) if spool.exists() else 0
            stream.client(nodes.sentinel_url).delete(stream_name)
    print(f"granian 2x4 under wrk (16 connections), {args.wrk} s a round, {args.rounds} rounds: median (range)")
    print(f"{'':22} {'req/s':>22} {'p50 ms':>18} {'p99 ms':>18} {'non-200/errors':>15} {'not in Redis':>13}")
    for name, rows in results.items():
        cells = []
        for k in ("rps", "p50", "p99"):
            column, digits = [r[k] for r in rows], 0 if k == "rps" else 2
            cells.append(f"{statistics.median(column):.{digits}f} ({min(column):.{digits}f}-{max(column):.{digits}f})")
        bad = sum(r["bad"] + r["errors"] for r in rows)
        fallbacks = sum(r["fallbacks"] for r in rows)
        print(f"{name:22} {cells[0]:>22} {cells[1]:>18} {cells[2]:>18} {bad:>15} {fallbacks:>13}")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
