"""Where the recorder's time goes (issue 23: the recorder >= 2x the pixel),
on the same hits as bench/pixel_load.py's recorder measurement.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/onepage_bench \\
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/recorder_profile.py \\
    [--hits 30000] [--batch 2000] [--signals] [--top N]

In a throwaway database and stream (as pixel_load.py), HITS opens of a
1,000-recipient email are put on the stream as pixel_child.py's drain does
(with --signals, as the pixel appends them: their verdict, hits.kept_signals), then a Recorder in a
child process records them: first timed alone (opens/s), then again on as
many new hits under cProfile, with every SQL statement timed by its kind
(and with --top, the N functions with the most time of their own).
It prints, per batch: the wall time of each part (reading the stream,
parsing, the writer's statements, the commit, the listeners after it, the
acknowledgement) and the statements' count and time, the team's rollup
(emails.rollup.changing) apart; then, on as many new hits again, each part
timed by a wall clock wrapped around it, without the profiler (the reading,
the entries' parsing and the acknowledgement run in the recorder's helper
thread, beside the writing: they are not on its path, but hold the GIL
while they parse, which the writing thread's Python parts then wait for).
With Redis, the notifications are made by
the Celery worker (NOTIFY_IN_WORKER, alerts.tasks.notify_open_batch): the hand-off
is the recorder's part, and the tasks stay in the queue (deleted at the end);
NOTIFY_IN_WORKER=false in the environment measures them in the recorder.
"""

import argparse
import collections
import cProfile
import inspect
import json
import os
import pstats
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Functions whose cumulative time is shown, in the order a batch runs them.
PARTS = [
    ("stream read (XREADGROUP, XAUTOCLAIM)", "tracking/stream.py", "next_batch"),
    ("entries to opens", "tracking/stream.py", "opens_from_entries"),
    ("write_opens (in the transaction)", "tracking/writer.py", "write_opens"),
    ("  recipients locked and loaded (ORM)", "tracking/writer.py", "_lock_recipients"),
    ("  policy (open_mode)", "tracking/writer.py", "_mode"),
    ("  aggregate markers (Redis)", "tracking/recent.py", "markers"),
    ("  events and verdicts", "tracking/writer.py", "_events"),
    ("  INSERT ... RETURNING", "tracking/counters.py", "insert_events"),
    ("  counters (add_opens)", "emails/counters.py", "add_opens"),
    ("    the team's rollup: its 2 reads", "emails/rollup.py", "_facts"),
    ("    the team's rollup: its write", "emails/rollup.py", "add_to_rows"),
    ("  announce", "tracking/recorded.py", "announce"),
    ("commit", "django/db/backends/base/base.py", "commit"),
    ("listeners after the commit (alerts' hand-off)", "alerts/tasks.py", "hand_off"),
    ("  alerts.notify (in the worker since issue 23)", "alerts/creation.py", "notify"),
    ("acknowledge (XACK + XDEL)", "tracking/stream.py", "acknowledge"),
    ("spool check", "tracking/spool.py", "size"),
]


def parent(args) -> None:
    from pixel_load import child
    from servers import ROOT, drop_environment, own_environment

    workdir = Path(tempfile.mkdtemp(prefix="onepage-recorder-profile-"))
    env = own_environment(workdir, "recorder")
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        ids = child(env, "seed")["fresh"]["ids"]
        options = [args.hits, args.batch, int(args.signals), args.top, *ids]
        argv = [sys.executable, __file__, "--child", *map(str, options)]
        subprocess.run(argv, cwd=ROOT, env=env, check=True)
    finally:
        drop_environment(env, workdir)


