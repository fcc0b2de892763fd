"""Reports: the team's outreach (/reports/). Every number of its tables is
worked out here again from the OpenEvents and the emails on their own; the
CSV files hold what the tables show; a rep sees only their own; another
organization never appears; weeks start on Monday in the organization's zone."""

import csv
import datetime as dt
import html
import io
import re
import statistics
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.tests.factories import ContactFactory
from emails.models import Email
from emails.sync.importing import mark_replied
from emails.tests.factories import EmailConfigurationFactory, EmailFactory, EmailRecipientFactory
from onepage.durations import band_of
from onepage.tests.factories import MembershipFactory
from tracking.models import COUNTED, OpenEvent, Verdict
from tracking.tests.open_helpers import add_opens

from ..outreach_tables import NOTHING, duration, rep_name

pytestmark = pytest.mark.django_db

PAGE = reverse("reports:outreach")
NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)  # a Thursday


@pytest.fixture(autouse=True)
def _thursday():
    with time_machine.travel(NOW, tick=False):
        yield


def csv_of(client, table: str, **params) -> list[list[str]]:
    response = client.get(reverse("reports:outreach_csv", args=[table]), params)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.reader(io.StringIO(response.content.decode())))


def tables_of(response) -> dict[str, list[list[str]]]:
    """Each table of the page by its caption's first words, its rows as read."""
    page = response.content.decode()
    found = {}
    for caption, body in re.findall(r"<caption>(.*?):.*?</caption>(.*?)</table>", page, re.S):
        rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
        cells = [[html.unescape(c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)] for r in rows]
        found[html.unescape(caption)] = cells
    return found


def email(org, sender, sent_at, *, opens=(), aggregate_opens=(), replied=False, **fields):
    """A tracked email to a contact by name and to an address counted in the
    total only; opens as (verdict, hours after the send)."""
    message = EmailFactory(organization=org, sender=sender, sent_at=sent_at, **fields)
    named = EmailRecipientFactory(email=message, contact=ContactFactory(organization=org, first_name="Zebedee"))
    total_only = EmailRecipientFactory(
        email=message, contact=None, address="desk@elsewhere.example", aggregate_only=True
    )
    for recipient, fetched in ((named, opens), (total_only, aggregate_opens)):
        for verdict, hours in fetched:
            add_opens(recipient, [sent_at + dt.timedelta(hours=hours)], verdict=verdict)
    if replied:
        mark_replied(email=message, address=named.address, at=sent_at + dt.timedelta(hours=30))
    return message


@pytest.fixture
def team(org, admin_user, rep_user, other_org):
    """Two reps' emails over three weeks (in UTC), with people's opens,
    Apple's prefetches, a scanner, opens counted in the total only, replies;
    and what must not count: an untracked email, a queued one, an email
    older than the period, another organization's."""
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    EmailConfigurationFactory(organization=other_org, allow_open_tracking=True)
    day = dt.timedelta(days=1)
    monday = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    apple, scanner, human, proxy = Verdict.PRIVACY_PREFETCH, Verdict.SCANNER, Verdict.HUMAN, Verdict.PROXY
    email(org, rep_user, monday, opens=[(apple, 0), (human, 5), (human, 9)], replied=True)
    email(org, rep_user, monday + day, opens=[(apple, 0)])
    email(org, rep_user, monday - 6 * day, opens=[(scanner, 0), (apple, 0)], aggregate_opens=[(human, 2)])
    email(org, rep_user, monday - 13 * day, aggregate_opens=[(proxy, 48)])
    email(org, admin_user, monday - 5 * day, opens=[(proxy, 1)], replied=True)
    email(org, admin_user, monday + 2 * day)
    email(org, admin_user, monday - 8 * day, opens=[(apple, 0), (scanner, 0)])
    # None of these count.
    email(org, rep_user, monday, track_opens=False, replied=True)
    email(org, rep_user, monday, status=Email.Status.QUEUED)
    email(org, rep_user, monday - 100 * day, opens=[(human, 1)])
    outsider = MembershipFactory(organization=other_org, user__first_name="Olga", user__last_name="Outsider").user
    email(other_org, outsider, monday, opens=[(human, 1)], replied=True)
    assert OpenEvent.objects.filter(recipient__isnull=True).exists()  # the total-only opens are there
    return org


def expected(org, weeks: int):
    """(week or None, sender or None) -> the cells, from the events alone;
    weeks in the organization's zone."""
    zone = ZoneInfo(org.time_zone)
    today = NOW.astimezone(zone).date()
    first = today - dt.timedelta(days=today.weekday(), weeks=weeks - 1)
    groups: dict = {}
    for e in Email.objects.filter(organization=org):
        if e.status != Email.Status.SENT or not e.track_opens or e.sent_at.astimezone(zone).date() < first:
            continue
        local = e.sent_at.astimezone(zone).date()
        week = local - dt.timedelta(days=local.weekday())
        events = list(OpenEvent.objects.filter(email=e))
        people = sorted(o.opened_at for o in events if o.verdict in COUNTED)
        one = (
            1,
            int(bool(events)),
            int(bool(people)),
            int(e.replied_at is not None),
            people[0] - e.sent_at if people else None,
        )
        for key in ((week, None), (None, e.sender), (week, e.sender)):
            groups.setdefault(key, []).append(one)

    def cells(ones):
        sent = len(ones)
        shares = [f"{round(100 * sum(o[i] for o in ones) / sent)}% ({sum(o[i] for o in ones)})" for i in (1, 2, 3)]
        delays = [o[4] for o in ones if o[4] is not None]
        # The middle wait (the lower of two), told by its band.
        return [str(sent), *shares, duration(band_of(statistics.median_low(delays)) if delays else None)]

    return {key: cells(ones) for key, ones in groups.items()}, first


