"""The email page's opens over time: one row per recipient tracked by name,
each person's opens as marks and the automatic fetches drawn apart, on an
axis in the viewing rep's time zone, with the table behind it. The tests
work out each row from the OpenEvents on their own and read the page the
way a rep (or a screen reader) does."""

import datetime as dt
import html
import re
import zoneinfo

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import dateformat

from contacts.tests.factories import ContactFactory
from emails.models import Email
from emails.tests.factories import EmailConfigurationFactory, EmailFactory, EmailRecipientFactory
from onepage.models import User
from privacy.erasure import contact_erase
from tracking import time_axis, timeline_chart
from tracking.models import COUNTED, OpenEvent, Verdict
from tracking.report_words import AUTOMATIC_WORDS
from tracking.tests.open_helpers import add_opens

pytestmark = pytest.mark.django_db

SENT = dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC)
NOW = SENT + dt.timedelta(days=3)


@pytest.fixture
def now(time_machine):
    time_machine.move_to(NOW, tick=False)
    return NOW


@pytest.fixture
def bea(org):
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    return ContactFactory(organization=org, first_name="Bea", last_name="Buyer", email="bea@buyer.example")


def _email(org, sender, *contacts, **fields):
    email = EmailFactory(organization=org, sender=sender, subject="Spring order", sent_at=SENT, **fields)
    recipients = [EmailRecipientFactory(email=email, contact=c, address=c.email, delivered_at=SENT) for c in contacts]
    return email, recipients


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _table(page: str) -> list[tuple[str, str, str]]:
    """The rows of the chart's table: (recipient, time, kind), as read."""
    table = re.search(r'<table class="table opens-table">(.*?)</table>', page, re.S).group(1)
    body = table.split("<tbody>")[1]
    return [
        tuple(_text(cell) for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S))
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def _chart(page: str) -> str:
    return re.search(r'<svg class="opens-chart"(.*?)</svg>', page, re.S).group(0)


def _label(page: str) -> str:
    return html.unescape(re.search(r'<svg class="opens-chart"[^>]*aria-label="([^"]*)"', page).group(1))


def _ticks(page: str) -> list[str]:
    return [_text(t) for t in re.findall(r'<text class="tick"[^>]*>(.*?)</text>', _chart(page), re.S)]


def _expected_rows(recipients, zone) -> list[tuple[str, str, str]]:
    """Each recipient's fetches from the events on their own, oldest first."""
    rows = []
    for r in recipients:
        name = r.contact.full_name if r.contact else r.address
        for event in OpenEvent.objects.filter(recipient=r).order_by("opened_at", "pk"):
            when = dateformat.format(event.opened_at.astimezone(zone), "D j M Y, H:i")
            kind = Verdict(event.verdict).label if event.verdict in COUNTED else AUTOMATIC_WORDS[event.verdict]
            rows.append((name, when, kind if event.verdict in COUNTED else f"Automatic: {kind}"))
    return rows


