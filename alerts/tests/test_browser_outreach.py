"""Reports in Chromium, at 390 px and 1280 px: Reports in the top bar, the
chart drawn with its words, "Show as table" opening the week's numbers
without any script, and the CSV downloaded holding what the database says."""

import csv
import datetime as dt
import io

import pytest
from django.db.models import Count, Q
from django.utils import timezone

from conftest import screenshot, sign_in
from emails.models import Email
from emails.sync.importing import mark_replied
from emails.tests.factories import EmailConfigurationFactory, EmailFactory, EmailRecipientFactory
from tracking.models import COUNTED, Verdict
from tracking.tests.open_helpers import add_opens

pytestmark = pytest.mark.browser


@pytest.fixture
def this_week(org, rep_user):
    """Three emails of the rep's, sent in the last minutes: one prefetched by
    Apple then read, one only prefetched, one never fetched but replied to."""
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    now = timezone.now()
    for fetched in ([Verdict.PRIVACY_PREFETCH, Verdict.HUMAN], [Verdict.PRIVACY_PREFETCH], []):
        email = EmailFactory(organization=org, sender=rep_user, sent_at=now - dt.timedelta(minutes=10))
        recipient = EmailRecipientFactory(email=email)
        for n, verdict in enumerate(fetched):
            add_opens(recipient, [now - dt.timedelta(minutes=9 - 2 * n)], verdict=verdict)
        if not fetched:
            mark_replied(email=email, address=recipient.address, at=now)


@pytest.mark.parametrize("width", [390, 1280])
def test_a_rep_reads_the_chart_opens_its_table_and_downloads_it(page, this_week, org, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "rex")
    page.click("nav.mainnav >> text=Reports")
    page.wait_for_url("**/reports/")
    chart = page.locator("svg.chart[role=img]")
    assert "3 sent; fetched at all 67%" in chart.get_attribute("aria-label")
    assert "opened by a person 33%, replied 33%" in chart.get_attribute("aria-label")
    assert chart.bounding_box()["width"] <= width
    table = page.locator("#outreach-weeks-table table")
    assert not table.is_visible()
    page.click("#outreach-weeks-table > summary")
    assert table.is_visible()
    screenshot(page, f"chart-{width}-outreach")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width

    with page.expect_download() as download:
        page.click("#outreach-weeks-table >> text=Download CSV")
    rows = list(csv.reader(io.StringIO(download.value.path().read_text())))
    week = rows[-1]  # this week's, the last
    emails = Email.objects.filter(organization=org, track_opens=True, status=Email.Status.SENT).aggregate(
        sent=Count("pk", distinct=True),
        fetched=Count("pk", filter=Q(opens__isnull=False), distinct=True),
        opened=Count("pk", filter=Q(opens__verdict__in=COUNTED), distinct=True),
        replied=Count("pk", filter=Q(replied_at__isnull=False), distinct=True),
    )
    assert week[1:8] == [
        str(emails["sent"]),
        str(emails["fetched"]),
        "67%",
        str(emails["opened"]),
        "33%",
        str(emails["replied"]),
        "33%",
    ]
    assert emails == {"sent": 3, "fetched": 2, "opened": 1, "replied": 1}
