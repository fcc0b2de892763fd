import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from contacts.tests.factories import ContactFactory
from emails import reports
from emails.models import Email, EmailRecipient
from emails.reports import Folder, OpenFilters
from emails.tests.factories import EmailFactory, EmailRecipientFactory
from emails.tests.open_helpers import add_opens, email_with_opens, minutes_ago, sync_counters
from onepage.tests.factories import MembershipFactory
from tracking.policy import Reason

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 18, 15, 0, tzinfo=dt.UTC)  # a Wednesday


def _folder(org, user, folder=Folder.OPEN_TRACKING):
    return list(reports.folder_emails(reports.emails_in_scope(organization=org, sender=user), folder))


def test_open_tracking_folder_puts_the_latest_open_first(org, rep_user):
    older = email_with_opens(
        organization=org, sender=rep_user, subject="Older, opened a minute ago", opens=minutes_ago(NOW, 5000, 1)
    )
    Email.objects.filter(pk=older.pk).update(created_at=NOW - dt.timedelta(days=5))
    newer = email_with_opens(
        organization=org, sender=rep_user, subject="Newer, opened an hour ago", opens=minutes_ago(NOW, 60)
    )
    email_with_opens(organization=org, sender=rep_user, subject="Never opened")
    untracked = EmailFactory(organization=org, sender=rep_user, track_opens=False)

    folder = _folder(org, rep_user)

    assert folder[0] == older
    assert folder[1] == newer
    assert "Never opened" not in [e.subject for e in folder]
    assert untracked not in folder


def test_recent_opens_of_a_whole_page_come_in_one_query(org, rep_user, django_assert_num_queries):
    recipients = []
    for n in range(5):
        email = email_with_opens(organization=org, sender=rep_user, opens=minutes_ago(NOW, *range(1, 15 + n)))
        recipients += list(email.recipients.all())
    with django_assert_num_queries(1):
        opens = reports.recent_opens_by_recipient([r.pk for r in recipients])
    for recipient in recipients:
        assert len(opens[recipient.pk]) == 10
        # Newest first, and the very newest ones.
        assert opens[recipient.pk] == minutes_ago(NOW, *range(1, 11))


def test_recent_opens_are_kept_per_recipient(org, rep_user):
    email = EmailFactory(organization=org, sender=rep_user)
    ann = EmailRecipientFactory(email=email)
    bob = EmailRecipientFactory(email=email, kind=EmailRecipient.Kind.CC)
    add_opens(ann, minutes_ago(NOW, *range(1, 13)))
    add_opens(bob, minutes_ago(NOW, 100, 200))
    sync_counters(email)

    email = Email.objects.prefetch_related(reports.recipients_prefetch()).get(pk=email.pk)
    reports.attach_open_reports([email])
    ann_report, bob_report = email.open_report.recipients

    assert email.open_report.summary.open_count == 14
    assert len(ann_report.recent_opens) == 10 and ann_report.more_than_shown
    assert bob_report.recent_opens == minutes_ago(NOW, 100, 200) and not bob_report.more_than_shown


@pytest.mark.parametrize(("opens", "notice"), [(10, False), (11, True)])
def test_more_than_ten_notice_starts_at_eleven(org, rep_user, opens, notice):
    email = email_with_opens(organization=org, sender=rep_user, opens=minutes_ago(NOW, *range(opens)))
    report = reports.open_report_for(email)
    (recipient,) = report.recipients
    assert len(recipient.recent_opens) == 10
    assert recipient.more_than_shown is notice


def test_eye_tooltip_says_why_an_email_shows_a_crossed_eye(org, rep_user):
    assert reports.eye_title(Email(open_count=3)) == "Opened 3 times"
    assert reports.eye_title(Email(open_count=1)) == "Opened once"
    assert reports.eye_title(Email(track_opens=True, status=Email.Status.SENT)) == "Not opened yet"
    assert reports.eye_title(Email(track_opens=False)) == "Not tracked"
    assert (
        reports.eye_title(Email(track_opens=False, not_tracked_reason=Reason.TOGGLE_OFF))
        == "Not tracked: track was switched off for this email"
    )
    client = Email(track_opens=False, source=Email.Source.CLIENT, not_tracked_reason=Reason.CLIENT)
    assert reports.eye_title(client) == "Sent from your email client: not tracked"
    assert reports.eye_title(Email(track_opens=True, status=Email.Status.FAILED)) == "Not sent"


def test_contact_summary_is_that_contacts_own_opens(org, rep_user):
    email = EmailFactory(organization=org, sender=rep_user)
    ann = EmailRecipientFactory(email=email)
    refused = EmailRecipientFactory(email=email, track_opens=False, not_tracked_reason=Reason.CONTACT_REFUSED)
    add_opens(ann, minutes_ago(NOW, 1, 2))
    sync_counters(email)
    ann.refresh_from_db()
    refused.refresh_from_db()

    assert reports.OpenSummary.of_recipients(email, [ann]).open_count == 2
    summary = reports.OpenSummary.of_recipients(email, [refused])
    assert reports.eye_title(summary) == "Not tracked: the contact refused open tracking"


