"""The contact's reading times on the contact page: a week by hour of their
opens by name, in the viewer's time zone, read from the page's own table and
compared with the OpenEvents counted here on their own."""

import datetime as dt
import re
import zoneinfo
from collections import Counter

import pytest
from django.urls import reverse

from contacts.models import Contact
from contacts.tests.factories import ContactFactory
from emails.models import NotTrackedReason
from emails.tests.factories import EmailConfigurationFactory, EmailFactory, EmailRecipientFactory
from onepage.tests.factories import MembershipFactory
from privacy.erasure import contact_erase
from tracking.models import COUNTED, OpenEvent, Verdict
from tracking.reading_times import DAYS, smallest_window
from tracking.tests.open_helpers import add_opens

pytestmark = pytest.mark.django_db

UTC = dt.UTC
# A Monday, 00:00 UTC.
WEEK = dt.datetime(2026, 3, 2, tzinfo=UTC)


def _at(day: int, hour: int, minute: int = 10) -> dt.datetime:
    return WEEK + dt.timedelta(days=day, hours=hour, minutes=minute)


def _sent_to(contact: Contact, *, sent_at: dt.datetime = WEEK - dt.timedelta(days=1), **fields):
    email = EmailFactory(organization=contact.organization, sent_at=sent_at, **fields)
    return EmailRecipientFactory(email=email, contact=contact, address=contact.email)


