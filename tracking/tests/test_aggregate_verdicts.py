"""Aggregate recipients get the same verdicts as identified ones. A recipient
counted in the email's total only (the EU rule on, as by default: a contact
of unknown country, or an address that is no contact) reads the copy the
way a real mail client does: Apple's prefetch and a gateway on delivery,
two renders of one reading seconds apart, the sender's own look, a second
reading later. The email's total counts the two readings; the rest are
automatic fetches; and no table holds anything that ties those opens to the
recipient. Written directly (the embedded default) and through the Redis
stream drained as a running recorder would (after each fetch)."""

import io
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import PIXEL_IN_COPY, read_in_mail_client, send_from_composer
from contacts.tests.factories import ContactFactory
from emails import rollup
from emails.models import Email, OutreachWeek, TrackingMode
from tracking import counters, recent
from tracking.models import OpenEvent, Verdict

pytestmark = pytest.mark.django_db

APPLE_ADDRESS, APPLE_AGENT = "17.58.63.74", "Mozilla/5.0"
GATEWAY_ADDRESS, GATEWAY_AGENT = "192.0.2.44", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"
NOT_A_CONTACT = "kunde@firma.de"
NO_COUNTRY = "nina@newlead.example"


def _snapshot() -> dict[str, dict]:
    """Every row of every table, by its first column (the primary key)."""
    quote = connection.ops.quote_name
    tables = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {quote(table)}")
            columns = [c[0] for c in cursor.description]
            tables[table] = {row[0]: dict(zip(columns, row, strict=True)) for row in cursor.fetchall()}
    return tables


def _changes(before: dict, after: dict) -> dict[str, list[dict]]:
    """Per table, the rows added or changed (only the changed columns, and the key)."""
    changed = {}
    for table, rows in after.items():
        for pk, row in rows.items():
            old = before.get(table, {}).get(pk)
            if old is None:
                changed.setdefault(table, []).append(row)
            elif old != row:
                changed.setdefault(table, []).append({k: v for k, v in row.items() if old.get(k) != v})
    return changed


def _fetch(path: str, *, address: str, agent: str) -> None:
    response = Client().get(path, REMOTE_ADDR=address, HTTP_USER_AGENT=agent)
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"


@pytest.mark.parametrize("address", [NO_COUNTRY, NOT_A_CONTACT])
def test_an_aggregate_recipient_read_in_a_mail_client_gets_the_same_verdicts(
    org, sender, rep_client, smtp_server, settle_opens, django_capture_on_commit_callbacks, address
):
    ContactFactory(organization=org, first_name="Nina", email=NO_COUNTRY, country="")
    email = send_from_composer(rep_client, django_capture_on_commit_callbacks, to=address, subject="Offer")
    recipient = email.recipients.get(address=address)
    assert recipient.tracking_mode == TrackingMode.AGGREGATE
    (url,) = PIXEL_IN_COPY.findall(smtp_server.received[-1].part("text/html"))
    path = urlsplit(url).path
    # The sender's browser carries the member cookie once a page was loaded.
    assert rep_client.get(reverse("emails:detail", args=[email.pk])).status_code == 200
    before = _snapshot()

    # On delivery: Apple Mail's privacy prefetch and a gateway's scan.
    _fetch(path, address=APPLE_ADDRESS, agent=APPLE_AGENT)
    _fetch(path, address=GATEWAY_ADDRESS, agent=GATEWAY_AGENT)
    assert settle_opens() == 2
    # Minutes later the recipient reads it: the client renders the pixel
    # twice, 4 seconds apart (the preview, then the message).
    read_in_mail_client(url, after=timedelta(minutes=3))
    assert settle_opens() == 1
    read_in_mail_client(url, after=timedelta(minutes=3, seconds=4))
    assert settle_opens() == 1
    # The sender looks at the copy in their own signed-in browser.
    with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=True):
        assert rep_client.get(path).status_code == 200
    assert settle_opens() == 1
    # And the recipient reads it again an hour later: an open again.
    read_in_mail_client(url, after=timedelta(hours=1))
    assert settle_opens() == 1

    events = OpenEvent.objects.filter(email=email).order_by("opened_at")
    assert list(events.values_list("verdict", flat=True)) == [
        Verdict.PRIVACY_PREFETCH,
        Verdict.EARLY,
        Verdict.HUMAN,
        Verdict.REPEAT,
        Verdict.SELF,
        Verdict.HUMAN,
    ]
    email.refresh_from_db()
    assert (email.open_count, email.automatic_count) == (2, 4)
    assert counters.disagreeing() == []
    out = io.StringIO()
    call_command("recount_opens", "--check", stdout=out)
    assert out.getvalue().startswith("0 counters differ")

    page = rep_client.get(reverse("emails:detail", args=[email.pk])).content.decode()
    assert "Opened 2 times" in page
    row = page[page.index(f'data-address="{address}"') :].split("</section>")[0]
    assert "Opens counted in the email&#x27;s total only" in row and "<time" not in row

    # Nothing in the database ties these opens to the recipient: the opens
    # added OpenEvents of no recipient and changed the email's counters and
    # the team's counts of its sender's week (Reports), nothing else.
    changes = _changes(before, _snapshot())
    weeks = OutreachWeek._meta.db_table
    assert set(changes) == {OpenEvent._meta.db_table, Email._meta.db_table, weeks}
    assert all(set(row) <= {"id", *rollup.COLUMNS} for row in changes[weeks])
    assert [row["recipient_id"] for row in changes[OpenEvent._meta.db_table]] == [None] * 6
    (email_row,) = changes[Email._meta.db_table]
    assert set(email_row) <= {"id", *counters.COUNTER_FIELDS}