def run_child(hits: int, batch: int, signals: bool, top_functions: int, ids: list[int]) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onepage.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from servers import MAIL_CLIENT

    from tracking import stream
    from tracking.classify import Signals
    from tracking.hits import Open, new_hit_key
    from tracking.recorder import Recorder

    client = stream.client(settings.REDIS_URL)

    def put() -> None:
        now = datetime.now(UTC)
        seen = Signals(**MAIL_CLIENT) if signals else None
        for start in range(0, hits, 5000):
            with client.pipeline(transaction=False) as pipe:
                for _ in range(min(5000, hits - start)):
                    hit = Open(recipient_id=random.choice(ids), opened_at=now, key=new_hit_key(), signals=seen)
                    pipe.xadd(settings.OPEN_STREAM, stream.entry(hit))
                pipe.execute()

    def record(recorder: Recorder) -> tuple[float, int]:
        started, batches = time.monotonic(), 0
        goal = recorder.recorded + hits
        while recorder.recorded < goal:
            batches += 1
            if not recorder.step() and client.xlen(settings.OPEN_STREAM) == 0:
                break
        return time.monotonic() - started, batches

    recorder = Recorder(batch_size=batch, block_ms=100)
    stream.ensure_group(recorder.client)
    put()
    seconds, batches = record(recorder)
    print(f"recorder alone: {hits:,} opens in {seconds:.2f} s, {hits / seconds:,.0f} opens/s, batch {batch}")

    statements: dict[str, list[float]] = collections.defaultdict(list)

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements[_kind(sql)].append(time.perf_counter() - started)

    put()
    profiler = cProfile.Profile()
    with connection.execute_wrapper(timed):
        profiler.enable()
        seconds, batches = record(recorder)
        profiler.disable()
    print(f"under cProfile: {seconds:.2f} s, {batches} batches; per batch (ms, cumulative, of the profiled run):")
    stats = pstats.Stats(profiler).stats
    for label, path, name in PARTS:
        total = sum(v[3] for (file, _, func), v in stats.items() if func == name and file.endswith(path))
        print(f"  {label:46} {total * 1000 / batches:8.1f}  {total / seconds:6.1%}")
    if top_functions:
        print("functions by their own time (cProfile's tottime), per batch:")
        top = sorted(stats.items(), key=lambda kv: -kv[1][2])[:top_functions]
        for (file, line, func), v in top:
            print(f"  {v[2] * 1000 / batches:6.2f} ms {v[1] / batches:7.0f} calls  {func} ({file[-40:]}:{line})")
    print("SQL statements per batch (count, ms):")
    for kind, times in sorted(statements.items(), key=lambda kv: -sum(kv[1])):
        print(f"  {kind:46} {len(times) / batches:5.1f} {sum(times) * 1000 / batches:8.1f}")
    put()
    clocks = clocked_parts()
    with connection.execute_wrapper(timed):
        seconds, batches = record(recorder)
    print(f"clocked (each part's wall time, no profiler): {seconds:.2f} s, {batches} batches, "
          f"{hits / seconds:,.0f} opens/s; per batch (ms):")  # fmt: skip
    for label, _, _ in PARTS:
        print(f"  {label:46} {sum(clocks[label]) * 1000 / batches:8.1f}")
    worker_time(client, 3 * batches)
    print(json.dumps({"hits": hits, "batch": batch, "signals": signals}))


def clocked_parts() -> dict[str, list[float]]:
    """Wrap each of PARTS' functions with a wall clock, wherever a module
    holds it (its own, and those that imported it by name): the parts' own
    time without cProfile's cost per call, which inflates the Python-heavy
    parts several times over."""
    from tracking import recorded

    clocks: dict[str, list[float]] = collections.defaultdict(list)
    for label, path, name in PARTS:
        # Functions of modules, and methods of the classes modules define.
        holders = [m for m in list(sys.modules.values()) if getattr(m, "__file__", None)]
        holders += [c for m in holders for c in vars(m).values() if isinstance(c, type) and c.__module__ == m.__name__]
        for holder in holders:
            original = vars(holder).get(name)
            # Under its decorators (the commit's async_unsafe).
            code = getattr(inspect.unwrap(original), "__code__", None) if callable(original) else None
            if code is None or not code.co_filename.endswith(path):
                continue

            def clocked(*args, _original=original, _times=clocks[label], **kwargs):
                started = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    _times.append(time.perf_counter() - started)

            setattr(holder, name, clocked)
            # The listeners tracking.recorded calls after the commit.
            recorded._listeners[:] = [clocked if f is original else f for f in recorded._listeners]
    return clocks


def worker_time(client, batches: int) -> None:
    """The notification tasks the recorder handed off (NOTIFY_QUEUE), run
    here one after another as the worker would: the work the recorder no
    longer does, per batch (`batches`: of all the runs whose tasks are in
    the queue)."""
    import base64

    from django.conf import settings

    from alerts.tasks import notify_open_batch

    if not settings.NOTIFY_IN_WORKER or not settings.NOTIFY_QUEUE:
        return
    messages = client.lrange(settings.NOTIFY_QUEUE, 0, -1)
    client.delete(settings.NOTIFY_QUEUE)
    started = time.monotonic()
    for message in messages:
        (groups,), _, _ = json.loads(base64.b64decode(json.loads(message)["body"]))
        notify_open_batch(groups)
    seconds = time.monotonic() - started
    print(f"the worker's part: {len(messages)} tasks of the three runs in {seconds:.2f} s, "
          f"{seconds * 1000 / batches:.1f} ms per batch (run in this process)")  # fmt: skip


def _kind(sql: str) -> str:
    """A statement's kind: its verb and the table it reads or writes first
    (add_opens's and the rollup's `WITH v AS (VALUES ...)` by their UPDATE or
    INSERT)."""
    verb = sql.split(None, 1)[0].upper()
    if verb == "WITH":
        verb = next((v for v in ("UPDATE", "INSERT") if f" {v} " in sql), verb)
        sql = sql[sql.find(f" {verb} ") :]  # not the table of its WITH (unnest, VALUES)
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', sql)
    return f"{verb} {table[1] if table else '?'}"


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        hits, batch, signals, top, *ids = map(int, sys.argv[2:])
        run_child(hits, batch, signals == 1, top, ids)
    else:
        parser = argparse.ArgumentParser()
        parser.add_argument("--hits", type=int, default=30_000)
        parser.add_argument("--batch", type=int, default=2000)
        parser.add_argument("--signals", action="store_true", help="entries with the signals the pixel appends")
        parser.add_argument("--top", type=int, default=0, help="also list the N functions with the most own time")
        parent(parser.parse_args())
