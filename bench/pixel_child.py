"""The Django side of bench/pixel_load.py, run in a child process with the
bench's environment (its throwaway database and stream):

    pixel_child.py seed                      -> JSON: emails, recipients, tokens
    pixel_child.py fill EMAIL_ID ROWS        -> ROWS old OpenEvents on the email, counters recounted
    pixel_child.py drain BATCH N IDS...      -> JSON: the recorder's opens/s for N hits on IDS
    pixel_child.py direct N IDS...           -> JSON: one direct write's parts, timed (N writes, one thread)
"""

import io
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onepage.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from feed_data import insert_select  # noqa: E402
from servers import MAIL_CLIENT  # noqa: E402

from emails.pixels import make_token  # noqa: E402
from emails.tests.factories import EmailFactory, EmailRecipientFactory  # noqa: E402
from tracking import counters, stream, writer  # noqa: E402
from tracking.classify import Signals  # noqa: E402
from tracking.hits import Open, new_hit_key  # noqa: E402
from tracking.models import OpenEvent  # noqa: E402
from tracking.recorder import Recorder  # noqa: E402


def seed(recipients: int = 1000) -> dict:
    out = {}
    for name in ("fresh", "big", "peer", "filler"):
        email = EmailFactory(subject=f"bench pixel: {name}")
        rows = EmailRecipientFactory.create_batch(recipients if name != "filler" else 1, email=email)
        out[name] = {"email": email.pk, "ids": [r.pk for r in rows], "tokens": [make_token(r.pk) for r in rows]}
    return out


def fill(email_id: int, rows: int) -> dict:
    """ROWS opens spread over the email's recipients, as old as a year, with
    keys like the pixel's; then counters recounted by recount_opens."""
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT array_agg(id) FROM emails_emailrecipient WHERE email_id = %s", [email_id])
        (ids,) = cursor.fetchone()
    insert_select(
        OpenEvent,
        {
            "recipient": "(%(ids)s::bigint[])[1 + g %% %(n)s]",
            "email": "%(email)s",
            "opened_at": "now() - interval '365 days' + g * interval '1 ms'",
            "hit_key": "gen_random_uuid()::text",
        },
        "FROM generate_series(1, %(rows)s) AS g",
        {"ids": ids, "n": len(ids), "email": email_id, "rows": rows},
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tracking_openevent")
    call_command("recount_opens", stdout=io.StringIO())
    return {"rows": rows, "seconds": round(time.monotonic() - started, 1)}


def drain(batch_size: int, hits: int, ids: list[int]) -> dict:
    """HITS opens of IDS put on the stream as the pixel does, then recorded
    by a Recorder in this process; opens/s of the recording alone."""
    client = stream.client(settings.REDIS_URL)
    now, seen = datetime.now(UTC), Signals(**MAIL_CLIENT)
    for start in range(0, hits, 5000):
        with client.pipeline(transaction=False) as pipe:
            for _ in range(min(5000, hits - start)):
                hit = Open(recipient_id=random.choice(ids), opened_at=now, key=new_hit_key(), signals=seen)
                pipe.xadd(settings.OPEN_STREAM, stream.entry(hit))
            pipe.execute()
    recorder = Recorder(batch_size=batch_size, block_ms=100)
    stream.ensure_group(recorder.client)
    started = time.monotonic()
    while recorder.recorded < hits:
        if not recorder.step() and client.xlen(settings.OPEN_STREAM) == 0:
            break
    seconds = time.monotonic() - started
    recorder.close()  # its helper thread: the last acknowledgement
    emails = list({e for e in _emails_of(ids)})
    return {
        "batch": batch_size,
        "recorded": recorder.recorded,
        "rate": round(recorder.recorded / seconds),
        "counters_equal_events": counters.disagreeing(email_ids=emails) == [],
    }


def direct(writes: int, ids: list[int]) -> dict:
    """N direct writes (tracking.writer.write_opens, as the pixel without
    Redis), one at a time: the medians of the whole write, of the time the
    email row is locked (from the SELECT ... FOR UPDATE to the end of the
    commit), of the statements in it, and of the commit (the WAL flush)."""
    parts: dict[str, list[float]] = {"write": [], "locked": [], "statements": [], "commit": []}
    for n in range(writes):
        log: list[tuple[float, float, str]] = []
        commit: dict[str, float] = {}

        def timed(execute, sql, params, many, context, log=log):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                log.append((started, time.perf_counter(), sql.split()[0]))

        real_commit = connection._commit

        def timed_commit(real_commit=real_commit, commit=commit):
            commit["start"] = time.perf_counter()
            try:
                return real_commit()
            finally:
                commit["end"] = time.perf_counter()

        hit = Open(recipient_id=random.choice(ids), opened_at=datetime.now(UTC), key=new_hit_key())
        connection._commit = timed_commit
        try:
            with connection.execute_wrapper(timed):
                started = time.perf_counter()
                writer.write_opens(opens=[hit])
                ended = time.perf_counter()
        finally:
            connection._commit = real_commit
        if n < writes // 10:
            continue  # warming up
        locked_from = next(start for start, _, kind in log if kind == "SELECT")
        parts["write"].append(ended - started)
        parts["locked"].append(commit["end"] - locked_from)
        parts["statements"].append(sum(end - start for start, end, _ in log))
        parts["commit"].append(commit["end"] - commit["start"])
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        (synchronous_commit,) = cursor.fetchone()
    return {
        "statements": [kind for _, _, kind in log],
        "synchronous_commit": synchronous_commit,
        **{f"{name}_ms": round(statistics.median(times) * 1000, 2) for name, times in parts.items()},
    }


def _emails_of(ids: list[int]) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT email_id FROM emails_emailrecipient WHERE id = ANY(%s)", [ids])
        return [row[0] for row in cursor.fetchall()]


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "seed":
        result = seed()
    elif command == "fill":
        result = fill(int(args[0]), int(args[1]))
    elif command == "direct":
        result = direct(int(args[0]), [int(a) for a in args[1:]])
    else:
        result = drain(int(args[0]), int(args[1]), [int(a) for a in args[2:]])
    print(json.dumps(result))
