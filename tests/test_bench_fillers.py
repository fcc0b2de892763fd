"""Every bench filler, on a small shape, against PostgreSQL: a NOT NULL
column added to a model breaks this test, not `make bench` on a fresh
machine (issue 23: report_data.py's hand-written INSERTs left automatic_count
and verdict out, and reports.py could not fill a new database).

The fillers write with INSERT ... SELECT generate_series (PostgreSQL only):
skipped on SQLite, run in the PostgreSQL + Redis run of `make test`."""

import sys
from pathlib import Path

import pytest
from django.db import connection

from emails.models import Email, EmailRecipient
from tracking import counters
from tracking.models import OpenEvent

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture(autouse=True)
def _postgresql_and_bench_path(db):
    if connection.vendor != "postgresql":
        pytest.skip("the bench fillers are PostgreSQL's (generate_series)")
    sys.path.insert(0, str(BENCH))
    yield
    sys.path.remove(str(BENCH))


def _emails_of(org) -> list[int]:
    return list(Email.objects.filter(organization=org).values_list("pk", flat=True))


def _opens_of(org) -> int:
    return OpenEvent.objects.filter(email__organization=org).count()


def test_report_data_fills_a_fresh_database():
    import report_data

    shape = report_data.Shape("Bench test: reports", emails=40, opens=120, reps=2, contacts=6, busy_every=5)
    org = report_data.fill(shape, refill=False)
    assert Email.objects.filter(organization=org).count() == 40
    assert _opens_of(org) == 120
    # The counters as the recording pipeline would have left them.
    assert counters.disagreeing(email_ids=_emails_of(org)) == []


def test_feed_data_outreach_verdicts_and_the_heavy_contact_fill():
    import contact_grid
    import feed_data
    import outreach

    shape = feed_data.Shape("Bench test: feed", "tfeed", emails=30, opens=90, reps=2, contacts=5, every=60)
    org = feed_data.fill(shape, refill=False)
    assert Email.objects.filter(organization=org).count() == 30
    assert _opens_of(org) == 90
    outreach.give_verdicts(org)
    assert Email.objects.filter(organization=org, automatic_count__gt=0).exists()
    assert counters.disagreeing(email_ids=_emails_of(org)) == []
    contact_grid.make_heavy(org, 200)
    assert _opens_of(org) == 290


def test_pixel_load_fill_of_old_opens():
    import pixel_child

    seeded = pixel_child.seed(recipients=5)
    result = pixel_child.fill(seeded["big"]["email"], 50)
    assert result["rows"] == 50
    assert OpenEvent.objects.filter(email_id=seeded["big"]["email"]).count() == 50
    # recount_opens set the counters from those events.
    assert Email.objects.get(pk=seeded["big"]["email"]).open_count == 50
    assert counters.disagreeing(email_ids=[seeded["big"]["email"]]) == []


def test_retention_fill_of_expired_opens():
    import retention

    emails, recipients = retention.make_expired(200, emails=20)
    assert OpenEvent.objects.filter(email_id__in=[e.pk for e in emails]).count() == 200
    assert (
        sum(EmailRecipient.objects.filter(pk__in=[r.pk for r in recipients]).values_list("open_count", flat=True))
        == 200
    )
    assert counters.disagreeing(email_ids=[e.pk for e in emails]) == []
