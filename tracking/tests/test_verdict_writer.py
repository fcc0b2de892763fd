"""The writer's verdicts (tracking.recording.write_opens with
tracking.classify): 13 reloads in 10 seconds are one open, whether they come
in one batch or one at a time; the queries per batch do not grow with it."""

from datetime import UTC, datetime, timedelta

import pytest

from emails.tests.factories import EmailRecipientFactory
from tracking import counters
from tracking.classify import Signals
from tracking.hits import Open
from tracking.models import OpenEvent, Verdict
from tracking.writer import write_opens

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DESKTOP = Signals(address="198.51.100.23", user_agent="Mozilla/5.0 (X11) Thunderbird/115.6.0")


def _reloads(recipient, start: datetime, n: int = 13, every: float = 10 / 13) -> list[Open]:
    return [
        Open(
            recipient_id=recipient.pk,
            opened_at=start + timedelta(seconds=k * every),
            key=f"{recipient.pk}-{start}-{k}",
            signals=DESKTOP,
        )
        for k in range(n)
    ]


@pytest.mark.parametrize("batched", [True, False], ids=["one batch", "one open at a time"])
def test_thirteen_reloads_in_ten_seconds_are_one_open(batched):
    recipient = EmailRecipientFactory(delivered_at=T0 - timedelta(hours=2))
    reloads = _reloads(recipient, T0)
    if batched:
        write_opens(opens=reloads)
    else:
        for hit in reloads:
            write_opens(opens=[hit])
    # A reading a minute later is another open.
    write_opens(opens=_reloads(recipient, T0 + timedelta(minutes=1), n=1))

    recipient.refresh_from_db()
    assert (recipient.open_count, recipient.automatic_count) == (2, 12)
    assert recipient.first_opened_at == T0 and recipient.last_opened_at == T0 + timedelta(minutes=1)
    assert OpenEvent.objects.filter(verdict=Verdict.REPEAT).count() == 12
    assert counters.disagreeing() == []


def test_a_batch_of_verdicts_costs_the_same_statements(django_assert_num_queries):
    recipients = [EmailRecipientFactory(delivered_at=T0 - timedelta(hours=2)) for _ in range(3)]
    opens = [hit for r in recipients for hit in _reloads(r, T0, n=20)]
    # Savepoint, the emails locked, their organizations, the recipients
    # with their contacts, the insert, the recipients' and the emails'
    # counters (with the team's weeks: the emails before and after, the
    # differences), release: as without verdicts.
    with django_assert_num_queries(11):
        assert write_opens(opens=opens) == 60
    assert counters.disagreeing() == []


def test_an_open_without_signals_counts_as_before():
    recipient = EmailRecipientFactory(delivered_at=T0)
    write_opens(opens=[Open(recipient_id=recipient.pk, opened_at=T0, key="a")])
    assert OpenEvent.objects.get().verdict == Verdict.HUMAN


def test_an_organization_that_counts_automatic_fetches_sees_them_in_the_report(rep_client, org, rep_user):
    from django.urls import reverse

    from emails.models import EmailConfiguration
    from tracking.tests.open_helpers import email_with_opens

    email = email_with_opens(organization=org, sender=rep_user, subject="Counted", opens=[T0])
    recipient = email.recipients.get()
    scanner = Signals(address="40.107.22.51", user_agent="Mozilla/5.0 (Windows NT 10.0)")
    write_opens(opens=[Open(recipient_id=recipient.pk, opened_at=T0 + timedelta(hours=1), key="s", signals=scanner)])
    page = reverse("emails:detail", args=[email.pk])

    body = rep_client.get(page).content.decode()
    assert "Opened once" in body and "+1 automatic fetch" in body
    assert 'title="Not counted as opens: security scanner"' in body

    config = EmailConfiguration.objects.of(org)
    config.count_machine_opens = True
    config.save(update_fields=["count_machine_opens"])
    body = rep_client.get(page).content.decode()
    assert "Opened 2 times" in body and "including 1 automatic fetch" in body
    recipient.refresh_from_db()
    assert recipient.open_count == 1  # the counters and the folders still count people


def test_the_eyes_count_what_the_report_counts(rep_client, org, rep_user):
    """Counting automatic fetches as opens: the eye on the Sent folder's row
    and on the contact's Email tab says what the report says."""
    import re

    from django.urls import reverse

    from emails.models import EmailConfiguration
    from tracking.tests.open_helpers import add_opens, email_with_opens

    email = email_with_opens(organization=org, sender=rep_user, subject="Prefetched only")
    recipient = email.recipients.get()
    add_opens(recipient, [T0], verdict=Verdict.PRIVACY_PREFETCH)
    folder = reverse("emails:index")
    timeline = reverse("contacts:detail", args=[recipient.contact_id]) + "?tab=email"

    def eyes(url: str) -> list[tuple[str, str]]:
        return re.findall(
            r'<span class="eye (eye-\w+)" role="img" title="([^"]*)"', rep_client.get(url).content.decode()
        )

    assert eyes(folder) == [("eye-off", "Apple Mail privacy protection: opens cannot be known")]
    assert eyes(timeline) == [("eye-off", "Apple Mail privacy protection: opens cannot be known")]

    config = EmailConfiguration.objects.of(org)
    config.count_machine_opens = True
    config.save(update_fields=["count_machine_opens"])
    assert eyes(folder) == [("eye-open", "Opened once")]
    assert eyes(timeline) == [("eye-open", "Opened once")]
    report = rep_client.get(reverse("emails:open_report", args=[email.pk])).content.decode()
    assert "Opened once" in report and "including 1 automatic fetch" in report


@pytest.mark.parametrize("where", ["folder", "timeline"])
def test_automatic_fetches_on_a_list_cost_no_more_queries(rep_client, org, rep_user, where):
    """The lists load the organization's setting with their emails: rows with
    automatic fetches to show cost what rows with a person's opens cost."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from contacts.tests.factories import ContactFactory
    from emails.models import EmailConfiguration
    from tracking.tests.open_helpers import add_opens, email_with_opens

    config = EmailConfiguration.objects.of(org)
    config.count_machine_opens = True
    config.save(update_fields=["count_machine_opens"])
    contact = ContactFactory(organization=org)
    emails = [email_with_opens(organization=org, sender=rep_user, contact=contact, opens=[T0]) for _ in range(3)]
    url = reverse("emails:index") if where == "folder" else reverse("contacts:detail", args=[contact.pk]) + "?tab=email"

    def queries() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as ctx:
            body = rep_client.get(url).content.decode()
        return len(ctx.captured_queries), body

    people_only, body = queries()
    assert body.count('<span class="eye-count">1</span>') == 3
    for email in emails:
        add_opens(email.recipients.get(), [T0 + timedelta(hours=1)], verdict=Verdict.SCANNER)

    with_machines, body = queries()
    assert with_machines == people_only
    assert body.count('<span class="eye-count">2</span>') == 3  # counted, as the setting says
