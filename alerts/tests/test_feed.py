"""The activity feed (/activity/): each person's opens of an email on one
line, the latest first, the viewer's own emails by default and everyone's
for admins; people's opens only (never a machine's; the ones counted in an
email's total only on a line that names nobody, as the email's page says
them); the organization's own; paged; the same queries for 3 lines as for 30."""

import html
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from alerts.feed import feed_page
from contacts.tests.factories import ContactFactory
from emails.tests.factories import EmailFactory, EmailRecipientFactory
from onepage.tests.factories import MembershipFactory
from tracking.hits import Open
from tracking.models import Verdict
from tracking.tests.open_helpers import add_opens
from tracking.writer import write_opens

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _midday():
    """Opens minutes and hours ago stay on today's date, whenever the suite
    runs (run just after midnight, "today 23:33" was said "3 Dec, 23:33")."""
    with time_machine.travel(datetime(2026, 12, 2, 12, 0, tzinfo=UTC), tick=True):
        yield


FEED = reverse("activity:feed")


def ago(**delta) -> timezone.datetime:
    return timezone.now() - timedelta(**delta)


def opened(org, sender, *, subject: str, who: tuple[str, str] | None, at: list) -> object:
    """An email of `sender` to a new contact `who` (first, last), or to an
    address that is no contact (None), opened by a person at `at`."""
    email = EmailFactory(organization=org, sender=sender, subject=subject)
    contact = None
    if who is not None:
        first, last = who
        contact = ContactFactory(organization=org, first_name=first, last_name=last, email=f"{first.lower()}@x.example")
    recipient = EmailRecipientFactory(email=email, contact=contact, address=contact.email if contact else "n@x.example")
    add_opens(recipient, at)
    return recipient