def _page(client, contact) -> str:
    response = client.get(reverse("contacts:detail", args=[contact.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _table(html: str) -> Counter:
    """The "Show as table" rows: (day, hour) -> opens."""
    table = re.search(r'<details class="chart-table".*?</details>', html, re.S).group(0)
    rows = re.findall(r'<tr><th scope="row">(\w+)</th><td>(\d+):00\u2013\d+:00</td><td>(\d+)</td></tr>', table)
    return Counter({(DAYS.index(day), int(hour)): int(count) for day, hour, count in rows})


def _by_hand(contact: Contact, zone: str) -> Counter:
    tz = zoneinfo.ZoneInfo(zone)
    cells = Counter()
    for event in OpenEvent.objects.filter(recipient__contact=contact, verdict__in=COUNTED):
        local = event.opened_at.astimezone(tz)
        cells[(local.weekday(), local.hour)] += 1
    return cells


def _words(html: str) -> str:
    return re.search(r'id="reading-times-words">(.*?)</p>', html, re.S).group(1)


def _card(html: str) -> str:
    return re.search(r'<section class="card reading-times".*?</section>', html, re.S).group(0)


def _shaded(html: str) -> int:
    return len(re.findall(r'<rect class="shade-[1-9]"', html))


@pytest.fixture
def config(org):
    return EmailConfigurationFactory(organization=org)


@pytest.fixture
def viewer(client, org):
    def sign_in(zone: str):
        user = MembershipFactory(organization=org, user__time_zone=zone).user
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def bea(org, config):
    return ContactFactory(organization=org, first_name="Bea", email="bea@example.org")


def test_the_grid_holds_the_counted_opens_of_every_email_to_the_contact(viewer, bea):
    first, second = _sent_to(bea), _sent_to(bea)
    add_opens(first, [_at(1, 8), _at(1, 8, 40), _at(2, 9), _at(6, 23)])
    add_opens(second, [_at(3, 9), _at(3, 14)])
    add_opens(second, [_at(3, 9, 1)], verdict=Verdict.SCANNER)
    client = viewer("Europe/Berlin")
    html = _page(client, bea)
    expected = _by_hand(bea, "Europe/Berlin")
    assert _table(html) == expected
    assert sum(expected.values()) == 6  # the scanner's fetch is not an open
    assert _shaded(html) == len(expected)  # over the empty week, one shape
    assert 'role="img"' in html and 'aria-label="Bea&#x27;s opens by weekday and hour (Europe/Berlin): 6 opens' in html


def test_usually_reads_says_the_days_and_hours_holding_three_quarters_of_the_opens(viewer, bea):
    recipient = _sent_to(bea)
    add_opens(recipient, [_at(1, 8), _at(1, 8, 40), _at(2, 9), _at(2, 8, 20), _at(3, 8), _at(3, 9, 30), _at(5, 20)])
    html = _page(viewer("UTC"), bea)
    assert _words(html) == "Usually reads Tuesday to Thursday, 8\N{EN DASH}10"


def test_with_fewer_than_five_opens_nothing_is_said_of_a_pattern(viewer, bea):
    add_opens(_sent_to(bea), [_at(1, 8), _at(1, 9), _at(2, 8), _at(3, 8)])
    html = _page(viewer("UTC"), bea)
    assert "Usually reads" not in html
    assert _words(html) == "Not enough opens yet to tell when they read (4 of 5)"
    assert sum(_table(html).values()) == 4


def test_reps_in_auckland_and_los_angeles_see_the_same_open_in_different_cells(viewer, bea):
    add_opens(_sent_to(bea), [dt.datetime(2026, 3, 4, 20, 30, tzinfo=UTC)])  # Wednesday 20:30 UTC
    auckland = _table(_page(viewer("Pacific/Auckland"), bea))
    los_angeles = _table(_page(viewer("America/Los_Angeles"), bea))
    assert auckland == Counter({(3, 9): 1})  # Thursday 09:30 (NZDT, +13)
    assert los_angeles == Counter({(2, 12): 1})  # Wednesday 12:30 (PST, -8)


def test_only_automatic_fetches_leave_the_grid_empty_and_say_why(viewer, bea):
    recipient = _sent_to(bea)
    add_opens(recipient, [_at(1, 8)], verdict=Verdict.PRIVACY_PREFETCH)
    add_opens(recipient, [_at(1, 9)], verdict=Verdict.SCANNER)
    html = _page(viewer("UTC"), bea)
    assert _shaded(html) == 0 and 'class="week-empty"' in _card(html)
    assert _words(html) == (
        "Only automatic fetches so far: Apple Mail privacy protection, security scanner: "
        "they say nothing about when Bea reads"
    )
    assert _table(html) == Counter()


def test_opens_counted_in_the_total_only_never_reach_a_contacts_grid(viewer, bea):
    recipient = _sent_to(bea)
    add_opens(recipient, [_at(1, 8)])
    # An aggregate open of the same email: no recipient row.
    OpenEvent.objects.create(email=recipient.email, recipient=None, opened_at=_at(4, 16), verdict=Verdict.HUMAN)
    assert _table(_page(viewer("UTC"), bea)) == Counter({(1, 8): 1})


def test_a_contact_counted_in_the_total_only_gets_no_grid(viewer, org, config):
    config.track_eu_only_with_consent = True
    config.save()
    nameless = ContactFactory(organization=org, first_name="Nia", country="")
    html = _page(viewer("UTC"), nameless)
    assert "<svg" not in _card(html)
    assert "Opens counted in the email&#x27;s total only: nobody&#x27;s name is on them" in html


def test_a_contact_who_refused_gets_no_grid_and_the_reason(viewer, bea):
    add_opens(_sent_to(bea), [_at(1, 8)])
    Contact.objects.filter(pk=bea.pk).update(open_tracking=Contact.OpenTracking.REFUSED)
    html = _page(viewer("UTC"), bea)
    section = _card(html)
    assert "<svg" not in section
    assert 'id="reading-times-why">Not tracked: the contact refused open tracking.</p>' in section


def test_the_card_and_the_email_tabs_eye_say_the_same_of_a_refusal(viewer, org, config):
    finn = ContactFactory(organization=org, first_name="Finn", open_tracking=Contact.OpenTracking.REFUSED)
    email = EmailFactory(organization=org, track_opens=False, not_tracked_reason=NotTrackedReason.CONTACT_REFUSED)
    EmailRecipientFactory(
        email=email, contact=finn, track_opens=False, not_tracked_reason=NotTrackedReason.CONTACT_REFUSED
    )
    client = viewer("UTC")
    card = _card(_page(client, finn))
    tab = client.get(reverse("contacts:detail", args=[finn.pk]), {"tab": "email"}).content.decode()
    said = "Not tracked: the contact refused open tracking"
    assert f"{said}." in card and f'title="{said}"' in tab


def test_median_time_to_first_open_over_the_opened_emails(viewer, bea):
    sent = _at(0, 6)
    for wait in (2, 4, 9):
        add_opens(_sent_to(bea, sent_at=sent), [sent + dt.timedelta(hours=wait), sent + dt.timedelta(hours=30)])
    _sent_to(bea, sent_at=sent)  # never opened: not in the median
    # The middle wait, 4 hours, told by its band.
    assert "Median time to first open: 4\N{EN DASH}8 hours." in _page(viewer("UTC"), bea)


def test_after_a_downgrade_the_reading_times_stay(viewer, org, bea):
    add_opens(_sent_to(bea), [_at(1, 8)])
    org.plan = org.Plan.PROFESSIONAL
    org.save()
    assert _table(_page(viewer("UTC"), bea)) == Counter({(1, 8): 1})


def test_another_organizations_contact_is_a_404(viewer, other_org):
    stranger = ContactFactory(organization=other_org)
    assert viewer("UTC").get(reverse("contacts:detail", args=[stranger.pk])).status_code == 404


def test_an_erased_contact_leaves_no_opens(viewer, bea, admin_user):
    recipient = _sent_to(bea)
    add_opens(recipient, [_at(1, 8), _at(2, 8)])
    contact_erase(contact=bea, actor=admin_user)
    assert not OpenEvent.objects.filter(recipient=recipient).exists()
    assert viewer("UTC").get(reverse("contacts:detail", args=[bea.pk])).status_code == 404


def test_the_contact_page_costs_ten_queries_whatever_the_opens(viewer, bea, django_assert_num_queries):
    client = viewer("UTC")
    add_opens(_sent_to(bea), [_at(1, 8)])
    # session, user, membership, contact, email configuration, emails,
    # recipients, activities, consent records, and the contact's opens (one
    # query for the reading times).
    with django_assert_num_queries(10) as ctx:
        _page(client, bea)
    assert sum('"tracking_openevent"' in q["sql"] for q in ctx.captured_queries) == 1
    for _ in range(5):
        add_opens(_sent_to(bea), [_at(d, h) for d in range(7) for h in (8, 13)])
    with django_assert_num_queries(10):
        _page(client, bea)


@pytest.mark.parametrize(
    ("counts", "window"),
    [
        ([0, 3, 2, 4, 0, 1, 0], (1, 3)),  # 10 opens: Tuesday to Thursday hold 9 (8 needed)
        ([0, 3, 1, 3, 0, 1, 2], (1, 5)),  # no four days in a row hold 8
        ([5, 0, 0, 0, 0, 0, 5], (0, 6)),  # Monday and Sunday are a week apart
        ([1, 0, 0, 0, 0, 0, 0], (0, 0)),
        ([0, 2, 2, 0, 0, 0, 0], (1, 2)),
        ([2, 2, 0, 2, 2, 0, 0], (0, 3)),  # Monday to Thursday and Tuesday to Friday tie: the earlier
        ([3, 0, 3, 0, 0, 1, 1], (0, 2)),  # Monday to Wednesday: 6 of 8
    ],
)
def test_the_window_is_the_fewest_consecutive_slots_holding_three_quarters(counts, window):
    assert smallest_window(counts, sum(counts)) == window
