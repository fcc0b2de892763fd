import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.tests.factories import ContactFactory
from emails.models import Email, NotTrackedReason
from emails.tests.factories import EmailFactory, EmailRecipientFactory
from onepage.tests.factories import MembershipFactory
from tracking.tests.open_helpers import add_opens, email_with_opens, minutes_ago

pytestmark = pytest.mark.django_db

OPEN_TRACKING = reverse("emails:open_tracking")
SENT = reverse("emails:index")
FOLDERS = [SENT, OPEN_TRACKING, reverse("emails:failed"), reverse("emails:queued")]


def _subjects(response) -> list[str]:
    return [e.subject for e in response.context["page"].object_list]


def _with_open_reports(client, url, params=None) -> str:
    """A folder as the user reads it once every eye is opened: the page, then
    each open report it loads (htmx)."""
    body = client.get(url, params or {}).content.decode()
    return body + "".join(client.get(u).content.decode() for u in re.findall(r'hx-get="([^"]+/open-report/)"', body))


def _eye(content: bytes, subject: str) -> str:
    """The eye icon of the row whose subject is `subject`."""
    html = content.decode()
    row = html[html.index(subject) :]
    return re.search(r'<span class="eye [^"]*"[^>]*>', row).group(0)


def test_open_tracking_folder_lists_the_most_recently_opened_first(rep_client, org, rep_user):
    now = timezone.now()
    older = email_with_opens(organization=org, sender=rep_user, subject="Sent last week", opens=minutes_ago(now, 1))
    Email.objects.filter(pk=older.pk).update(created_at=now - dt.timedelta(days=7), sent_at=now - dt.timedelta(days=7))
    email_with_opens(organization=org, sender=rep_user, subject="Sent this morning", opens=minutes_ago(now, 30, 90))
    email_with_opens(organization=org, sender=rep_user, subject="Not opened")

    response = rep_client.get(OPEN_TRACKING)

    assert _subjects(response) == ["Sent last week", "Sent this morning"]
    body = response.content.decode()
    assert body.index("Sent last week") < body.index("Sent this morning")
    assert "a minute ago" in body


def test_sent_folder_shows_recipients_eye_and_last_open(rep_client, org, rep_user):
    aoife = ContactFactory(organization=org, first_name="Aoife", last_name="Murphy")
    email = email_with_opens(
        organization=org, sender=rep_user, contact=aoife, subject="Quote", opens=minutes_ago(timezone.now(), 3, 9)
    )
    EmailRecipientFactory(email=email, contact=None, address="finance@brightline.example")

    body = rep_client.get(SENT).content.decode()

    assert "Aoife Murphy" in body and "finance@brightline.example" in body
    assert 'title="Opened 2 times"' in _eye(body.encode(), "Quote")
    assert "3\xa0minutes ago" in body
    assert reverse("contacts:detail", args=[aoife.pk]) in body


@pytest.mark.parametrize(("opens", "notice"), [(10, False), (11, True)])
def test_report_shows_the_ten_most_recent_opens_and_says_when_there_were_more(rep_client, org, rep_user, opens, notice):
    start = dt.datetime(2026, 2, 2, 9, 0, tzinfo=dt.UTC)  # a Monday, opened once an hour
    email_with_opens(organization=org, sender=rep_user, opens=[start + dt.timedelta(hours=h) for h in range(opens)])
    body = _with_open_reports(rep_client, SENT)

    shown = re.findall(r"Mon 2 Feb 2026, (\d\d:\d\d)</time>", body)
    last = 9 + opens - 1
    assert shown == [f"{h:02d}:00" for h in range(last, last - 10, -1)]
    assert ("the 10 most recent are shown" in body) is notice
    if notice:
        assert "Opened 11 times; the 10 most recent are shown" in body
        assert "Mon 2 Feb 2026, 09:00" not in body  # the oldest of eleven is left out


def test_crossed_eye_for_untracked_unopened_and_client_emails(rep_client, org, rep_user):
    email_with_opens(organization=org, sender=rep_user, subject="Tracked, unread")
    email_with_opens(
        organization=org, sender=rep_user, subject="Toggle off", track_opens=False, not_tracked_reason="toggle_off"
    )
    email_with_opens(
        organization=org,
        sender=rep_user,
        subject="From Outlook",
        track_opens=False,
        source=Email.Source.CLIENT,
        not_tracked_reason=NotTrackedReason.CLIENT,
    )
    body = rep_client.get(SENT).content

    unread = _eye(body, "Tracked, unread")
    assert "eye-off" in unread and 'title="Not opened yet"' in unread and 'aria-label="Not opened yet"' in unread
    toggle_off = _eye(body, "Toggle off")
    assert "eye-off" in toggle_off and 'title="Not tracked: track was switched off for this email"' in toggle_off
    client = _eye(body, "From Outlook")
    assert "eye-off" in client and 'title="Sent from your email client: not tracked"' in client