def lines(response) -> list[str]:
    """The feed's lines as a person reads them."""
    page = response.content.decode()
    items = re.findall(r'<p class="feed-line">(.*?)</p>', page, re.S)
    words = [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", item)).split()) for item in items]
    return [w.replace(" :", ":") for w in words]


def clock(at) -> str:
    return timezone.localtime(at).strftime("%H:%M")


def test_a_reps_feed_is_their_own_opens_one_line_per_email_and_person_latest_first(rep_client, org, rep_user):
    bea_last, carl_last = ago(minutes=30), ago(minutes=2)
    bea = opened(org, rep_user, subject="Spring order", who=("Bea", "Buyer"), at=[ago(hours=3), ago(hours=1), bea_last])
    opened(org, rep_user, subject="Renewal", who=("Carl", "Client"), at=[carl_last])
    colleague = MembershipFactory(organization=org).user
    opened(org, colleague, subject="Not Rex's", who=("Dora", "Else"), at=[ago(minutes=1)])

    response = rep_client.get(FEED)

    assert response.status_code == 200
    assert lines(response) == [
        f"Carl Client opened Renewal once, last {clock(carl_last)}",
        f"Bea Buyer opened Spring order 3 times, last {clock(bea_last)}",
    ]
    page = response.content.decode()
    # The name links to the contact, the subject to the email; "2 minutes ago" with the time in a title.
    assert f'href="{reverse("contacts:detail", args=[bea.contact_id])}">Bea Buyer</a>' in page
    assert f'href="{reverse("emails:detail", args=[bea.email_id])}">Spring order</a>' in page
    assert "2\xa0minutes ago</time>" in page
    assert "Not Rex" not in page and "Dora" not in page


def test_times_are_in_the_viewers_time_zone(rep_client, org, rep_user):
    rep_user.time_zone = "Pacific/Auckland"
    rep_user.save(update_fields=["time_zone"])
    at = ago(hours=30)
    opened(org, rep_user, subject="Spring order", who=("Bea", "Buyer"), at=[at])

    (line,) = lines(rep_client.get(FEED))

    local = timezone.localtime(at, timezone=ZoneInfo("Pacific/Auckland"))
    assert line.endswith(f"last {local.day} {local.strftime('%b')}, {local.strftime('%H:%M')}")


def test_an_admin_sees_everyones_opens_with_their_sender(admin_client, org, rep_user, admin_user):
    opened(org, rep_user, subject="Rex's offer", who=("Bea", "Buyer"), at=[ago(minutes=5)])
    opened(org, admin_user, subject="Ada's offer", who=("Carl", "Client"), at=[ago(minutes=9)])

    assert [line.split(" opened ")[1].split(" once")[0] for line in lines(admin_client.get(FEED))] == ["Ada's offer"]
    response = admin_client.get(FEED, {"who": "everyone"})
    assert [line.split(" opened ")[1].split(" once")[0] for line in lines(response)] == ["Rex's offer", "Ada's offer"]
    assert f"sent by {rep_user.display_name}" in response.content.decode()


def test_a_rep_asking_for_everyones_opens_is_refused_in_words(rep_client, org, admin_user):
    opened(org, admin_user, subject="Ada's offer", who=("Carl", "Client"), at=[ago(minutes=9)])

    response = rep_client.get(FEED, {"who": "everyone"})

    assert response.status_code == 403
    page = response.content.decode()
    assert "for admins" in page and "Ada's offer" not in page
    # The rep's own page offers no Everyone.
    assert 'value="everyone"' not in rep_client.get(FEED).content.decode()


def test_another_organizations_opens_never_show(admin_client, org, other_org):
    rival = MembershipFactory(organization=other_org, role="admin").user
    opened(other_org, rival, subject="Rival deal", who=("Zed", "Zulu"), at=[ago(minutes=1)])

    for query in ({}, {"who": "everyone"}, {"period": "all"}):
        response = admin_client.get(FEED, query)
        assert lines(response) == [] and "Rival deal" not in response.content.decode()


def test_machines_are_no_lines_and_opens_in_the_total_only_name_nobody(rep_client, org, rep_user):
    scanned = opened(org, rep_user, subject="Scanned", who=("Sam", "Scan"), at=[])
    add_opens(scanned, [ago(minutes=3)], verdict=Verdict.SCANNER)
    assert lines(rep_client.get(FEED)) == []
    assert "No opens in the last 7 days" in rep_client.get(FEED).content.decode()

    email = EmailFactory(organization=org, sender=rep_user, subject="Counted in total")
    named = EmailRecipientFactory(
        email=email, contact=ContactFactory(organization=org, first_name="Ida", last_name="Known")
    )
    total_only = EmailRecipientFactory(email=email, contact=None, aggregate_only=True)
    last = ago(minutes=2)
    opens = [ago(minutes=9), ago(minutes=5), last]
    assert write_opens(opens=[Open(recipient_id=total_only.pk, opened_at=at, key=f"agg-{at}") for at in opens]) == 3
    add_opens(named, [ago(minutes=7)])

    # As the email's page says it: counted in the email's total, nobody's name on them.
    assert lines(rep_client.get(FEED)) == [
        f"Counted in total: 3 opens counted in the email's total only, last {clock(last)}",
        f"Ida Known opened Counted in total once, last {clock(ago(minutes=7))}",
    ]


def test_the_period_keeps_older_opens_for_longer_ones(rep_client, org, rep_user):
    opened(org, rep_user, subject="Old news", who=("Olga", "Old"), at=[ago(days=10)])

    assert lines(rep_client.get(FEED)) == []
    assert len(lines(rep_client.get(FEED, {"period": "30"}))) == 1
    assert len(lines(rep_client.get(FEED, {"period": "all"}))) == 1


def test_the_feed_is_paged(rep_client, org, rep_user):
    for n in range(30):
        opened(org, rep_user, subject=f"Offer {n:02d}", who=(f"P{n:02d}", "Person"), at=[ago(minutes=n + 1)])

    first = rep_client.get(FEED)
    assert len(lines(first)) == 25 and lines(first)[0].startswith("P00 Person opened Offer 00")
    assert "page=2" in first.content.decode()
    second = rep_client.get(FEED, {"page": 2})
    assert [line.split()[0] for line in lines(second)] == ["P25", "P26", "P27", "P28", "P29"]
    assert "No more opens" in rep_client.get(FEED, {"page": 3}).content.decode()


@pytest.mark.parametrize(
    "query", [{"page": "x"}, {"page": "-4"}, {"period": "forever"}, {"who": "<b>"}, {"page": 10**9}]
)
def test_odd_input_is_a_page_never_an_error(rep_client, org, rep_user, query):
    opened(org, rep_user, subject="Spring order", who=("Bea", "Buyer"), at=[ago(minutes=2)])
    assert rep_client.get(FEED, query).status_code == 200


@pytest.mark.parametrize("rows", [3, 30])
def test_the_same_queries_for_3_lines_as_for_30(admin_client, org, admin_user, rows, django_assert_num_queries):
    for n in range(rows):
        opened(org, admin_user, subject=f"Offer {n}", who=(f"P{n}", "Person"), at=[ago(minutes=n + 1)])
    # Session, user, membership with its organization (the middleware); the
    # walk's edge; the lines by name with their emails, senders and contacts;
    # the opens in the emails' totals only.
    with django_assert_num_queries(6):
        admin_client.get(FEED, {"who": "everyone"})


def test_counters_ahead_of_the_lines_make_the_walk_go_further(org, rep_user):
    """The page walks emails by their latest open; emails whose counters say
    opened but that have no line (their opens being deleted) push the lines
    past the first emails walked: the walk goes on until it has them."""
    named = [opened(org, rep_user, subject=f"N{n}", who=(f"N{n}", "Named"), at=[ago(hours=n + 1)]) for n in range(3)]
    for n in range(40):
        EmailFactory(organization=org, sender=rep_user, open_count=1, last_opened_at=ago(minutes=n + 1))

    page = feed_page(organization=org, sender=rep_user, since=ago(days=7), number=1, per_page=2)

    assert [line.recipient.pk for line in page.object_list] == [named[0].pk, named[1].pk]
    assert page.has_next
