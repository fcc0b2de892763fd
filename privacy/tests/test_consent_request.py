"""The consent-request email, the whole way: the contact's page, the
confirmation with the editable text, the rep's mailbox on a real SMTP server
(the send task), the delivered copy, and the recipient's answer through the
link it carries."""

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from contacts.models import ConsentRecord, Contact, ContactActivity
from contacts.tests.factories import ContactFactory
from emails.models import Email, NotTrackedReason
from emails.tasks import send_email
from onepage.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://[^\s\"<>]+/o/p/[^\s\"<>]+/")


@pytest.fixture
def lead(org):
    # Allowed already: a consent request is never tracked all the same.
    return ContactFactory(
        organization=org, first_name="Lena", email="lena@northwind.example", country="DE", open_tracking="allowed"
    )


def _ask(client, capture, contact: Contact, **data) -> Email:
    page = client.get(reverse("privacy:consent_request", args=[contact.pk]))
    form = page.context["form"]
    values = {"subject": form.initial["subject"], "body": form.initial["body"], **data}
    with capture(execute=False):
        response = client.post(reverse("privacy:consent_request", args=[contact.pk]), values)
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts:detail", args=[contact.pk])
    email = Email.objects.get(subject=values["subject"])
    send_email.apply(args=[email.pk])
    email.refresh_from_db()
    return email


def test_the_contact_page_offers_to_ask(rep_client, lead):
    page = rep_client.get(reverse("contacts:detail", args=[lead.pk])).content.decode()
    assert reverse("privacy:consent_request", args=[lead.pk]) in page
    assert "Ask for consent" in page


def test_the_default_text_is_in_the_contacts_language(sender, rep_client, lead, org):
    page = rep_client.get(reverse("privacy:consent_request", args=[lead.pk]))
    assert page.status_code == 200
    assert page.context["form"].initial["subject"] == "Dürfen wir sehen, wann Sie unsere E-Mails öffnen?"
    assert "Hallo Lena" in page.context["form"].initial["body"]
    english = ContactFactory(organization=org, first_name="Ann", country="US")
    page = rep_client.get(reverse("privacy:consent_request", args=[english.pk]))
    assert page.context["form"].initial["subject"] == "May we see when you open our emails?"


def test_request_goes_untracked_with_the_link_and_refusing_through_it_writes_one_record(
    sender, rep_client, lead, smtp_server, django_capture_on_commit_callbacks
):
    email = _ask(rep_client, django_capture_on_commit_callbacks, lead, subject="Your choice, Lena")

    assert email.status == Email.Status.SENT
    assert (email.track_opens, email.not_tracked_reason) == (False, NotTrackedReason.CONSENT_REQUEST)
    recipient = email.recipients.get()
    assert (recipient.contact, recipient.track_opens, recipient.not_tracked_reason) == (
        lead,
        False,
        NotTrackedReason.CONSENT_REQUEST,
    )
    (copy,) = smtp_server.received
    assert copy.rcpt_tos == ["lena@northwind.example"]
    assert copy.message["From"] == "Rex Rep <rex@acme.example>"
    html, text = copy.part("text/html"), copy.part("text/plain")
    assert "<img" not in html and ".gif" not in html
    (url,) = set(LINK.findall(text))
    assert url in html
    # Asked, not answered: noted on the timeline, no consent record.
    assert not ConsentRecord.objects.filter(contact=lead).exists()
    asked = ContactActivity.objects.get(contact=lead, kind=ContactActivity.Kind.CONSENT_ASKED)
    assert asked.actor.username == "rex"
    timeline = rep_client.get(reverse("contacts:detail", args=[lead.pk])).content.decode()
    assert "Your choice, Lena" in timeline
    assert "Asked for consent to open tracking" in timeline

    # The recipient follows the link: looking changes nothing, refusing once does.
    recipient_browser = Client()
    path = urlsplit(url).path
    assert "Dürfen wir" in recipient_browser.get(path).content.decode()
    assert not ConsentRecord.objects.exists()
    assert recipient_browser.post(path, {"choice": "refused"}).status_code == 200
    assert recipient_browser.post(path, {"choice": "refused"}).status_code == 200
    record = ConsentRecord.objects.get()
    assert (record.contact, record.new_value, record.by_recipient, record.method) == (
        lead,
        "refused",
        True,
        ConsentRecord.Method.LINK,
    )
    lead.refresh_from_db()
    assert lead.open_tracking == "refused"


def test_the_text_must_keep_the_link(sender, rep_client, lead):
    response = rep_client.post(
        reverse("privacy:consent_request", args=[lead.pk]), {"subject": "Hi", "body": "Do you agree? Reply to me."}
    )
    assert response.status_code == 400
    assert "Keep [link] in the text" in response.content.decode()
    assert not Email.objects.exists()


def test_without_a_mailbox_it_says_so_and_sends_nothing(rep_client, lead):
    page = rep_client.get(reverse("privacy:consent_request", args=[lead.pk])).content.decode()
    assert "You have no connected mailbox" in page
    assert "Send request" not in page
    response = rep_client.post(reverse("privacy:consent_request", args=[lead.pk]), {"subject": "Hi", "body": "[link]"})
    assert response.status_code == 400
    assert not Email.objects.exists()
    assert not ContactActivity.objects.filter(kind=ContactActivity.Kind.CONSENT_ASKED).exists()


def test_without_an_address_it_says_so_and_sends_nothing(sender, rep_client, org):
    nobody = ContactFactory(organization=org, first_name="Noa", email="")
    page = rep_client.get(reverse("privacy:consent_request", args=[nobody.pk])).content.decode()
    assert "Noa" in page and "has no email address" in page
    response = rep_client.post(
        reverse("privacy:consent_request", args=[nobody.pk]), {"subject": "Hi", "body": "[link]"}
    )
    assert response.status_code == 400
    assert not Email.objects.exists()


def test_another_organizations_contact_is_404(client, other_org, lead):
    client.force_login(MembershipFactory(organization=other_org).user)
    assert client.get(reverse("privacy:consent_request", args=[lead.pk])).status_code == 404
    response = client.post(reverse("privacy:consent_request", args=[lead.pk]), {"subject": "Hi", "body": "[link]"})
    assert response.status_code == 404
    assert not Email.objects.exists()
