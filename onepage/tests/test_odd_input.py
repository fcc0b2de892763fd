"""Odd input in every form and search box: NUL (which PostgreSQL refuses),
the characters Python's email package takes for line breaks (VT, FF, FS and
their kin) and a host name the lookup cannot take. Each is a field error
with words, never a 500, and never stored."""

import pytest
from django.test import Client
from django.urls import reverse

from contacts.models import Contact
from contacts.tests.factories import ContactFactory
from emails.models import Email, Mailbox
from onepage.models import User
from onepage.tests.factories import TEST_PASSWORD
from onepage.validators import CONTROL_CHARACTERS, lines, one_line

pytestmark = pytest.mark.django_db

PROBES = {
    "NUL": "\x00",
    "VT": "\x0b",
    "FF": "\x0c",
    "FS": "\x1c",
    "ESC": "\x1b",
    "DEL": "\x7f",
    "NEL": "\x85",
    "LINE SEPARATOR": "\u2028",
}
SEARCHES = ["contacts:list", "emails:index", "emails:open_tracking", "emails:failed", "emails:queued"]

CONTACT = {
    "first_name": "Ann",
    "last_name": "Lee",
    "email": "ann@ex.org",
    "company": "Example Ltd",
    "phone": "+1 555 0100",
}
CONTACT.update({"country": "", "open_tracking": "not_asked"})
COMPOSE = {"to": "ann@ex.org", "cc": "", "bcc": "", "subject": "Our offer", "body": "Hello\nAnn", "track": "on"}
MAILBOX = {
    "kind": "smtp",
    "smtp_host": "smtp.example.com",
    "smtp_port": 587,
    "security": "starttls",
    "username": "rex",
    "password": "pass-word",
    "from_name": "Rex Rep",
    "from_address": "rex@acme.example",
}
PROFILE = {"first_name": "Rex", "last_name": "Rep", "email": "rex@acme.example", "time_zone": ""}


def odd(value: str, probe: str) -> str:
    """The probe in the middle of a value, where no stripping removes it."""
    if "@" in value:
        local, domain = value.split("@", 1)
        return f"{local}{probe}x@{domain}"
    return f"{value[:2]}{probe}{value[2:]}"


def forms(contact: Contact) -> list[tuple[str, dict, list[str]]]:
    """Every form of the app: (url, valid data, its text fields)."""
    return [
        (reverse("contacts:create"), CONTACT, ["first_name", "last_name", "email", "company", "phone"]),
        (reverse("contacts:edit", args=[contact.pk]), CONTACT, ["first_name", "last_name", "company"]),
        (reverse("emails:compose"), COMPOSE, ["to", "cc", "bcc", "subject", "body"]),
        (reverse("mailbox"), MAILBOX, ["smtp_host", "username", "password", "from_name", "from_address"]),
        (reverse("mailbox_test"), MAILBOX, ["smtp_host", "username", "password", "from_name", "from_address"]),
        (reverse("profile"), PROFILE, ["first_name", "last_name", "email"]),
    ]


@pytest.mark.parametrize("probe", list(PROBES))
def test_every_search_box_answers_a_field_error(rep_client, sender, probe):
    for name in SEARCHES:
        response = rep_client.get(reverse(name), {"q": f"ab{PROBES[probe]}c"})

        assert response.status_code == 200, name
        assert response.context["search"].errors["q"] == [CONTROL_CHARACTERS], name
        assert CONTROL_CHARACTERS in response.content.decode(), name


@pytest.mark.parametrize("probe", list(PROBES))
def test_every_form_field_answers_a_field_error(rep_client, sender, org, probe):
    contact = ContactFactory(organization=org)
    contacts, emails = Contact.objects.count(), Email.objects.count()
    for url, valid, fields in forms(contact):
        for field in fields:
            data = {**valid, field: odd(str(valid[field]) or "x", PROBES[probe])}
            if field in ("cc", "bcc"):
                data[field] = f"bo{PROBES[probe]}b@ex.org"

            response = rep_client.post(url, data)

            assert response.status_code == 200, (url, field)
            assert response.context["form"].errors.get(field), (url, field)
    assert (Contact.objects.count(), Email.objects.count()) == (contacts, emails)
    assert Mailbox.objects.get(user=sender).from_name == "Rex Rep"
    assert User.objects.get(pk=sender.pk).first_name != "Re" + PROBES[probe] + "x"


@pytest.mark.parametrize("probe", list(PROBES))
def test_sign_in_answers_a_field_error(client, rep_user, probe):
    response = client.post(reverse("login"), {"username": f"re{PROBES[probe]}x", "password": TEST_PASSWORD})

    assert response.status_code == 200
    assert response.context["form"].errors["username"]


@pytest.mark.parametrize("probe", list(PROBES))
def test_django_forms_we_did_not_write_answer_without_a_500(rep_client, admin_user, probe):
    data = {
        "old_password": f"x{PROBES[probe]}",
        "new_password1": f"new-{PROBES[probe]}-pass-1234",
        "new_password2": f"new-{PROBES[probe]}-pass-1234",
    }
    assert rep_client.post(reverse("password_change"), data).status_code == 200
    admin = Client()
    admin.force_login(admin_user)
    assert admin.post(reverse("plan_change"), {"plan": f"pro{PROBES[probe]}"}).status_code == 400


def test_the_body_keeps_its_line_breaks_and_tabs_but_nothing_else():
    lines("Hello\r\n\tAnn\n")
    one_line("Ann\tLee")
    for probe in PROBES.values():
        with pytest.raises(Exception, match="Control characters"):
            lines(f"Hello{probe}Ann")


def test_a_from_name_with_a_vertical_tab_no_longer_breaks_sending(rep_client, sender):
    response = rep_client.post(reverse("mailbox"), {**MAILBOX, "from_name": "Rex\x0bRep", "password": ""})

    assert response.context["form"].errors["from_name"] == [CONTROL_CHARACTERS]


def test_a_64_character_label_in_the_host_is_a_field_error(rep_client, sender):
    host = "a" * 64 + ".example"
    for url in (reverse("mailbox"), reverse("mailbox_test")):
        response = rep_client.post(url, {**MAILBOX, "smtp_host": host})

        assert response.status_code == 200
        assert response.context["form"].errors["smtp_host"]