def label(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def test_every_number_is_what_the_events_say(admin_client, team, admin_user, rep_user):
    response = admin_client.get(PAGE, {"weeks": "4"})
    assert response.status_code == 200
    want, first = expected(team, 4)
    shown = tables_of(response)
    weeks = [first + dt.timedelta(weeks=n) for n in range(4)]
    empty = ["0", NOTHING, NOTHING, NOTHING, NOTHING]
    assert shown["Week by week"][1:] == [[label(w), *want.get((w, None), empty)] for w in weeks]
    reps = sorted({u for (_, u) in want if u}, key=lambda u: rep_name(u).lower())
    assert shown["By rep"][1:] == [[rep_name(u), *want[(None, u)]] for u in reps]
    each = sorted(((w, u) for (w, u) in want if w and u), key=lambda k: (-k[0].toordinal(), rep_name(k[1]).lower()))
    assert shown["Each rep, week by week"][1:] == [[label(w), rep_name(u), *want[(w, u)]] for w, u in each]
    # Apple's prefetch and the scanner: the emails only machines fetched, named.
    page = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split()).replace(" :", ":")
    assert "The gap is 2 emails (29% of those sent) whose pixel only machines loaded" in page
    assert "Apple Mail privacy protection: 100% of them (2)" in page
    assert "Security scanner: 50% of them (1)" in page
    events = OpenEvent.objects.filter(
        email__organization=team, email__sent_at__date__gte=first, email__track_opens=True
    )
    events = events.filter(email__status=Email.Status.SENT)
    machines = events.exclude(verdict__in=COUNTED).count()
    assert f"Of the {events.count()} loads of the pixel, {machines} " in page


def test_the_csv_files_hold_what_the_tables_show(admin_client, team):
    response = admin_client.get(PAGE, {"weeks": "12"})
    for caption, key in (("Week by week", "weeks"), ("By rep", "reps"), ("Each rep, week by week", "rep-weeks")):
        table, rows = tables_of(response)[caption], csv_of(admin_client, key, weeks="12")
        assert len(rows) == len(table) and len(rows) > 1
        for shown, saved in zip(table[1:], rows[1:], strict=True):
            joined, saved = [], list(saved)
            for head in table[0]:
                if f"{head} %" in rows[0]:
                    count, pct = saved.pop(0), saved.pop(0)
                    joined.append(f"{pct} ({count})" if count else NOTHING)
                else:
                    joined.append(saved.pop(0))
            assert joined == shown


def test_a_rep_sees_their_own_and_never_a_teammates(rep_client, team, admin_user, rep_user):
    response = rep_client.get(PAGE)
    assert response.status_code == 200
    want, _ = expected(team, 12)
    assert tables_of(response)["By rep"][1:] == [[rep_name(rep_user), *want[(None, rep_user)]]]
    assert "Each rep, week by week" not in tables_of(response)
    assert rep_name(admin_user) not in response.content.decode()
    assert rep_client.get(PAGE, {"rep": rep_user.pk}).status_code == 200
    for url in (PAGE, reverse("reports:outreach_csv", args=["weeks"])):
        refused = rep_client.get(url, {"rep": admin_user.pk})
        assert refused.status_code == 403
        assert b"for admins" in refused.content
    assert rep_client.get(PAGE, {"rep": 999999}).status_code == 403  # nobody's id says nothing either


def test_an_admin_picks_a_rep_and_bad_input_is_never_a_500(admin_client, team, rep_user, other_org):
    picked = admin_client.get(PAGE, {"rep": rep_user.pk})
    want, _ = expected(team, 12)
    assert tables_of(picked)["By rep"][1:] == [[rep_name(rep_user), *want[(None, rep_user)]]]
    outsider = Email.objects.filter(organization=other_org).first().sender
    assert admin_client.get(PAGE, {"rep": outsider.pk}).status_code == 404
    assert admin_client.get(PAGE, {"rep": "abc"}).status_code == 400
    assert admin_client.get(PAGE, {"rep": "9" * 40}).status_code == 400
    assert admin_client.get(reverse("reports:outreach_csv", args=["nope"])).status_code == 404
    odd = admin_client.get(PAGE, {"weeks": "-3"})
    assert odd.status_code == 200 and len(tables_of(odd)["Week by week"]) == 1 + 12


