"""The composer says, per recipient and before sending, what will happen to
their copy: tracked by name, counted in the email's total only, or not
tracked, with the reason in words and the fix a click away. It asks the same
policy as the send: what it promised is what the email page says after."""

import html
import re

import pytest
from django.urls import reverse

from conftest import send_from_composer
from contacts.models import Contact
from contacts.tests.factories import ContactFactory
from emails.models import EmailConfiguration, TrackingMode
from emails.tracking_words import email_tracking

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(org):
    return {
        # Created the ordinary way: a name and an address, no country.
        "nina": ContactFactory(
            organization=org, first_name="Nina", last_name="Newlead", email="nina@newlead.example", country=""
        ),
        "ida": ContactFactory(organization=org, first_name="Ida", last_name="Known", email="ida@known.example"),
        "greta": ContactFactory(
            organization=org, first_name="Greta", last_name="Berlin", email="greta@firma.de", country="DE"
        ),
        "rita": ContactFactory(
            organization=org, first_name="Rita", email="rita@x.example", open_tracking=Contact.OpenTracking.REFUSED
        ),
    }


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _row(page: str, address: str) -> str:
    start = page.rindex("<li", 0, page.index(f'data-address="{address}"'))
    return page[start : page.index("</li>", start)]


def _line(page: str) -> str:
    return _text(re.search(r'id="track-line">(.*?)</p>', page, re.S).group(1))


def _preview(client, **fields) -> str:
    # An unchecked box is left out of the form's data, as a browser does.
    data = {k: v for k, v in {"track": "on", **fields}.items() if v is not None}
    response = client.post(reverse("emails:compose_preview"), data)
    assert response.status_code == 200
    return response.content.decode()


def test_starting_from_a_contact_without_a_country_says_it_before_sending(sender, rep_client, people):
    nina = people["nina"]
    page = rep_client.get(reverse("emails:compose") + f"?contact={nina.pk}").content.decode()
    assert _line(page) == "Opens counted in the email's total only."
    row = _row(page, nina.email)
    assert "Nina Newlead" in row and "Total only" in row
    assert "No country on the contact: opens counted in the email's total only" in _text(row)
    assert f'href="{reverse("contacts:edit", args=[nina.pk])}#id_country"' in row
    assert f'href="{reverse("privacy:consent_request", args=[nina.pk])}"' in row
    # The organization's rule is an admin's to change, not a rep's.
    assert reverse("email_configuration") not in row


def test_typed_addresses_get_their_own_line_and_the_track_line_counts_them(sender, rep_client, people):
    page = _preview(
        rep_client,
        to="Ida Known <ida@known.example>, nina@newlead.example; new@prospect.example",
        cc="greta@firma.de",
        bcc="rita@x.example, rex@acme.example",
    )
    assert _line(page) == "1 of 6 recipients by name · 2 in the email's total only · 3 not tracked"
    assert "By name" in _row(page, "ida@known.example") and "track-why" not in _row(page, "ida@known.example")
    typed = _row(page, "new@prospect.example")
    assert "Not a contact yet: opens counted in the email's total only" in _text(typed)
    assert f'href="{reverse("contacts:create")}?email=new%40prospect.example"' in typed
    assert "In Germany: not tracked until they allow it" in _text(_row(page, "greta@firma.de"))
    assert "Refused open tracking: never tracked." in _text(_row(page, "rita@x.example"))
    assert "href" not in _row(page, "rita@x.example")  # a refusal is respected: nothing to fix
    assert "You or a colleague: never tracked." in _text(_row(page, "rex@acme.example"))


def test_an_address_not_finished_yet_is_left_out_and_an_admin_may_change_the_rule(
    org, admin_user, client, people, smtp_server
):
    from emails.tests.factories import EmailConfigurationFactory, SMTPMailboxFactory

    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    SMTPMailboxFactory(user=admin_user, server=smtp_server, from_address="ada@acme.example")
    client.force_login(admin_user)
    page = _preview(client, to="nina@newlead.example, ida@kno")
    assert _line(page) == "Opens counted in the email's total only."
    assert f'href="{reverse("email_configuration")}"' in _row(page, "nina@newlead.example")
    assert "ida@kno" not in page


def test_the_whole_email_not_tracked_says_why_once(sender, rep_client, org, people):
    assert (
        _line(_preview(rep_client, to="ida@known.example", track=None)) == "Off: this email is sent without tracking."
    )
    EmailConfiguration.objects.filter(organization=org).update(allow_open_tracking=False)
    page = _preview(rep_client, to="ida@known.example, nina@newlead.example")
    assert _line(page) == "Allow open tracking is off for your organization"
    assert "track-recipient" not in page


def test_without_the_eu_rule_everyone_but_a_refusal_is_tracked_by_name(sender, rep_client, org, people):
    EmailConfiguration.objects.filter(organization=org).update(track_eu_only_with_consent=False)
    page = _preview(rep_client, to="nina@newlead.example, new@prospect.example, greta@firma.de")
    assert _line(page) == "All 3 recipients by name."


@pytest.mark.parametrize(
    ("unknown", "line"),
    [
        (TrackingMode.AGGREGATE, "Opens tracked: 1 recipient by name, 2 in the email's total only"),
        (TrackingMode.OFF, "Opens tracked: 1 recipient by name, 2 not tracked"),
        (TrackingMode.IDENTIFIED, "Opens tracked by name"),
    ],
)
def test_what_the_composer_promised_is_what_the_email_page_says(
    unknown, line, sender, rep_client, org, people, django_capture_on_commit_callbacks
):
    EmailConfiguration.objects.filter(organization=org).update(unknown_recipients=unknown)
    fields = {"to": "ida@known.example, nina@newlead.example", "cc": "new@prospect.example"}
    promised = _preview(rep_client, **fields)
    email = send_from_composer(rep_client, django_capture_on_commit_callbacks, subject="Offer", **fields)
    recipients = list(email.recipients.order_by("pk"))
    for recipient in recipients:
        assert f"track-{recipient.tracking_mode}" in _row(promised, recipient.address)
    assert email_tracking(email, recipients) == line
    page = rep_client.get(reverse("emails:detail", args=[email.pk])).content.decode()
    assert line in _text(page)


def test_the_preview_is_a_post_for_signed_in_members_only(client, rep_client, sender):
    assert rep_client.get(reverse("emails:compose_preview")).status_code == 405
    client.logout()
    response = client.post(reverse("emails:compose_preview"), {"to": "a@b.example"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_another_organizations_contact_is_not_a_contact_here(sender, rep_client, other_org):
    ContactFactory(organization=other_org, first_name="Olga", email="olga@elsewhere.example")
    row = _row(_preview(rep_client, to="olga@elsewhere.example"), "olga@elsewhere.example")
    assert "Olga" not in row and "Not a contact yet" in _text(row)