def test_the_marker_of_an_aggregate_open_names_nobody_and_expires_with_the_repeat_window(
    org, sender, rep_client, smtp_server, redis_stream, django_capture_on_commit_callbacks
):
    """Between two renders the writer remembers the last counted open of an
    aggregate recipient in Redis, under a keyed hash (not the recipient's id
    or address), for the repeat window only."""
    from tracking import recorder
    from tracking.classify import REPEAT_SECONDS

    client, stream = redis_stream
    email = send_from_composer(rep_client, django_capture_on_commit_callbacks, to=NOT_A_CONTACT, subject="Offer")
    recipient = email.recipients.get()
    (url,) = PIXEL_IN_COPY.findall(smtp_server.received[-1].part("text/html"))
    read_in_mail_client(url)
    recorder.drain_opens()

    (marker,) = client.keys(f"{stream}:recent:*")
    name = marker.removeprefix(f"{stream}:recent:")
    assert str(recipient.pk) != name and NOT_A_CONTACT not in name and NOT_A_CONTACT not in client.get(marker)
    assert name == recent.marker_name(recipient.pk) != recent.marker_name(recipient.pk + 1)
    assert 0 < client.pttl(marker) <= REPEAT_SECONDS * 1000


def test_a_batch_written_again_after_its_transaction_failed_gets_the_same_verdicts(org, settle_opens):
    """The recorder reads a batch whose transaction failed again, hit for
    hit; the marker its first try left (which no rollback takes back) must
    not change the verdicts: Y is still a reload of X, Z a reading."""
    from django.db import transaction

    from emails.tests.factories import EmailFactory, EmailRecipientFactory
    from tracking.classify import Signals
    from tracking.hits import Open
    from tracking.writer import write_opens

    email = EmailFactory(organization=org)
    recipient = EmailRecipientFactory(email=email, contact=None, address=NOT_A_CONTACT)
    at = email.sent_at + timedelta(hours=1)
    reader = Signals(address="198.51.100.23", user_agent="Mozilla/5.0 (X11; Linux x86_64) Thunderbird/128.5.0")

    def hit(key: str, seconds: int) -> Open:
        return Open(recipient_id=recipient.pk, opened_at=at + timedelta(seconds=seconds), key=key, signals=reader)

    assert write_opens(opens=[hit("x", 0)]) == 1
    batch = [hit("y", 4), hit("z", 15)]
    with pytest.raises(RuntimeError), transaction.atomic():
        write_opens(opens=batch)
        raise RuntimeError("the commit failed")
    assert write_opens(opens=batch) == 2

    verdicts = dict(OpenEvent.objects.values_list("hit_key", "verdict"))
    assert verdicts == {"x": Verdict.HUMAN, "y": Verdict.REPEAT, "z": Verdict.HUMAN}
    email.refresh_from_db()
    assert (email.open_count, email.automatic_count) == (2, 1)
    assert counters.disagreeing() == []


def test_with_redis_refusing_the_markers_are_kept_in_this_process(org, settings, caplog):
    """Redis configured but refusing (a direct write during an outage): the
    opens are written all the same, the repeat still found, one warning."""
    from emails.tests.factories import EmailFactory, EmailRecipientFactory
    from tracking.classify import Signals
    from tracking.hits import Open
    from tracking.writer import write_opens

    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    email = EmailFactory(organization=org)
    recipient = EmailRecipientFactory(email=email, contact=None, address=NOT_A_CONTACT)
    at = email.sent_at + timedelta(hours=1)
    reader = Signals(address="198.51.100.23", user_agent="Mozilla/5.0 (X11; Linux x86_64) Thunderbird/128.5.0")
    for n, seconds in enumerate((0, 4, 60)):
        opened = Open(recipient_id=recipient.pk, opened_at=at + timedelta(seconds=seconds), key=f"k{n}", signals=reader)
        assert write_opens(opens=[opened]) == 1

    assert list(OpenEvent.objects.order_by("opened_at").values_list("verdict", flat=True)) == [
        Verdict.HUMAN,
        Verdict.REPEAT,
        Verdict.HUMAN,
    ]
    assert caplog.text.count("Repeat markers unavailable in Redis") == 1