def page_of(client, email) -> str:
    response = client.get(reverse("emails:detail", args=[email.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_table_lists_each_recipients_fetches_as_the_events_say(rep_client, org, rep_user, bea, now):
    carl = ContactFactory(organization=org, first_name="Carl", last_name="Cole", email="carl@cole.example")
    email, (to_bea, to_carl) = _email(org, rep_user, bea, carl)
    add_opens(to_bea, [SENT + dt.timedelta(seconds=2)], verdict=Verdict.PRIVACY_PREFETCH)
    add_opens(to_bea, [SENT + dt.timedelta(hours=h) for h in (3, 26, 50)])
    add_opens(to_carl, [SENT + dt.timedelta(seconds=1)], verdict=Verdict.SCANNER)
    add_opens(to_carl, [SENT + dt.timedelta(hours=5)], verdict=Verdict.PROXY)

    page = page_of(rep_client, email)
    zone = zoneinfo.ZoneInfo("UTC")
    assert _table(page) == _expected_rows([to_bea, to_carl], zone)
    chart = _chart(page)
    assert chart.count('class="mark mark-open"') == 4 and chart.count('class="mark mark-auto"') == 2
    assert _label(page).startswith("Opens over time, from the send to now: Bea Buyer opened 3 times, last 2 days")


def test_a_prefetch_at_delivery_then_a_read_two_days_later(rep_client, org, rep_user, bea, now):
    email, (to_bea,) = _email(org, rep_user, bea)
    add_opens(to_bea, [SENT + dt.timedelta(seconds=1)], verdict=Verdict.PRIVACY_PREFETCH)
    add_opens(to_bea, [SENT + dt.timedelta(days=2, hours=1)])

    page = page_of(rep_client, email)
    marks = re.findall(
        r'<g class="mark (mark-open|mark-auto)"[^>]*>\s*<title>([^<]*)</title>\s*<\w+ [^>]*?c?x="([\d.]+)"',
        _chart(page),
    )
    # Left to right: the automatic fetch at the send, then the read.
    assert [m[0] for m in sorted(marks, key=lambda m: float(m[2]))] == ["mark-auto", "mark-open"]
    titles = {m[0]: html.unescape(m[1]) for m in marks}
    assert "Apple Mail privacy protection" in titles["mark-auto"]
    assert titles["mark-open"].startswith("Bea Buyer opened")
    assert _label(page) == (
        "Opens over time, from the send to now: Bea Buyer opened once, last 2 days after the send; 1 automatic fetch."
    )
    assert [row[2] for row in _table(page)] == ["Automatic: Apple Mail privacy protection", "Opened"]


def test_the_axis_is_in_the_viewing_reps_time_zone(client, org, rep_user, admin_user, bea, time_machine):
    time_machine.move_to(SENT + dt.timedelta(hours=20), tick=False)
    email, (to_bea,) = _email(org, rep_user, bea)
    add_opens(to_bea, [SENT + dt.timedelta(hours=10)])
    seen = {}
    for user, zone in ((rep_user, "Pacific/Auckland"), (admin_user, "America/Los_Angeles")):
        user.time_zone = zone
        user.save(update_fields=["time_zone"])
        client.force_login(user)
        page = page_of(client, email)
        seen[zone] = (_ticks(page), _table(page))
    auckland, los_angeles = seen["Pacific/Auckland"], seen["America/Los_Angeles"]
    assert auckland[0] and los_angeles[0] and auckland[0] != los_angeles[0]
    # Hours on a day's axis: Auckland's midnight is named by its day.
    assert auckland[0] == ["Wed 4", "06:00", "12:00", "18:00"] and los_angeles[0] == ["06:00", "12:00", "18:00"]
    # The same open, at its local time for each: 19:00 UTC.
    assert auckland[1] == [("Bea Buyer", "Wed 4 Mar 2026, 08:00", "Opened")]
    assert los_angeles[1] == [("Bea Buyer", "Tue 3 Mar 2026, 11:00", "Opened")]


def test_ticks_are_hours_for_a_day_and_days_for_weeks():
    zone = zoneinfo.ZoneInfo("Europe/Dublin")
    day = time_axis.ticks(SENT, SENT + dt.timedelta(hours=20), zone)
    assert [t.label for t in day] == ["12:00", "18:00", "Wed 4"]
    weeks = time_axis.ticks(SENT, SENT + dt.timedelta(days=20), zone)
    assert [t.label for t in weeks] == ["9 Mar", "16 Mar", "23 Mar"]
    assert all(0 <= t.x <= time_axis.WIDTH for t in day + weeks)


def test_another_organizations_email_is_a_404(rep_client, other_org):
    theirs = EmailFactory(organization=other_org)
    add_opens(EmailRecipientFactory(email=theirs), [theirs.sent_at])
    assert rep_client.get(reverse("emails:detail", args=[theirs.pk])).status_code == 404


def test_an_erased_contact_leaves_no_named_row(rep_client, org, rep_user, admin_user, bea, now):
    carl = ContactFactory(organization=org, first_name="Carl", last_name="Cole", email="carl@cole.example")
    email, (to_bea, to_carl) = _email(org, rep_user, bea, carl)
    add_opens(to_bea, [SENT + dt.timedelta(hours=2)])
    add_opens(to_carl, [SENT + dt.timedelta(hours=3)])
    contact_erase(contact=bea, actor=admin_user)

    page = page_of(rep_client, email)
    assert "Bea" not in _chart(page) and "bea@buyer.example" not in page
    assert [row[0] for row in _table(page)] == ["Carl Cole"]


def test_the_total_only_opens_are_one_row_naming_nobody(rep_client, org, rep_user, bea, now):
    nina = ContactFactory(organization=org, first_name="Nina", last_name="Newlead", email="nina@new.example")
    email, (to_bea, to_nina) = _email(org, rep_user, bea, nina)
    to_nina.aggregate_only = True
    to_nina.save(update_fields=["aggregate_only"])
    add_opens(to_nina, [SENT + dt.timedelta(hours=4), SENT + dt.timedelta(hours=9)])
    add_opens(to_bea, [SENT + dt.timedelta(hours=6)])

    page = page_of(rep_client, email)
    chart = _chart(page)
    assert "Nina" not in chart and "nina@new.example" not in chart
    assert "In the email's total only" in _text(chart) and "2 opens" in _text(chart)
    # Counts only: no time of theirs is drawn or listed.
    assert chart.count('class="mark mark-open"') == 1
    assert [row[0] for row in _table(page)] == ["Bea Buyer", "In the email's total only"]
    assert _table(page)[1][1:] == ("Times not shown", "2 opens")
    assert "most recent" not in _text(page[page.index('id="opens-over-time"') :])
    assert "Opened 3 times" in page  # the report's total, which the row is part of


def test_not_tracked_recipients_get_no_row_and_an_unopened_email_no_chart(rep_client, org, rep_user, bea, now):
    rita = ContactFactory(organization=org, first_name="Rita", email="rita@x.example", open_tracking="refused")
    email, (to_bea, to_rita) = _email(org, rep_user, bea, rita)
    to_rita.track_opens = False
    to_rita.save(update_fields=["track_opens"])
    assert 'class="opens-chart"' not in page_of(rep_client, email)
    add_opens(to_bea, [SENT + dt.timedelta(hours=1)])
    page = page_of(rep_client, email)
    assert "Rita" not in _chart(page)
    assert [row[0] for row in _table(page)] == ["Bea Buyer"]


def test_many_opens_draw_the_most_recent_only(rep_client, org, rep_user, bea, now, settings):
    email, (to_bea,) = _email(org, rep_user, bea)
    add_opens(to_bea, [SENT + dt.timedelta(minutes=10 * n) for n in range(timeline_chart.MARKS_PER_RECIPIENT + 5)])
    page = page_of(rep_client, email)
    assert _chart(page).count('class="mark mark-open"') == timeline_chart.MARKS_PER_RECIPIENT
    assert f"the {timeline_chart.MARKS_PER_RECIPIENT} most recent of 205 are shown" in _text(page)


def test_an_old_email_ends_at_its_last_fetch(rep_client, org, rep_user, bea, time_machine):
    time_machine.move_to(SENT + dt.timedelta(days=200), tick=False)
    email, (to_bea,) = _email(org, rep_user, bea)
    add_opens(to_bea, [SENT + dt.timedelta(days=3)])
    page = page_of(rep_client, email)
    assert "from the send to the last fetch" in _label(page)
    assert _ticks(page) == ["Wed 4", "Thu 5", "Fri 6"]


def test_the_email_page_costs_one_query_more_with_opens(rep_client, org, rep_user, bea, now, django_assert_num_queries):
    email, (to_bea,) = _email(org, rep_user, bea)
    add_opens(to_bea, [SENT + dt.timedelta(hours=h) for h in range(1, 31)])
    url = reverse("emails:detail", args=[email.pk])
    rep_client.get(url)
    # Session, user, membership, the email, its recipients, the report's
    # recent opens, the sender's mute, and the chart's marks.
    with django_assert_num_queries(8):
        rep_client.get(url)
    for n in range(10):
        other = ContactFactory(organization=org, first_name=f"Extra{n}", email=f"x{n}@ex.example")
        add_opens(
            EmailRecipientFactory(email=email, contact=other, address=other.email), [SENT + dt.timedelta(hours=n + 1)]
        )
    with django_assert_num_queries(8):
        assert rep_client.get(url).content.decode().count('class="chart-row"') == 11


def test_the_demo_has_an_email_fetched_on_delivery_and_read_later(client, settings):
    settings.DEBUG = True  # seed_demo runs in development only
    call_command("seed_demo")
    client.force_login(User.objects.get(username="rex"))
    email = Email.objects.get(subject="Following up on the demo")
    rows = _table(page_of(client, email))
    assert [kind for _, _, kind in rows] == ["Automatic: Apple Mail privacy protection", "Opened"]


def test_names_are_escaped_in_the_picture_and_the_table(rep_client, org, rep_user, now):
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    odd = ContactFactory(organization=org, first_name="<b>Bold</b>", last_name='"Q"', email="odd@x.example")
    email, (to_odd,) = _email(org, rep_user, odd)
    add_opens(to_odd, [SENT + dt.timedelta(hours=1)])
    page = page_of(rep_client, email)
    section = page[page.index('id="opens-over-time"') :]
    assert "<b>Bold</b>" not in section and "&lt;b&gt;Bold&lt;/b&gt;" in section
    assert _table(page)[0][0] == '<b>Bold</b> "Q"'


def test_ticks_stay_on_local_hours_across_a_change_of_summer_time():
    zone = zoneinfo.ZoneInfo("Europe/Dublin")  # clocks go forward at 01:00 on 29 March 2026
    start = dt.datetime(2026, 3, 28, 20, 0, tzinfo=dt.UTC)
    found = time_axis.ticks(start, start + dt.timedelta(hours=20), zone)
    assert [t.label for t in found] == ["Sun 29", "06:00", "12:00"]
    assert [t.at.astimezone(dt.UTC).hour for t in found] == [0, 5, 11]


def test_many_fetched_recipients_share_the_marks(rep_client, org, rep_user, bea, now):
    contacts = [ContactFactory(organization=org, first_name=f"Reader{n}", email=f"r{n}@ex.example") for n in range(8)]
    email, recipients = _email(org, rep_user, *contacts)
    for r in recipients:
        add_opens(r, [SENT + dt.timedelta(minutes=5 * n + 1) for n in range(130)])
    page = page_of(rep_client, email)
    each = timeline_chart.MARKS_IN_ALL // 8
    assert _chart(page).count('class="mark mark-open"') == 8 * each
    assert _text(page).count(f": the {each} most recent of 130 are shown.") == 8
