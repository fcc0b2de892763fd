"""`{% reltime at %}`: a relative time ("3 minutes ago") that
static/js/reltime.js keeps true without a reload. The server writes the
words the pages wrote before (humanize's naturaltime), the instant in UTC
for the script, the absolute time in the viewer's zone as the title; the
pages that show a relative time use it. The script's words are compared
with these in Chromium (test_browser_reltime.py)."""

import datetime as dt
import re
import zoneinfo

import pytest
import time_machine
from django.conf import settings
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from contacts.tests.factories import ContactFactory
from emails.models import Email
from emails.tests.factories import EmailFactory, EmailRecipientFactory
from tracking.hits import Open
from tracking.tests.open_helpers import email_with_opens, minutes_ago
from tracking.writer import write_opens

TAG = Template("{% load times %}{% reltime at %}")
NATURAL = Template("{% load humanize %}{{ at|naturaltime }}")
NOW = dt.datetime(2026, 3, 5, 9, 20, 30, 250000, tzinfo=dt.UTC)

RELATIVE = re.compile(
    r'<time datetime="(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)" data-relative title="([^"]+)">([^<]+)</time>'
)


def render(template: Template, at) -> str:
    return template.render(Context({"at": at}))


def test_the_tag_writes_utc_for_the_script_and_the_viewers_time_as_the_title():
    at = NOW - dt.timedelta(minutes=3, microseconds=1_500)
    with time_machine.travel(NOW, tick=False), timezone.override(zoneinfo.ZoneInfo("Asia/Kolkata")):
        html = render(TAG, at)
    assert html == (
        '<time datetime="2026-03-05T09:17:30.248Z" data-relative title="5 Mar 2026, 14:47 IST">3\xa0minutes ago</time>'
    )


@pytest.mark.parametrize("zone", ["UTC", "Europe/Dublin", "America/St_Johns", "Pacific/Kiritimati"])
@pytest.mark.parametrize(
    "age",
    [
        dt.timedelta(0),
        dt.timedelta(seconds=1),
        dt.timedelta(seconds=42),
        dt.timedelta(minutes=1),
        dt.timedelta(minutes=59, seconds=59),
        dt.timedelta(hours=2),
        dt.timedelta(days=1, hours=3),
        dt.timedelta(days=16),
        dt.timedelta(days=40),
        dt.timedelta(days=800),
        -dt.timedelta(minutes=5),
    ],
)
def test_the_words_are_the_ones_the_pages_said(zone, age):
    at = NOW - age
    with time_machine.travel(NOW, tick=False), timezone.override(zoneinfo.ZoneInfo(zone)):
        html = render(TAG, at)
        said = render(NATURAL, at)
    assert RELATIVE.fullmatch(html).group(3) == said


def test_nothing_for_no_time():
    assert render(TAG, None) == "" and render(TAG, "") == ""


def _relative_times(html: str) -> list[str]:
    return [m.group(3) for m in RELATIVE.finditer(html)]


def test_the_email_folders_the_contacts_email_tab_and_the_contacts_list(rep_client, org, rep_user):
    aoife = ContactFactory(organization=org, first_name="Aoife")
    email_with_opens(
        organization=org, sender=rep_user, contact=aoife, subject="Quote", opens=minutes_ago(timezone.now(), 3)
    )

    for path in [reverse("emails:index"), reverse("emails:open_tracking")]:
        assert _relative_times(rep_client.get(path).content.decode()) == ["3\xa0minutes ago"], path
    tab = rep_client.get(reverse("contacts:detail", args=[aoife.pk]) + "?tab=email").content.decode()
    assert _relative_times(tab) == ["3\xa0minutes ago"]
    contacts = rep_client.get(reverse("contacts:list")).content.decode()
    assert _relative_times(contacts) == ["3\xa0minutes ago"]  # Last opened


def test_the_email_page_interrupted_and_uncertain(rep_client, org, rep_user):
    email = EmailFactory(organization=org, sender=rep_user, subject="Stuck")
    EmailRecipientFactory(email=email, delivery_uncertain_at=timezone.now() - dt.timedelta(hours=2))
    started = timezone.now() - dt.timedelta(seconds=settings.EMAIL_CLAIM_TIMEOUT + 5)
    Email.objects.filter(pk=email.pk).update(status=Email.Status.SENDING, claimed_at=started)

    html = rep_client.get(reverse("emails:detail", args=[email.pk])).content.decode()

    assert "Sending was interrupted." in html and "Delivery uncertain." in html
    times = _relative_times(html)
    assert len(times) == 2 and times[0].endswith(" ago") and times[1] == "2\xa0hours ago"


def test_the_bell_panel(rep_client, org, rep_user, django_capture_on_commit_callbacks):
    bea = ContactFactory(organization=org, first_name="Bea", email="bea@buyer.example")
    email = EmailFactory(organization=org, sender=rep_user, subject="Spring order")
    recipient = EmailRecipientFactory(email=email, contact=bea, address=bea.email)
    opened = Open(recipient_id=recipient.pk, opened_at=timezone.now() - dt.timedelta(minutes=10), key="reltime-1")
    with django_capture_on_commit_callbacks(execute=True):  # notifications are made after the commit
        write_opens(opens=[opened])

    panel = rep_client.get(reverse("alerts:panel"), headers={"HX-Request": "true"}).content.decode()

    assert "Spring order" in panel
    assert _relative_times(panel) == ["10\xa0minutes ago"]
