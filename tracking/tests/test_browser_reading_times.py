"""The contact's reading times in Chromium at a phone's width and a desktop's:
the grid fits its card, "Show as table" opens without JavaScript, and the
table holds the opens counted from the OpenEvents here, in the rep's zone.
Screenshots of the card go to var/screenshots/reading-times-<width>.png."""

import datetime as dt
import zoneinfo
from collections import Counter

import pytest

from conftest import SCREENSHOTS, sign_in
from contacts.tests.factories import ContactFactory
from emails.tests.factories import EmailConfigurationFactory, EmailFactory, EmailRecipientFactory
from onepage.models import User
from tracking.models import COUNTED, OpenEvent, Verdict
from tracking.reading_times import DAYS
from tracking.tests.open_helpers import add_opens

pytestmark = pytest.mark.browser

MONDAY = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)  # no daylight saving change in the weeks after


@pytest.fixture
def bea(org, rep_user):
    User.objects.filter(pk=rep_user.pk).update(time_zone="America/Los_Angeles")
    EmailConfigurationFactory(organization=org)
    bea = ContactFactory(organization=org, first_name="Bea", last_name="Lindqvist")
    for week in range(3):
        email = EmailFactory(organization=org, sender=rep_user, sent_at=MONDAY + dt.timedelta(weeks=week))
        recipient = EmailRecipientFactory(email=email, contact=bea, address=bea.email)
        start = email.sent_at + dt.timedelta(days=1, hours=16)  # Tuesday 16:00 UTC: 08:00 in Los Angeles
        add_opens(recipient, [start + dt.timedelta(days=d, minutes=20 * week) for d in range(3)])
        add_opens(recipient, [email.sent_at + dt.timedelta(seconds=3)], verdict=Verdict.PRIVACY_PREFETCH)
    return bea


def _by_hand(contact, zone: str) -> Counter:
    tz = zoneinfo.ZoneInfo(zone)
    cells = Counter()
    for at in OpenEvent.objects.filter(recipient__contact=contact, verdict__in=COUNTED).values_list(
        "opened_at", flat=True
    ):
        local = at.astimezone(tz)
        cells[(local.weekday(), local.hour)] += 1
    return cells


@pytest.mark.parametrize("width", [390, 1280])
def test_the_grid_fits_and_its_table_opens_with_the_counted_opens(page, bea, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "rex")
    page.goto(f"/contacts/{bea.pk}/")
    card = page.locator("#reading-times")
    grid = card.locator("svg.week-grid")
    assert grid.get_attribute("role") == "img"
    assert "Bea's opens by weekday and hour (America/Los_Angeles): 9 opens" in grid.get_attribute("aria-label")
    assert card.locator("#reading-times-words").inner_text() == "Usually reads Tuesday to Thursday, 8\N{EN DASH}9"
    box, card_box = grid.bounding_box(), card.bounding_box()
    assert card_box["x"] <= box["x"] and box["x"] + box["width"] <= card_box["x"] + card_box["width"]
    assert box["width"] >= min(300, width - 100)  # the week stays big enough to read
    table = card.locator("table")
    assert not table.is_visible()
    card.get_by_text("Show as table").click()
    assert table.is_visible()
    rows = table.locator("tbody tr").all_inner_texts()
    shown = Counter()
    for row in rows:
        day, hours, opens = row.split("\t")
        shown[(DAYS.index(day.strip().title()), int(hours.split(":")[0]))] = int(opens)
    assert shown == _by_hand(bea, "America/Los_Angeles")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    card.screenshot(path=str(SCREENSHOTS / f"reading-times-{width}.png"))
