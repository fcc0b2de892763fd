"""The open report: recent opens per recipient in one query, the notice past
ten, the eye's words, and a contact's own summary."""

import datetime as dt

import pytest

from emails import reports as email_reports
from emails.models import Email, EmailRecipient, NotTrackedReason
from emails.tests.factories import EmailFactory, EmailRecipientFactory
from tracking import report_words, reports
from tracking.tests.open_helpers import add_opens, email_with_opens, minutes_ago

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 18, 15, 0, tzinfo=dt.UTC)  # a Wednesday


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
        assert [o.at for o in opens[recipient.pk]] == minutes_ago(NOW, *range(1, 11))


def test_recent_opens_are_kept_per_recipient(org, rep_user):
    email = EmailFactory(organization=org, sender=rep_user)
    ann = EmailRecipientFactory(email=email)
    bob = EmailRecipientFactory(email=email, kind=EmailRecipient.Kind.CC)
    add_opens(ann, minutes_ago(NOW, *range(1, 13)))
    add_opens(bob, minutes_ago(NOW, 100, 200))
    email.refresh_from_db()

    email = Email.objects.prefetch_related(email_reports.recipients_prefetch()).get(pk=email.pk)
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
    assert report_words.eye_title(Email(open_count=3)) == "Opened 3 times"
    assert report_words.eye_title(Email(open_count=1)) == "Opened once"
    assert report_words.eye_title(Email(track_opens=True, status=Email.Status.SENT)) == "Not opened yet"
    assert report_words.eye_title(Email(track_opens=False)) == "Not tracked"
    assert (
        report_words.eye_title(Email(track_opens=False, not_tracked_reason=NotTrackedReason.TOGGLE_OFF))
        == "Not tracked: track was switched off for this email"
    )
    client = Email(track_opens=False, source=Email.Source.CLIENT, not_tracked_reason=NotTrackedReason.CLIENT)
    assert report_words.eye_title(client) == "Sent from your email client: not tracked"
    assert report_words.eye_title(Email(track_opens=True, status=Email.Status.FAILED)) == "Not sent"


def test_contact_summary_is_that_contacts_own_opens(org, rep_user):
    email = EmailFactory(organization=org, sender=rep_user)
    ann = EmailRecipientFactory(email=email)
    refused = EmailRecipientFactory(email=email, track_opens=False, not_tracked_reason=NotTrackedReason.CONTACT_REFUSED)
    add_opens(ann, minutes_ago(NOW, 1, 2))
    email.refresh_from_db()
    ann.refresh_from_db()
    refused.refresh_from_db()

    assert reports.OpenSummary.of_recipients(email, [ann]).open_count == 2
    summary = reports.OpenSummary.of_recipients(email, [refused])
    assert report_words.eye_title(summary) == "Not tracked: the contact refused open tracking"


def test_opens_in_the_same_minute_show_their_seconds_and_the_exact_time_on_hover(rep_client, org, rep_user):
    from django.urls import reverse

    at = dt.datetime(2026, 3, 18, 7, 21, 5, tzinfo=dt.UTC)
    same_minute = email_with_opens(organization=org, sender=rep_user, opens=[at, at + dt.timedelta(seconds=30)])
    content = rep_client.get(reverse("emails:detail", args=[same_minute.pk])).content.decode()
    assert "Wed 18 Mar 2026, 07:21:05" in content and "Wed 18 Mar 2026, 07:21:35" in content
    assert 'title="Wednesday 18 March 2026, 07:21:35 UTC"' in content
    assert "Last opened" in content and "First opened" in content

    apart = email_with_opens(organization=org, sender=rep_user, opens=[at, at + dt.timedelta(hours=2)])
    content = rep_client.get(reverse("emails:detail", args=[apart.pk])).content.decode()
    assert "Wed 18 Mar 2026, 07:21<" in content  # whole minutes are enough