def test_each_viewer_sees_opens_in_their_own_time_zone(client, org):
    tokyo = MembershipFactory(organization=org, role="admin", user__time_zone="Asia/Tokyo").user
    new_york = MembershipFactory(organization=org, role="admin", user__time_zone="America/New_York").user
    email_with_opens(organization=org, sender=tokyo, opens=[dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)])

    client.force_login(tokyo)
    assert "Thu 15 Jan 2026, 21:00" in _with_open_reports(client, OPEN_TRACKING)
    client.force_login(new_york)
    body = _with_open_reports(client, OPEN_TRACKING, {"sender": tokyo.pk})
    assert "Thu 15 Jan 2026, 07:00" in body
    assert "21:00" not in body


@pytest.mark.parametrize("url", FOLDERS)
def test_another_organizations_emails_never_show(client, org, other_org, rep_user, admin_user, url):
    theirs = email_with_opens(organization=other_org, sender=MembershipFactory(organization=other_org).user)
    for status in Email.Status.values:
        email_with_opens(organization=other_org, sender=theirs.sender, status=status, opens=[timezone.now()])
    Email.objects.filter(organization=other_org).update(subject="Their secret")
    for user in (rep_user, admin_user):
        client.force_login(user)
        for params in ({}, {"sender": "all"}):
            response = client.get(url, params)
            assert response.status_code == 200
            assert b"Their secret" not in response.content
        # Naming their sender is a 404, for a rep as for an admin.
        assert client.get(url, {"sender": theirs.sender_id}).status_code == 404


def test_another_organizations_email_by_id_is_404(rep_client, other_org):
    theirs = EmailFactory(organization=other_org)
    assert rep_client.get(reverse("emails:detail", args=[theirs.pk])).status_code == 404


def test_an_admin_switches_to_a_teammate_or_everyone(admin_client, org, admin_user, rep_user):
    email_with_opens(organization=org, sender=admin_user, subject="Admin's")
    email_with_opens(organization=org, sender=rep_user, subject="Rep's")
    assert _subjects(admin_client.get(SENT)) == ["Admin's"]
    assert _subjects(admin_client.get(SENT, {"sender": rep_user.pk})) == ["Rep's"]
    everyone = admin_client.get(SENT, {"sender": "all"})
    assert set(_subjects(everyone)) == {"Admin's", "Rep's"}
    assert f"from {rep_user.display_name}" in everyone.content.decode()
    assert b"Everyone" in everyone.content


def test_search_by_subject_address_and_contact_name(rep_client, org, rep_user):
    aoife = ContactFactory(organization=org, first_name="Aoife", last_name="Murphy", email="aoife@brightline.example")
    email_with_opens(organization=org, sender=rep_user, contact=aoife, subject="Quote for Q3")
    email_with_opens(organization=org, sender=rep_user, subject="Renewal")
    for q in ["quote", "Murphy", "brightline"]:
        assert _subjects(rep_client.get(SENT, {"q": q})) == ["Quote for Q3"], q
    response = rep_client.get(SENT, {"q": "<zzz>"})
    assert b"No emails match" in response.content and b"&lt;zzz&gt;" in response.content


def test_open_tracking_filters(rep_client, org, rep_user):
    now = timezone.now()
    email_with_opens(organization=org, sender=rep_user, subject="Hot lead", opens=minutes_ago(now, *range(1, 7)))
    email_with_opens(organization=org, sender=rep_user, subject="Opened once", opens=minutes_ago(now, 1))
    email_with_opens(organization=org, sender=rep_user, subject="Opened long ago", opens=[now - dt.timedelta(days=30)])

    assert _subjects(rep_client.get(OPEN_TRACKING, {"more_than": "3"})) == ["Hot lead"]
    assert set(_subjects(rep_client.get(OPEN_TRACKING, {"opened": "week"}))) == {"Hot lead", "Opened once"}
    assert _subjects(rep_client.get(OPEN_TRACKING, {"opened": "today", "more_than": "0", "q": "once"})) == [
        "Opened once"
    ]
    assert len(_subjects(rep_client.get(OPEN_TRACKING, {"more_than": "lots"}))) == 3


def test_pages_of_25_keep_the_search(rep_client, org, rep_user):
    for n in range(30):
        email_with_opens(organization=org, sender=rep_user, subject=f"Offer {n:02d}")
    first = rep_client.get(SENT, {"q": "offer"})
    assert len(_subjects(first)) == 25
    assert b'href="?q=offer&amp;page=2"' in first.content
    second = rep_client.get(SENT, {"q": "offer", "page": "2"})
    assert _subjects(second) == [f"Offer {n:02d}" for n in range(4, -1, -1)]
    assert b"Next &rarr;</span>" in second.content  # disabled: no third page
    assert rep_client.get(SENT, {"page": "99"}).status_code == 200


