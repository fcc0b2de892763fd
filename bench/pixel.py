"""How much a pixel request costs, side by side in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/onepage \\
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/pixel.py [requests]

Requests go through Django's full WSGI stack (middleware included) in this
process, against a throwaway database (bench_<name>, dropped at the end) and a
throwaway Redis stream: nothing else is touched and no network beyond
127.0.0.1 is used. The three kinds of request are interleaved so that they
share the machine's ups and downs:

  forged   a token whose signature fails: the floor, no database, no Redis
  direct   a valid token written to the database (no Redis, or Redis down)
  stream   a valid token appended to the Redis stream (needs REDIS_URL)
  stream-nv the same with OPEN_VERDICTS off: no signals read (the cost of
           the verdicts' signals is stream / stream-nv)
  fallback a valid token while Redis refuses connections: written directly

It prints each kind's median and 95th percentile, their ratios to the forged
floor, and how fast the drain then moves the streamed opens into the database.
"""

import gc
import logging
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onepage.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    override_settings,
    setup_databases,
    setup_test_environment,
    teardown_databases,
)
from django.urls import reverse  # noqa: E402

logging.getLogger("tracking").setLevel(logging.ERROR)  # one warning per fallback

MAX_REQUESTS = 5000
RECIPIENTS = 50
WARM_UP = 20  # the first requests of each kind warm caches and connections
# What a desktop mail client sends with the pixel (the verdicts read the agent).
MAIL_CLIENT = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.6.0"}


def main() -> None:
    requests = min(int(sys.argv[1]) if len(sys.argv) > 1 else 300, MAX_REQUESTS)
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":  # SQLite's is in memory
        database.setdefault("TEST", {})["NAME"] = f"bench_{database['NAME']}"
    # Keep the one stock host of the test client.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    setup_test_environment()
    databases = setup_databases(verbosity=0, interactive=False)
    try:
        run(requests)
    finally:
        teardown_databases(databases, verbosity=0)


def run(requests: int) -> None:
    from emails.pixels import make_token
    from emails.tests.factories import EmailFactory, EmailRecipientFactory
    from tracking.stream import client as redis_client

    email = EmailFactory()
    recipients = EmailRecipientFactory.create_batch(RECIPIENTS, email=email)
    urls = [reverse("tracking:pixel", args=[make_token(r.pk)]) for r in recipients]
    forged = reverse("tracking:pixel", args=[make_token(recipients[0].pk)[:-2] + "xx"])
    redis_url = settings.REDIS_URL
    stream = f"bench:opens:{uuid.uuid4().hex}"

    kinds = {"forged": (lambda n: forged, "")}
    kinds["direct"] = (lambda n: urls[n % RECIPIENTS], "")
    if redis_url:
        kinds["stream"] = (lambda n: urls[n % RECIPIENTS], redis_url)
        kinds["stream-nv"] = (lambda n: urls[n % RECIPIENTS], redis_url)
    # Nothing listens on port 1: refused at once, then written directly.
    kinds["fallback"] = (lambda n: urls[n % RECIPIENTS], "redis://127.0.0.1:1/0")

    print(f"{requests} requests of each kind, {connection.vendor}, Redis: {redis_url or 'none'}")
    try:
        # The rate limit is checked (its cost measured) but never reached.
        with override_settings(OPEN_STREAM=stream, OPENS_PER_RECIPIENT_PER_MINUTE=10**9):
            timings = _measure(kinds, requests)
            _print_timings(timings)
            if "stream" in timings:
                with override_settings(REDIS_URL=redis_url):
                    _drain(expected=2 * (requests + WARM_UP))
    finally:
        if redis_url:
            redis_client(redis_url).delete(stream)


def _measure(kinds: dict, requests: int) -> dict[str, list[float]]:
    """Each kind's request in turn, so that all share the machine's ups and
    downs; in a shuffled order, for the request after a direct write pays for
    it (some 0.3 ms) whatever its kind."""
    timings: dict[str, list[float]] = {kind: [] for kind in kinds}
    client = Client()
    order = list(kinds.items())
    shuffle = random.Random(15).shuffle
    for n in range(requests + WARM_UP):
        shuffle(order)
        for kind, (url, kind_redis) in order:
            with override_settings(REDIS_URL=kind_redis, OPEN_VERDICTS=kind != "stream-nv"):
                start = time.perf_counter()
                response = client.get(url(n), headers=MAIL_CLIENT)
                elapsed = time.perf_counter() - start
            assert response.status_code == 200 and len(response.content) == 43
            if n >= WARM_UP:
                timings[kind].append(elapsed)
    return timings


def _print_timings(timings: dict[str, list[float]]) -> None:
    floor = statistics.median(timings["forged"])
    print(f"{'kind':9} {'median':>10} {'p95':>10} {'x forged':>9}")
    for kind, values in timings.items():
        median = statistics.median(values)
        p95 = statistics.quantiles(values, n=20)[-1]
        print(f"{kind:9} {median * 1e3:8.3f}ms {p95 * 1e3:8.3f}ms {median / floor:9.1f}")
    if "stream" in timings:
        ratio = statistics.median(timings["direct"]) / statistics.median(timings["stream"])
        print(f"direct / stream: {ratio:.1f}")
        signals = statistics.median(timings["stream"]) / statistics.median(timings["stream-nv"])
        print(f"stream / stream-nv (the verdicts' signals): {signals:.3f}")


def _drain(*, expected: int) -> None:
    from tracking import recorder
    from tracking.models import OpenEvent

    before = OpenEvent.objects.count()
    # A collection set up by the requests before would otherwise land in
    # the drain's 120 ms now and then (a third of its rate).
    gc.collect()
    start = time.perf_counter()
    drained = recorder.drain_opens(max_batches=MAX_REQUESTS)
    elapsed = time.perf_counter() - start
    assert OpenEvent.objects.count() - before == drained == expected
    print(f"drain: {drained} opens in {elapsed * 1e3:.0f}ms ({drained / elapsed:,.0f} opens/s)")


if __name__ == "__main__":
    main()
