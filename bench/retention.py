"""The retention purge of a million open events, while the pixel path keeps
recording: how long it takes, how long each batch holds its locks, and what
an open written meanwhile waits.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/onepage \\
    .venv/bin/python bench/retention.py [events]

Runs against a throwaway database (bench_<name>, dropped at the end); needs
PostgreSQL (the events are made by generate_series). Prints the purge's
total time and rate, each batch's median and longest time, the latency of
opens written by the writer (tracking.writer.write_opens) in a second
thread during the purge, and whether the counters agree with the events left.
"""

import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # feed_data
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onepage.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, setup_test_environment, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402

EMAILS = 1000
MAX_EVENTS = 1_000_000


def main() -> None:
    events = min(int(sys.argv[1]) if len(sys.argv) > 1 else MAX_EVENTS, MAX_EVENTS)
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("needs PostgreSQL (DATABASE_URL)")
    database.setdefault("TEST", {})["NAME"] = f"bench_{database['NAME']}"
    settings.REDIS_URL = ""  # the writer writes directly: the path that takes locks
    setup_test_environment()
    databases = setup_databases(verbosity=0, interactive=False)
    try:
        run(events)
    finally:
        connection.close()
        teardown_databases(databases, verbosity=0)


def make_expired(events: int, emails: int = EMAILS) -> tuple[list, list]:
    """`emails` tracked emails of a Business organization, one recipient
    each, and `events` opens 400 to 800 days old spread over them, email by
    email (through the models' columns: feed_data.insert_select), counters
    recounted. Returns (emails, recipients)."""
    from feed_data import insert_select

    from emails.models import Email, EmailRecipient
    from emails.tests.factories import EmailConfigurationFactory, EmailFactory
    from onepage.tests.factories import OrganizationFactory
    from tracking import counters
    from tracking.models import OpenEvent

    org = OrganizationFactory(plan="business")
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    sender = EmailFactory(organization=org).sender
    made = Email.objects.bulk_create(
        [
            Email(organization=org, sender=sender, subject=f"E{i}", body_text="Hi", track_opens=True)
            for i in range(emails)
        ]
    )
    recipients = EmailRecipient.objects.bulk_create(
        [EmailRecipient(email=e, address=f"r{e.pk}@example.org", track_opens=True) for e in made]
    )
    insert_select(
        OpenEvent,
        {
            "recipient": "r.id",
            "email": "r.email_id",
            "opened_at": "now() - interval '400 days' - (g.n %% 400) * interval '1 day'",
        },
        """FROM generate_series(0, %(events)s - 1) AS g(n)
        JOIN emails_emailrecipient r ON r.id = %(first)s + g.n / %(per)s""",
        {"events": events, "first": recipients[0].pk, "per": max(1, events // emails)},
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tracking_openevent")
    counters.recount(email_ids=[e.pk for e in made])
    return made, recipients


def run(events: int) -> None:
    from emails.models import Email, EmailRecipient
    from emails.tests.factories import EmailFactory, EmailRecipientFactory
    from tracking import retention
    from tracking.models import OpenEvent

    started = time.perf_counter()
    emails, _ = make_expired(events)
    sender = emails[0].sender
    live = EmailRecipientFactory(email=EmailFactory(organization=emails[0].organization, sender=sender))
    print(f"{OpenEvent.objects.count():,} expired events made in {time.perf_counter() - started:.1f}s")

    latencies, stop = [], threading.Event()
    writer = threading.Thread(target=_write_opens_meanwhile, args=(live.pk, latencies, stop))
    writer.start()
    batch_times = []
    started = time.perf_counter()
    purged = 0
    while True:
        t0 = time.perf_counter()
        n = retention.purge_old_opens(max_batches=1)
        if not n:
            break
        batch_times.append(time.perf_counter() - t0)
        purged += n
    total = time.perf_counter() - started
    stop.set()
    writer.join()

    print(
        f"purged {purged:,} events in {total:.1f}s ({purged / total:,.0f}/s), "
        f"{len(batch_times)} batches of at most {retention.BATCH_SIZE}"
    )
    print(f"batch: median {statistics.median(batch_times) * 1000:.0f} ms, longest {max(batch_times) * 1000:.0f} ms")
    lat = sorted(latencies)
    print(
        f"opens written meanwhile: {len(lat)}, median {statistics.median(lat) * 1000:.1f} ms, "
        f"p95 {lat[int(len(lat) * 0.95)] * 1000:.1f} ms, longest {lat[-1] * 1000:.1f} ms"
    )
    agree = all(e.open_count == 0 for e in Email.objects.filter(pk__in=[e.pk for e in emails])) and all(
        r.open_count == OpenEvent.objects.filter(recipient=r).count() for r in EmailRecipient.objects.filter(pk=live.pk)
    )
    print(f"events left: {OpenEvent.objects.count():,}; counters agree: {agree}")


def _write_opens_meanwhile(recipient_id: int, latencies: list[float], stop: threading.Event) -> None:
    from tracking.hits import Open, new_hit_key
    from tracking.writer import write_opens

    try:
        while not stop.is_set():
            t0 = time.perf_counter()
            write_opens(opens=[Open(recipient_id=recipient_id, opened_at=timezone.now(), key=new_hit_key())])
            latencies.append(time.perf_counter() - t0)
            time.sleep(0.02)
    finally:
        connection.close()


if __name__ == "__main__":
    main()