def test_queued_folder_shows_only_while_something_waits(rep_client, org, rep_user):
    assert reverse("emails:queued").encode() not in rep_client.get(SENT).content
    EmailFactory(organization=org, sender=rep_user, status=Email.Status.QUEUED, sent_at=None, subject="On its way")
    EmailFactory(organization=org, sender=rep_user, status=Email.Status.FAILED, error="550 Mailbox unavailable")
    body = rep_client.get(SENT).content.decode()
    assert reverse("emails:queued") in body
    assert "On its way" in rep_client.get(reverse("emails:queued")).content.decode()
    assert "550 Mailbox unavailable" in rep_client.get(reverse("emails:failed")).content.decode()


def test_empty_folders_say_what_to_do(rep_client):
    body = rep_client.get(OPEN_TRACKING).content
    assert b"No opens yet" in body
    assert b"Emails you send with <strong>Track</strong> on will appear here when they are opened" in body
    assert b"No emails sent yet" in rep_client.get(SENT).content


def test_subjects_and_names_are_escaped(rep_client, org, rep_user):
    contact = ContactFactory(organization=org, first_name="<b>Eve</b>")
    email_with_opens(
        organization=org, sender=rep_user, contact=contact, subject="<script>x()</script>", opens=[timezone.now()]
    )
    body = rep_client.get(OPEN_TRACKING).content
    assert b"<script>x()</script>" not in body and b"&lt;script&gt;" in body
    assert b"<b>Eve</b>" not in body


# --- Query counts -------------------------------------------------------------


