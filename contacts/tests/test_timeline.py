import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.models import ContactActivity
from contacts.tests.factories import ContactFactory
from emails.models import Email, NotTrackedReason
from emails.tests.factories import EmailConfigurationFactory, EmailFactory, EmailRecipientFactory
from onepage.tests.factories import MembershipFactory
from tracking.tests.open_helpers import add_opens, email_with_opens, minutes_ago

pytestmark = pytest.mark.django_db


def _detail(client, contact, **params):
    return client.get(reverse("contacts:detail", args=[contact.pk]), params)


def _with_open_reports(client, contact, **params) -> str:
    """The timeline as the user reads it once every "Open report" is opened:
    the page, then each report it loads (htmx)."""
    body = _detail(client, contact, **params).content.decode()
    urls = re.findall(r'hx-get="([^"]+/open-report/\?contact=\d+)"', body)
    return body + "".join(client.get(url).content.decode() for url in urls)


def _email_subjects(response) -> list[str]:
    return [email.subject for email in response.context["timeline_items"]]


def _set_created(email: Email, at: dt.datetime) -> None:
    Email.objects.filter(pk=email.pk).update(created_at=at, sent_at=at)


def test_email_tab_lists_every_teammates_email_to_the_contact_newest_first(rep_client, org, rep_user):
    contact = ContactFactory(organization=org, first_name="Isla")
    teammate = MembershipFactory(organization=org).user
    now = timezone.now()
    first = email_with_opens(organization=org, sender=teammate, contact=contact, subject="Intro")
    second = email_with_opens(organization=org, sender=rep_user, contact=contact, subject="Follow-up")
    _set_created(first, now - dt.timedelta(days=2))
    _set_created(second, now - dt.timedelta(days=1))
    email_with_opens(organization=org, sender=rep_user, subject="To someone else")

    response = _detail(rep_client, contact, tab="email")

    assert _email_subjects(response) == ["Follow-up", "Intro"]
    body = response.content.decode()
    assert f"by {teammate.display_name}" in body
    assert reverse("emails:detail", args=[second.pk]) in body
    assert "To someone else" not in body


def test_email_tab_shows_the_eye_with_this_contacts_counts(rep_client, org, rep_user):
    contact = ContactFactory(organization=org)
    now = timezone.now()
    twice = email_with_opens(organization=org, sender=rep_user, contact=contact, subject="Opened twice")
    # A colleague in Cc opened it too: the contact's tab counts the contact's opens.
    colleague = EmailRecipientFactory(email=twice, kind="cc")
    add_opens(twice.recipients.get(contact=contact), minutes_ago(now, 5, 50))
    add_opens(colleague, minutes_ago(now, 7))
    twice.refresh_from_db()
    email_with_opens(organization=org, sender=rep_user, contact=contact, subject="Unread")
    email_with_opens(
        organization=org,
        sender=rep_user,
        contact=contact,
        subject="Switched off",
        track_opens=False,
        not_tracked_reason=NotTrackedReason.TOGGLE_OFF,
    )

    body = _detail(rep_client, contact, tab="email").content.decode()

    def eye(subject):
        row = body[body.index(subject) :]
        return re.search(r'<div class="event-side">\s*<span class="eye [^"]*"[^>]*>.*?</span></span>', row, re.S).group(
            0
        )

    assert 'title="Opened 2 times"' in eye("Opened twice") and '<span class="eye-count">2</span>' in eye("Opened twice")
    assert "eye-off" in eye("Unread") and 'title="Not opened yet"' in eye("Unread")
    assert 'title="Not tracked: track was switched off for this email"' in eye("Switched off")
    assert "5\xa0minutes ago" in body


def test_email_tab_report_lists_ten_opens_with_the_notice(rep_client, org, rep_user):
    contact = ContactFactory(organization=org)
    start = dt.datetime(2026, 2, 2, 9, 0, tzinfo=dt.UTC)
    email_with_opens(
        organization=org, sender=rep_user, contact=contact, opens=[start + dt.timedelta(hours=h) for h in range(12)]
    )
    body = _detail(rep_client, contact, tab="email").content.decode()
    assert "<summary>Open report</summary>" in body
    # The report itself loads when opened (htmx), as the contact's own.
    (url,) = re.findall(r'hx-get="([^"]+/open-report/\?contact=\d+)"', body)
    report = rep_client.get(url).content.decode()
    assert "Opened 12 times; the 10 most recent are shown" in report
    assert len(re.findall(r"Mon 2 Feb 2026, \d\d:\d\d</time></li>", report)) == 10