def test_opened_today_and_this_week_follow_the_viewers_time_zone(org, rep_user):
    # NOW is Wednesday 15:00 UTC, which is already Thursday 00:00 in Tokyo.
    an_hour_ago = email_with_opens(organization=org, sender=rep_user, opens=[NOW - dt.timedelta(hours=1)])
    last_week = email_with_opens(organization=org, sender=rep_user, opens=[NOW - dt.timedelta(days=4)])
    scope = reports.folder_emails(reports.emails_in_scope(organization=org, sender=rep_user), Folder.OPEN_TRACKING)

    with timezone.override(zoneinfo.ZoneInfo("UTC")):
        assert list(reports.filter_opens(scope, OpenFilters(opened="today"), now=NOW)) == [an_hour_ago]
        assert list(reports.filter_opens(scope, OpenFilters(opened="week"), now=NOW)) == [an_hour_ago]
    with timezone.override(zoneinfo.ZoneInfo("Asia/Tokyo")):
        # In Tokyo it is Thursday 00:00: the open at 23:00 Wednesday was yesterday.
        assert list(reports.filter_opens(scope, OpenFilters(opened="today"), now=NOW)) == []
        assert list(reports.filter_opens(scope, OpenFilters(opened="week"), now=NOW)) == [an_hour_ago]
    assert last_week in list(reports.filter_opens(scope, OpenFilters(), now=NOW))


def test_opened_more_than_n_times(org, rep_user):
    twice = email_with_opens(organization=org, sender=rep_user, opens=minutes_ago(NOW, 1, 2))
    five = email_with_opens(organization=org, sender=rep_user, opens=minutes_ago(NOW, *range(5, 10)))
    scope = reports.folder_emails(reports.emails_in_scope(organization=org, sender=rep_user), Folder.OPEN_TRACKING)
    assert list(reports.filter_opens(scope, OpenFilters(more_than=2))) == [five]
    assert list(reports.filter_opens(scope, OpenFilters(more_than=1))) == [twice, five]


def test_filters_from_the_query_string_ignore_nonsense():
    assert reports.parse_open_filters({"opened": "today", "more_than": "3"}) == OpenFilters("today", 3)
    assert reports.parse_open_filters({"opened": "yesterday", "more_than": "x"}) == OpenFilters()
    assert reports.parse_open_filters({"more_than": "-1"}) == OpenFilters()


def test_search_matches_subject_address_and_contact_name(org, rep_user):
    aoife = ContactFactory(organization=org, first_name="Aoife", last_name="Murphy", email="aoife@brightline.example")
    to_aoife = email_with_opens(organization=org, sender=rep_user, contact=aoife, subject="Quote for Q3")
    other = email_with_opens(organization=org, sender=rep_user, subject="Renewal")
    scope = reports.emails_in_scope(organization=org, sender=rep_user)
    for q in ["quote", "aoife", "MURPHY", "brightline.example", "Aoife Quote"]:
        assert list(reports.search_emails(scope, q)) == [to_aoife], q
    assert list(reports.search_emails(scope, "renewal")) == [other]
    assert list(reports.search_emails(scope, "aoife renewal")) == []


def test_folders_split_emails_by_status(org, rep_user):
    sent = EmailFactory(organization=org, sender=rep_user)
    failed = EmailFactory(organization=org, sender=rep_user, status=Email.Status.FAILED, sent_at=None)
    queued = EmailFactory(organization=org, sender=rep_user, status=Email.Status.QUEUED, sent_at=None)
    sending = EmailFactory(organization=org, sender=rep_user, status=Email.Status.SENDING, sent_at=None)
    assert _folder(org, rep_user, Folder.SENT) == [sent]
    assert _folder(org, rep_user, Folder.FAILED) == [failed]
    assert set(_folder(org, rep_user, Folder.QUEUED)) == {queued, sending}
    scope = reports.emails_in_scope(organization=org, sender=rep_user)
    assert reports.folder_badges(scope) == {Folder.FAILED: 1, Folder.QUEUED: 2}


def test_scope_is_one_sender_or_the_whole_organization(org, other_org, rep_user):
    teammate = MembershipFactory(organization=org).user
    mine = EmailFactory(organization=org, sender=rep_user)
    theirs = EmailFactory(organization=org, sender=teammate)
    EmailFactory(organization=other_org)
    assert list(reports.emails_in_scope(organization=org, sender=rep_user)) == [mine]
    assert set(reports.emails_in_scope(organization=org, sender=None)) == {mine, theirs}


def test_slice_page_knows_the_next_page_without_counting(org, rep_user, django_assert_num_queries):
    EmailFactory.create_batch(6, organization=org, sender=rep_user)
    emails = Email.objects.filter(organization=org)
    with django_assert_num_queries(1):
        first = reports.slice_page(emails, number=1, per_page=4)
    assert len(first.object_list) == 4 and first.has_next and not first.has_previous
    second = reports.slice_page(emails, number=2, per_page=4)
    assert len(second.object_list) == 2 and not second.has_next and second.has_previous
    assert (second.start_index, second.end_index) == (5, 6)
    assert reports.page_number("abc") == 1 and reports.page_number("-3") == 1
