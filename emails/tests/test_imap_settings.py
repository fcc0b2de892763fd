"""IMAP settings on Email sync: saved encrypted, tested against a real
Dovecot, errors in words, the guard applied."""

import pytest
from django.urls import reverse

from emails import crypto
from emails.models import Mailbox
from emails.tests.test_mailbox import smtp_form

pytestmark = pytest.mark.django_db


def imap_form(smtp_server, imap_server, **overrides) -> dict:
    data = smtp_form(
        smtp_server,
        username="rex",
        password="rex-imap-pass",
        imap_host=imap_server.host,
        imap_port=imap_server.port,
        imap_security="none",
        imap_same_login="on",
        save_sent_copies="on",
    )
    data.update(overrides)
    return data


def test_imap_settings_are_saved_with_the_smtp_login_and_the_password_encrypted(rep_client, smtp_server, imap_server):
    response = rep_client.post(reverse("mailbox"), imap_form(smtp_server, imap_server))

    assert response.status_code == 302
    mailbox = Mailbox.objects.get()
    assert (mailbox.imap_host, mailbox.imap_port, mailbox.imap_username) == ("127.0.0.1", imap_server.port, "rex")
    assert "rex-imap-pass" not in mailbox.imap_password_encrypted
    assert crypto.decrypt(mailbox.imap_password_encrypted) == "rex-imap-pass"
    assert mailbox.save_sent_copies and mailbox.syncs


def test_test_connection_logs_in_to_imap_and_names_the_folders(rep_client, smtp_server, imap_server):
    response = rep_client.post(reverse("mailbox_test"), imap_form(smtp_server, imap_server))

    check = response.context["imap_check"]
    assert check.ok, check.message
    assert check.message == f"Connected to 127.0.0.1:{imap_server.port} and logged in. Inbox: INBOX; Sent: Sent."
    assert not Mailbox.objects.exists()


def test_test_connection_says_when_imap_refuses_the_login(rep_client, smtp_server, imap_server):
    form = imap_form(smtp_server, imap_server, imap_same_login="", imap_username="rex", imap_password="wrong")
    response = rep_client.post(reverse("mailbox_test"), form)

    check = response.context["imap_check"]
    assert not check.ok
    assert check.message.startswith("The IMAP server refused the user name or password:")
    assert "wrong" not in response.content.decode()


def test_test_connection_refuses_a_private_imap_host(rep_client, smtp_server, imap_server, settings):
    settings.MAILBOX_ALLOWED_HOSTS = []
    response = rep_client.post(reverse("mailbox_test"), imap_form(smtp_server, imap_server, imap_host="10.0.0.1"))

    assert "private, local or reserved network" in response.context["imap_check"].message


def test_an_imap_host_needs_its_own_login_unless_the_same_as_smtp(rep_client, smtp_server, imap_server):
    response = rep_client.post(reverse("mailbox"), imap_form(smtp_server, imap_server, imap_same_login=""))

    assert response.status_code == 200
    assert response.context["form"].errors["imap_username"] == ["Enter the IMAP user name."]