def test_another_organization_never_appears(admin_client, team, other_org):
    page = admin_client.get(PAGE).content.decode()
    assert "Outsider" not in page and "Zebedee" not in page  # reps are named, contacts never
    rows = csv_of(admin_client, "rep-weeks")
    assert all("Outsider" not in cell for row in rows for cell in row)


@pytest.mark.parametrize(
    ("zone", "week"), [("Pacific/Auckland", dt.date(2026, 11, 30)), ("America/Los_Angeles", dt.date(2026, 11, 23))]
)
def test_a_week_starts_on_monday_in_the_organizations_zone_for_every_viewer(
    client, org, admin_user, rep_user, zone, week
):
    """Sunday 29 November 20:00 UTC is Monday morning in Auckland and Sunday
    noon in Los Angeles: the organization's zone decides, whoever looks."""
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    org.time_zone = zone
    org.save(update_fields=["time_zone"])
    email(org, rep_user, dt.datetime(2026, 11, 29, 20, 0, tzinfo=dt.UTC), opens=[(Verdict.HUMAN, 1)])
    for viewer, own_zone in ((admin_user, "Europe/Paris"), (rep_user, "Asia/Tokyo")):
        viewer.time_zone = own_zone
        viewer.save(update_fields=["time_zone"])
        client.force_login(viewer)
        rows = {row[0]: row[1:] for row in csv_of(client, "weeks", weeks="4")[1:]}
        assert rows[label(week)][:3] == ["1", "1", "100%"]
        assert [cells[0] for day, cells in rows.items() if day != label(week)] == ["0", "0", "0"]
        assert f"in the organization's time zone, {zone}" in client.get(PAGE).content.decode()


def test_a_new_organization_zone_moves_the_weeks(client, org, admin_user, django_user_model):
    """Changed in the admin site: Reports' weeks follow at once."""
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    email(org, admin_user, dt.datetime(2026, 11, 29, 20, 0, tzinfo=dt.UTC), opens=[(Verdict.HUMAN, 1)])
    client.force_login(admin_user)
    assert {r[0]: r[1] for r in csv_of(client, "weeks", weeks="4")[1:]}[label(dt.date(2026, 11, 23))] == "1"
    staff = django_user_model.objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    client.force_login(staff)
    form = client.get(reverse("admin:onepage_organization_change", args=[org.pk])).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None} | {"time_zone": "Pacific/Auckland"}
    data |= {"memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"}
    response = client.post(reverse("admin:onepage_organization_change", args=[org.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    client.force_login(admin_user)
    rows = {r[0]: r[1] for r in csv_of(client, "weeks", weeks="4")[1:]}
    assert rows[label(dt.date(2026, 11, 30))] == "1" and rows[label(dt.date(2026, 11, 23))] == "0"


def test_the_queries_do_not_grow_with_weeks_or_reps(admin_client, team, org):
    def count(**params) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(PAGE, params).status_code == 200
        return len(queries)

    few = count(weeks="4")
    for n in range(3):
        sender = MembershipFactory(organization=org).user
        email(org, sender, NOW - dt.timedelta(days=40 + n), opens=[(Verdict.HUMAN, 3)])
    assert count(weeks="52") == few
    # The session, the user, the membership; the members; from the rollup
    # (emails.models.OutreachWeek): the weeks' sums, the reps' sums, the
    # latest rep-weeks.
    assert few == 7


def test_a_reps_name_is_escaped_in_the_chart_and_the_tables(admin_client, org, admin_user):
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    rep = MembershipFactory(organization=org, user__first_name="<b>Eve", user__last_name="&Co</b>").user
    email(org, rep, NOW - dt.timedelta(days=1), opens=[(Verdict.HUMAN, 2)])
    page = admin_client.get(PAGE, {"rep": rep.pk}).content.decode()
    assert "<b>Eve" not in page
    assert 'aria-label="Chart of &lt;b&gt;Eve &amp;Co&lt;/b&gt;&#x27;s tracked emails' in page
    assert '<td data-label="Rep">&lt;b&gt;Eve &amp;Co&lt;/b&gt;</td>' in page


def test_a_long_rep_weeks_table_shows_the_latest_rows_and_the_csv_holds_them_all(admin_client, org):
    """A big team's year is hundreds of rep-weeks: the page shows the latest 50."""
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    reps = [MembershipFactory(organization=org).user for _ in range(5)]
    for week in range(11):
        for rep in reps:
            EmailFactory(organization=org, sender=rep, sent_at=NOW - dt.timedelta(weeks=week))
    response = admin_client.get(PAGE, {"weeks": "12"})
    rows = tables_of(response)["Each rep, week by week"][1:]
    assert len(rows) == 50
    assert rows[0][0] == label(dt.date(2026, 11, 30)) and rows[-1][0] == label(
        dt.date(2026, 11, 30) - dt.timedelta(weeks=9)
    )
    page = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())
    assert "The latest 50 rows; 5 earlier ones are in the CSV." in page
    assert len(csv_of(admin_client, "rep-weeks", weeks="12")) == 1 + 55
