"""Addresses as mail clients copy them, with a display name
(`Aoife <aoife.murphy0@example.com>`, `"Murphy, Aoife" <a@x.com>`), are
taken wherever an address is typed: the email goes to the address."""

import pytest
from django.urls import reverse

from contacts.models import Contact
from emails.models import Email, Mailbox
from emails.tests.test_compose import COMPOSE, valid

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)
def test_the_composer_sends_to_addresses_pasted_with_display_names(rep_client, sender, smtp_server, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    data = valid(
        to="Aoife <aoife.murphy0@example.com>",
        cc='"Murphy, Aoife" <aoife.m@example.com>; Bob Stone <bob@ex.org>',
        bcc="=?utf-8?q?Chlo=C3=A9?= <chloe@ex.org>, plain@ex.org",
    )
    response = rep_client.post(COMPOSE, data, follow=True)

    email = Email.objects.get()
    assert response.redirect_chain == [(reverse("emails:detail", args=[email.pk]), 302)]
    assert email.status == Email.Status.SENT
    assert sorted(email.recipients.values_list("address", flat=True)) == [
        "aoife.m@example.com",
        "aoife.murphy0@example.com",
        "bob@ex.org",
        "chloe@ex.org",
        "plain@ex.org",
    ]
    delivered = sorted(address for message in smtp_server.received for address in message.rcpt_tos)
    assert delivered == [
        "aoife.m@example.com",
        "aoife.murphy0@example.com",
        "bob@ex.org",
        "chloe@ex.org",
        "plain@ex.org",
    ]


@pytest.mark.parametrize(
    "overrides, field, error",
    [
        # The same address with and without a name is one recipient listed twice.
        ({"to": "Ann <a@x.com>, a@x.com"}, "to", "Listed more than once: a@x.com"),
        ({"to": "Ann <a@x.com>", "cc": '"Lee, Ann" <A@x.com>'}, "cc", "Listed more than once: A@x.com"),
        ({"to": "Ann <not-an-address>"}, "to", "Not a valid email address: Ann <not-an-address>"),
        ({"to": "Ann <a@x.com"}, "to", "Not a valid email address: Ann <a@x.com"),
        ({"to": "Ann <a@x.com> <b@x.com>"}, "to", "Not a valid email address: Ann <a@x.com> <b@x.com>"),
        ({"to": '"Murphy, Aoife <a@x.com>'}, "to", 'Not a valid email address: "Murphy'),
        (
            {"to": "Chloé <chloé@x.com>"},
            "to",
            "Not a valid email address: Chloé <chloé@x.com> (accents and other letters beyond plain ASCII are "
            "not supported before the @ of an email address: most mail servers would refuse it)",
        ),
    ],
)
def test_display_name_addresses_keep_the_composers_errors(rep_client, sender, overrides, field, error):
    response = rep_client.post(COMPOSE, valid(**overrides))
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [error]
    assert not Email.objects.exists()


def test_a_name_beyond_ascii_is_no_accent_in_the_address(rep_client, sender):
    response = rep_client.post(COMPOSE, valid(to="Chloé <chloe@x>"))
    assert response.context["form"].errors["to"] == ["Not a valid email address: Chloé <chloe@x>"]


def test_the_contact_form_takes_a_pasted_address_and_keeps_the_address(rep_client, org):
    response = rep_client.post(
        reverse("contacts:create"),
        {
            "first_name": "Aoife",
            "last_name": "Murphy",
            "email": '"Murphy, Aoife" <aoife.murphy0@example.com>',
            "open_tracking": "not_asked",
        },
    )
    assert response.status_code == 302
    assert Contact.objects.get(organization=org).email == "aoife.murphy0@example.com"


def test_the_contact_form_refuses_a_broken_pasted_address(rep_client, org):
    response = rep_client.post(reverse("contacts:create"), {"first_name": "Aoife", "email": "Aoife <aoife@>"})
    assert response.context["form"].errors["email"] == ["Enter a valid email address."]
    assert not Contact.objects.exists()


def test_the_mailbox_from_address_takes_a_pasted_address(rep_client, rep_user):
    from emails.tests.test_mailbox import smtp_form

    response = rep_client.post(reverse("mailbox"), smtp_form(from_address="Rex Rep <rex@acme.example>"))
    assert response.status_code == 302
    assert Mailbox.objects.get(user=rep_user).from_address == "rex@acme.example"


def test_the_profile_email_takes_a_pasted_address(rep_client, rep_user):
    response = rep_client.post(
        reverse("profile"), {"first_name": "Rex", "last_name": "Rep", "email": "Rex Rep <rex@acme.example>"}
    )
    assert response.status_code == 302
    rep_user.refresh_from_db()
    assert rep_user.email == "rex@acme.example"
