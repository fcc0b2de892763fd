"""What the rep reads about one recipient's tracking is the same on every
page: the email page's Tracking row and its open report, the folders' row,
the contact's Email tab and the activity feed. One row of the table per
tracking mode (identified, aggregate, off, refused, non-contact), each sent from the
composer through a real SMTP server with the product's defaults (the EU rule
on, unknown recipients in aggregate), read once in a mail client."""

import html
import re

import pytest
from django.urls import reverse

from conftest import read_copy, send_from_composer
from contacts.models import Contact
from contacts.tests.factories import ContactFactory
from emails.models import EmailConfiguration, TrackingMode

pytestmark = pytest.mark.django_db

TOTAL_ONLY = "Opens counted in the email's total only"
OFF = "Not tracked: recipients who are not contacts, or of unknown country, are not tracked"
REFUSED = "Not tracked: the contact refused open tracking"


# mode: (contact, config), then what each page says.
TABLE = {
    "identified": {
        "contact": {"first_name": "Ida", "last_name": "Known", "country": "US"},
        "tracking_row": "Opens tracked by name",
        "report_row": "Opened once",
        "folder_eye": ("eye-open", "Opened once"),
        "tab": ("eye-open", "Opened once", None),
        "feed": "Ida Known opened Offer identified once",
    },
    "aggregate": {
        # Created the ordinary way: a name and an address, no country.
        "contact": {"first_name": "Nina", "last_name": "Newlead", "country": ""},
        "tracking_row": TOTAL_ONLY,
        "report_row": TOTAL_ONLY,
        "folder_eye": ("eye-open", f"Opened once ({TOTAL_ONLY[0].lower()}{TOTAL_ONLY[1:]})"),
        "tab": ("eye-total", f"{TOTAL_ONLY}: opened once in total", "Total only"),
        "feed": "Offer aggregate: 1 open counted in the email's total only",
    },
    "off": {
        "contact": {"first_name": "Otto", "last_name": "Unknown", "country": ""},
        "config": {"unknown_recipients": TrackingMode.OFF},
        "tracking_row": OFF,
        "report_row": None,  # nothing tracked: no open report
        "folder_eye": ("eye-off", OFF),
        "tab": ("eye-off", OFF, "Not tracked"),
        "feed": None,  # nothing tracked: no line
    },
    "refused": {
        "contact": {"first_name": "Rita", "country": "US", "open_tracking": Contact.OpenTracking.REFUSED},
        "tracking_row": REFUSED,
        "report_row": None,
        "folder_eye": ("eye-off", REFUSED),
        "tab": ("eye-off", REFUSED, "Not tracked"),
        "feed": None,
    },
    "non-contact": {
        "contact": None,
        "tracking_row": TOTAL_ONLY,
        "report_row": TOTAL_ONLY,
        "folder_eye": ("eye-open", f"Opened once ({TOTAL_ONLY[0].lower()}{TOTAL_ONLY[1:]})"),
        "tab": None,
        "feed": "Offer non-contact: 1 open counted in the email's total only",
    },
}

ADDRESS = "reader@prospect.example"


def _text(fragment: str) -> str:
    """The words of an HTML fragment, as a person reads them."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _tracking_row(page: str) -> str:
    return _text(re.search(r"<dt>Tracking</dt>\s*<dd[^>]*>(.*?)</dd>", page, re.S).group(1))


def _eye(fragment: str) -> tuple[str, str]:
    match = re.search(r'<span class="eye (eye-[a-z]+)" role="img" title="([^"]*)"', fragment)
    return match.group(1), html.unescape(match.group(2))


def _folder_row(page: str, subject: str) -> str:
    start = page.index(f">{subject}</a>")
    return page[page.rindex("<tr>", 0, start) : page.index("</tr>", start)]


@pytest.mark.parametrize("mode", TABLE)
def test_every_page_says_the_same_of_one_recipient(
    mode, org, sender, rep_client, smtp_server, settle_opens, django_capture_on_commit_callbacks
):
    row = TABLE[mode]
    EmailConfiguration.objects.filter(organization=org).update(**row.get("config", {}))
    contact = ContactFactory(organization=org, email=ADDRESS, **row["contact"]) if row["contact"] else None
    email = send_from_composer(rep_client, django_capture_on_commit_callbacks, to=ADDRESS, subject=f"Offer {mode}")
    (copy,) = smtp_server.received
    if "/o/" in copy.part("text/html"):
        read_copy(copy.part("text/html"))
        assert settle_opens() == 1

    page = rep_client.get(reverse("emails:detail", args=[email.pk])).content.decode()
    assert _tracking_row(page) == row["tracking_row"]
    if row["report_row"] is None:
        assert 'id="open-report"' not in page
    else:
        report = page[page.index(f'data-address="{ADDRESS}"') :].split("</section>")[0]
        assert row["report_row"] in _text(report)

    folder = "emails:open_tracking" if row["folder_eye"][0] == "eye-open" else "emails:index"
    listing = rep_client.get(reverse(folder)).content.decode()
    assert _eye(_folder_row(listing, email.subject)) == row["folder_eye"]

    # The activity feed: one line by name, or one naming nobody for the total only.
    feed = [
        _text(line)
        for line in re.findall(
            r'<p class="feed-line">(.*?)</p>', rep_client.get(reverse("activity:feed")).content.decode(), re.S
        )
    ]
    assert [line.replace(" :", ":").split(", last ")[0] for line in feed] == ([row["feed"]] if row["feed"] else [])

    if contact is not None:
        tab = rep_client.get(reverse("contacts:detail", args=[contact.pk]) + "?tab=email").content.decode()
        event = tab[tab.index(f">{email.subject}</a>") :].split("</li>")[0]
        eye_class, eye_title, beside = row["tab"]
        assert _eye(event) == (eye_class, eye_title)
        side = _text(event[event.index('class="event-side"') :].partition(">")[2])
        assert "Not opened yet" not in side
        if beside is not None:
            # A few words beside the eye, and the eye's whole sentence under the subject.
            assert side.startswith(beside)
            main = _text(event[: event.index('class="event-side"')])
            assert eye_title in main


def test_an_email_to_several_kinds_of_recipient_says_how_many_of_each(
    org, sender, rep_client, smtp_server, django_capture_on_commit_callbacks
):
    ContactFactory(organization=org, first_name="Ida", email="ida@known.example", country="US")
    ContactFactory(organization=org, first_name="Nina", email="nina@newlead.example", country="")
    ContactFactory(organization=org, first_name="Rita", email="rita@x.example", open_tracking="refused")
    email = send_from_composer(
        rep_client,
        django_capture_on_commit_callbacks,
        to="ida@known.example, nina@newlead.example",
        cc="rita@x.example",
        subject="Three",
    )
    page = rep_client.get(reverse("emails:detail", args=[email.pk])).content.decode()
    assert _tracking_row(page) == "Opens tracked: 1 recipient by name, 1 in the email's total only, 1 not tracked"
