"""The Email page's folders as queries: order, status, scope, search and the
Open tracking filters."""

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from contacts.tests.factories import ContactFactory
from emails import selectors
from emails.models import Email
from emails.selectors import Folder, OpenFilters
from emails.tests.factories import EmailFactory
from onepage.tests.factories import MembershipFactory
from tracking.tests.open_helpers import email_with_opens, minutes_ago

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 18, 15, 0, tzinfo=dt.UTC)  # a Wednesday


def _folder(org, user, folder=Folder.OPEN_TRACKING):
    return list(selectors.folder_emails(selectors.emails_in_scope(organization=org, sender=user), folder))


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


def test_opened_today_and_this_week_follow_the_viewers_time_zone(org, rep_user):
    # NOW is Wednesday 15:00 UTC, which is already Thursday 00:00 in Tokyo.
    an_hour_ago = email_with_opens(organization=org, sender=rep_user, opens=[NOW - dt.timedelta(hours=1)])
    last_week = email_with_opens(organization=org, sender=rep_user, opens=[NOW - dt.timedelta(days=4)])
    scope = selectors.folder_emails(selectors.emails_in_scope(organization=org, sender=rep_user), Folder.OPEN_TRACKING)

    with timezone.override(zoneinfo.ZoneInfo("UTC")):
        assert list(selectors.filter_opens(scope, OpenFilters(opened="today"), now=NOW)) == [an_hour_ago]
        assert list(selectors.filter_opens(scope, OpenFilters(opened="week"), now=NOW)) == [an_hour_ago]
    with timezone.override(zoneinfo.ZoneInfo("Asia/Tokyo")):
        # In Tokyo it is Thursday 00:00: the open at 23:00 Wednesday was yesterday.
        assert list(selectors.filter_opens(scope, OpenFilters(opened="today"), now=NOW)) == []
        assert list(selectors.filter_opens(scope, OpenFilters(opened="week"), now=NOW)) == [an_hour_ago]
    assert last_week in list(selectors.filter_opens(scope, OpenFilters(), now=NOW))


def test_opened_more_than_n_times(org, rep_user):
    twice = email_with_opens(organization=org, sender=rep_user, opens=minutes_ago(NOW, 1, 2))
    five = email_with_opens(organization=org, sender=rep_user, opens=minutes_ago(NOW, *range(5, 10)))
    scope = selectors.folder_emails(selectors.emails_in_scope(organization=org, sender=rep_user), Folder.OPEN_TRACKING)
    assert list(selectors.filter_opens(scope, OpenFilters(more_than=2))) == [five]
    assert list(selectors.filter_opens(scope, OpenFilters(more_than=1))) == [twice, five]


def test_filters_from_the_query_string_ignore_nonsense():
    assert selectors.parse_open_filters({"opened": "today", "more_than": "3"}) == OpenFilters("today", 3)
    assert selectors.parse_open_filters({"opened": "yesterday", "more_than": "x"}) == OpenFilters()
    assert selectors.parse_open_filters({"more_than": "-1"}) == OpenFilters()


def test_search_matches_subject_address_and_contact_name(org, rep_user):
    aoife = ContactFactory(organization=org, first_name="Aoife", last_name="Murphy", email="aoife@brightline.example")
    to_aoife = email_with_opens(organization=org, sender=rep_user, contact=aoife, subject="Quote for Q3")
    # Named here: a random name (Faker's "Murphy") would match the searches.
    ben = ContactFactory(organization=org, first_name="Ben", last_name="Stone", company="Stone Ltd")
    other = email_with_opens(organization=org, sender=rep_user, contact=ben, subject="Renewal")
    scope = selectors.emails_in_scope(organization=org, sender=rep_user)
    for q in ["quote", "aoife", "MURPHY", "brightline.example", "Aoife Quote"]:
        assert list(selectors.search_emails(scope, q)) == [to_aoife], q
    assert list(selectors.search_emails(scope, "renewal")) == [other]
    assert list(selectors.search_emails(scope, "aoife renewal")) == []


def test_folders_split_emails_by_status(org, rep_user):
    sent = EmailFactory(organization=org, sender=rep_user)
    failed = EmailFactory(organization=org, sender=rep_user, status=Email.Status.FAILED, sent_at=None)
    queued = EmailFactory(organization=org, sender=rep_user, status=Email.Status.QUEUED, sent_at=None)
    sending = EmailFactory(organization=org, sender=rep_user, status=Email.Status.SENDING, sent_at=None)
    assert _folder(org, rep_user, Folder.SENT) == [sent]
    assert _folder(org, rep_user, Folder.FAILED) == [failed]
    assert set(_folder(org, rep_user, Folder.QUEUED)) == {queued, sending}
    scope = selectors.emails_in_scope(organization=org, sender=rep_user)
    assert selectors.folder_badges(scope) == {Folder.FAILED: 1, Folder.QUEUED: 2}


def test_scope_is_one_sender_or_the_whole_organization(org, other_org, rep_user):
    teammate = MembershipFactory(organization=org).user
    mine = EmailFactory(organization=org, sender=rep_user)
    theirs = EmailFactory(organization=org, sender=teammate)
    EmailFactory(organization=other_org)
    assert list(selectors.emails_in_scope(organization=org, sender=rep_user)) == [mine]
    assert set(selectors.emails_in_scope(organization=org, sender=None)) == {mine, theirs}


def test_sent_folder_is_in_the_order_emails_went_out(org, rep_user):
    now = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
    retried = EmailFactory(organization=org, sender=rep_user, subject="Written first, sent last")
    on_time = EmailFactory(organization=org, sender=rep_user, subject="Written and sent")
    Email.objects.filter(pk=retried.pk).update(sent_at=now)
    Email.objects.filter(pk=on_time.pk).update(sent_at=now - dt.timedelta(days=2))
    scope = selectors.emails_in_scope(organization=org, sender=rep_user)
    assert [e.subject for e in selectors.folder_emails(scope, Folder.SENT)] == [
        "Written first, sent last",
        "Written and sent",
    ]


@pytest.mark.parametrize("q", ["chloe", "CHLOÉ", "resume", "Résumé"])
def test_email_search_ignores_accents_and_case(org, rep_user, q):
    chloe = ContactFactory(organization=org, first_name="Chloé", last_name="Dubois", email="cd@bluepeak.example")
    to_chloe = email_with_opens(organization=org, sender=rep_user, contact=chloe, subject="Hello")
    resume = email_with_opens(organization=org, sender=rep_user, subject="Your résumé")
    scope = selectors.emails_in_scope(organization=org, sender=rep_user)
    expected = to_chloe if "chlo" in q.lower() else resume
    assert list(selectors.search_emails(scope, q)) == [expected]