def test_a_contact_never_shows_another_organizations_emails(rep_client, org, other_org):
    contact = ContactFactory(organization=org, first_name="Isla")
    # A crafted row: another organization's email pointing at our contact.
    theirs = EmailFactory(organization=other_org, subject="Their secret")
    EmailRecipientFactory(email=theirs, contact=contact)
    for tab in ("email", "all"):
        assert b"Their secret" not in _detail(rep_client, contact, tab=tab).content
    assert b"No emails to Isla yet" in _detail(rep_client, contact, tab="email").content


def test_all_tab_interleaves_emails_and_activity_by_time(rep_client, org, rep_user):
    contact = ContactFactory(organization=org)
    now = timezone.now()
    ContactActivity.objects.create(contact=contact, kind="created", actor=rep_user, at=now - dt.timedelta(days=3))
    intro = email_with_opens(organization=org, sender=rep_user, contact=contact, subject="Intro")
    _set_created(intro, now - dt.timedelta(days=2))
    ContactActivity.objects.create(
        contact=contact, kind="updated", actor=rep_user, detail="phone", at=now - dt.timedelta(days=1)
    )
    email_with_opens(organization=org, sender=rep_user, contact=contact, subject="Follow-up", opens=[now])

    response = _detail(rep_client, contact)

    kinds = [item.email.subject if item.email else item.activity.kind for item in response.context["timeline_items"]]
    assert kinds == ["Follow-up", "updated", "Intro", "created"]
    body = response.content.decode()
    assert body.index("Follow-up") < body.index("Contact updated: phone") < body.index("Intro")
    assert body.index("Intro") < body.index("Contact created")


def test_show_more_grows_the_timeline(rep_client, org, rep_user):
    contact = ContactFactory(organization=org)
    for n in range(25):
        email_with_opens(organization=org, sender=rep_user, contact=contact, subject=f"Note {n:02d}")
    first = _detail(rep_client, contact, tab="email")
    assert len(first.context["timeline_items"]) == 20
    assert b"Show more" in first.content and b"shown=40" in first.content
    more = _detail(rep_client, contact, tab="email", shown="40")
    assert len(more.context["timeline_items"]) == 25
    assert b"Show more" not in more.content
    assert len(_detail(rep_client, contact, tab="email", shown="nonsense").context["timeline_items"]) == 20


def test_each_viewer_sees_the_timeline_in_their_time_zone(client, org):
    contact = ContactFactory(organization=org)
    tokyo = MembershipFactory(organization=org, user__time_zone="Asia/Tokyo").user
    new_york = MembershipFactory(organization=org, user__time_zone="America/New_York").user
    email_with_opens(
        organization=org, sender=tokyo, contact=contact, opens=[dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)]
    )
    client.force_login(tokyo)
    assert "Thu 15 Jan 2026, 21:00" in _with_open_reports(client, contact, tab="email")
    client.force_login(new_york)
    assert "Thu 15 Jan 2026, 07:00" in _with_open_reports(client, contact, tab="email")


# --- Query counts -------------------------------------------------------------


def _fill(org, contact, *, emails: int, opens_each: int) -> None:
    EmailConfigurationFactory(organization=org)
    senders = [MembershipFactory(organization=org).user for _ in range(3)]
    now = timezone.now()
    for n in range(emails):
        email = EmailFactory(organization=org, sender=senders[n % 3])
        recipient = EmailRecipientFactory(email=email, contact=contact)
        add_opens(recipient, [now - dt.timedelta(minutes=n * 100 + k) for k in range(opens_each)])
        email.refresh_from_db()
        ContactActivity.objects.create(contact=contact, kind="updated", detail="phone", at=now - dt.timedelta(hours=n))


def _queries(client, contact, **params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = _detail(client, contact, **params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


# One query for the consent history beside the details (contacts.views), one
# for the reading times' opens (tracking.reading_times).
@pytest.mark.parametrize(("tab", "limit"), [("email", 9), ("all", 10)])
def test_timeline_queries_do_not_grow_with_rows(rep_client, org, rep_user, tab, limit, django_assert_max_num_queries):
    contact = ContactFactory(organization=org)
    _fill(org, contact, emails=50, opens_each=20)
    # session, user, membership, contact, email configuration (the contact's
    # tracking preference), emails, recipients (+ activities), the contact's
    # opens for the reading times; each open
    # report loads when opened
    with django_assert_max_num_queries(limit):
        response = _detail(rep_client, contact, tab=tab, shown="40")
    report_urls = re.findall(r'hx-get="([^"]+/open-report/\?contact=\d+)"', response.content.decode())
    assert len(report_urls) >= 20
    assert b"the 10 most recent are shown" in rep_client.get(report_urls[0]).content
    small = _queries(rep_client, contact, tab=tab, shown="40")

    _fill(org, contact, emails=50, opens_each=20)
    assert _queries(rep_client, contact, tab=tab, shown="80") == small