def _fill(org, sender, *, emails: int, opens_each: int, start: int = 0) -> None:
    now = timezone.now()
    for n in range(start, start + emails):
        email = EmailFactory(organization=org, sender=sender, subject=f"Bulk {n}")
        for _ in range(2):  # two recipients: one contact, one bare address
            recipient = EmailRecipientFactory(email=email)
            add_opens(recipient, [now - dt.timedelta(minutes=n * 100 + k) for k in range(opens_each // 2)])
        email.refresh_from_db()


def _count_queries(client, url, params) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


@pytest.mark.parametrize("url", [SENT, OPEN_TRACKING])
def test_folder_queries_do_not_grow_with_rows(admin_client, org, admin_user, url, django_assert_max_num_queries):
    _fill(org, admin_user, emails=50, opens_each=22)
    # session, user, membership, folder badges, teammates, page, recipients
    # (the open reports load when their eye is opened: no recent opens here)
    with django_assert_max_num_queries(7):
        response = admin_client.get(url, {"sender": "all"})
    assert len(response.context["page"].object_list) == 25
    small, _ = _count_queries(admin_client, url, {"sender": "all", "page": "2"})

    _fill(org, admin_user, emails=50, opens_each=22, start=50)
    big, response = _count_queries(admin_client, url, {"sender": "all", "page": "2"})
    assert big == small
    # Every row's eye loads its own report, and that report is the full one.
    report_urls = re.findall(r'hx-get="([^"]+/open-report/)"', response.content.decode())
    assert len(report_urls) == 25
    report = admin_client.get(report_urls[0]).content
    assert report.count(b"the 10 most recent are shown") == 2  # both recipients


@pytest.mark.parametrize("url", [SENT, OPEN_TRACKING])
@pytest.mark.parametrize("showing", ["", "all"])
def test_a_reps_folder_costs_what_an_admins_does(
    rep_client, org, rep_user, admin_user, url, showing, django_assert_max_num_queries
):
    # A rep picks My emails or Everyone too: the same queries as an admin's page.
    _fill(org, rep_user, emails=30, opens_each=4)
    _fill(org, admin_user, emails=30, opens_each=4, start=30)
    with django_assert_max_num_queries(7):
        response = rep_client.get(url, {"sender": showing} if showing else {})
    assert len(response.context["page"].object_list) == 25
    small, _ = _count_queries(rep_client, url, {"sender": showing, "page": "2"} if showing else {"page": "2"})
    _fill(org, rep_user, emails=30, opens_each=4, start=60)
    big, _ = _count_queries(rep_client, url, {"sender": showing, "page": "2"} if showing else {"page": "2"})
    assert big == small


def test_failed_folder_queries_are_fixed(rep_client, org, rep_user, django_assert_max_num_queries):
    EmailFactory.create_batch(30, organization=org, sender=rep_user, status=Email.Status.FAILED, error="refused")
    with django_assert_max_num_queries(7):
        assert rep_client.get(reverse("emails:failed")).status_code == 200


def test_the_emails_own_page_carries_its_open_report(rep_client, org, rep_user):
    start = dt.datetime(2026, 2, 2, 9, 0, tzinfo=dt.UTC)
    email = email_with_opens(
        organization=org, sender=rep_user, opens=[start + dt.timedelta(hours=h) for h in range(14)]
    )
    body = rep_client.get(reverse("emails:detail", args=[email.pk])).content.decode()
    # The report alone (the opens over time after it draws all 14).
    report = body[body.index('id="open-report"') : body.index('id="opens-over-time"')]
    assert "Opened 14 times; the 10 most recent are shown" in report
    assert "Mon 2 Feb 2026, 22:00" in report and "Mon 2 Feb 2026, 12:00" not in report


def test_open_tracking_says_whose_emails_an_admin_is_looking_at(admin_client, org, rep_user):
    url = reverse("emails:open_tracking")
    assert "Your tracked emails in order" in admin_client.get(url).content.decode()
    assert "Your team's tracked emails" in admin_client.get(url, {"sender": "all"}).content.decode()
    assert (
        f"{rep_user.display_name}'s tracked emails" in admin_client.get(url, {"sender": rep_user.pk}).content.decode()
    )


def test_a_failed_emails_page_offers_no_outbox_and_no_open_report(rep_client, org, rep_user, settings):
    settings.DEBUG = True
    failed = EmailFactory(organization=org, sender=rep_user, status=Email.Status.FAILED, sent_at=None, error="550 No")
    EmailRecipientFactory(email=failed)
    content = rep_client.get(reverse("emails:detail", args=[failed.pk])).content.decode()
    assert "This email was not sent." in content
    assert "Development outbox" not in content  # nothing was delivered there
    assert "Not opened yet" not in content and 'id="open-report"' not in content

    sent = EmailFactory(organization=org, sender=rep_user)
    EmailRecipientFactory(email=sent)
    content = rep_client.get(reverse("emails:detail", args=[sent.pk])).content.decode()
    # Sent, but not by the development mailbox: no outbox either (test_outbox_button.py).
    assert "Development outbox" not in content and "Not opened yet" in content


def test_why_not_tracked_reads_as_one_sentence(rep_client, org, rep_user):
    email = EmailFactory(
        organization=org, sender=rep_user, track_opens=False, not_tracked_reason=NotTrackedReason.TOGGLE_OFF
    )
    content = rep_client.get(reverse("emails:detail", args=[email.pk])).content.decode()
    assert "Not tracked: track was switched off for this email" in content


def test_an_open_report_loads_alone_in_a_fixed_number_of_queries(rep_client, org, rep_user, django_assert_num_queries):
    start = dt.datetime(2026, 2, 2, 9, 0, tzinfo=dt.UTC)
    email = email_with_opens(
        organization=org, sender=rep_user, opens=[start + dt.timedelta(hours=h) for h in range(14)]
    )
    url = reverse("emails:open_report", args=[email.pk])
    # session, user, membership, email, recipients, recent opens
    with django_assert_num_queries(6):
        response = rep_client.get(url)
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body  # a fragment for htmx
    assert "Opened 14 times; the 10 most recent are shown" in body
    assert "Mon 2 Feb 2026, 22:00" in body and "Mon 2 Feb 2026, 12:00" not in body
    assert rep_client.post(url).status_code == 405


def test_a_contacts_own_open_report_counts_only_their_opens(rep_client, org, rep_user):
    now = timezone.now()
    email = email_with_opens(organization=org, sender=rep_user, opens=minutes_ago(now, 5, 6, 7))
    other = EmailRecipientFactory(email=email, contact=ContactFactory(organization=org, first_name="Noor"))
    add_opens(other, minutes_ago(now, 1))
    contact = email.recipients.exclude(pk=other.pk).get().contact
    url = reverse("emails:open_report", args=[email.pk])

    whole = rep_client.get(url).content.decode()
    assert "Opened 4 times" in whole and "Noor" in whole
    own = rep_client.get(url, {"contact": contact.pk}).content.decode()
    assert "Opened 3 times" in own and "Noor" not in own


def test_an_open_report_is_a_404_across_organizations_and_for_bad_input(rep_client, org, other_org, rep_user):
    theirs = email_with_opens(
        organization=other_org,
        sender=MembershipFactory(organization=other_org).user,
        subject="Their secret",
        opens=minutes_ago(timezone.now(), 1),
    )
    assert rep_client.get(reverse("emails:open_report", args=[theirs.pk])).status_code == 404

    ours = email_with_opens(organization=org, sender=rep_user, opens=minutes_ago(timezone.now(), 1))
    url = reverse("emails:open_report", args=[ours.pk])
    their_contact = theirs.recipients.get().contact
    not_on_it = ContactFactory(organization=org)
    for contact in (their_contact.pk, not_on_it.pk, "x", "1e3", "\u00b2", ""):
        assert rep_client.get(url, {"contact": contact}).status_code == 404, contact
