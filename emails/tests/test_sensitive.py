"""Mailbox passwords stay out of error reports: the mailbox views mark the
POSTed password, and every function holding it in clear marks its variables,
so neither Django's DEBUG page nor a logged report (what an error tracker or
the admins' email gets) shows it."""

import logging

import pytest
from django.test import Client
from django.urls import reverse
from django.views.debug import ExceptionReporter

from emails.transport.smtp import SMTPSettings

pytestmark = pytest.mark.django_db

PASSWORD = "hunter2-Very-Secret-9"


def smtp_form(**overrides) -> dict:
    return {
        "kind": "smtp",
        "smtp_host": "smtp.example.com",
        "smtp_port": 587,
        "security": "starttls",
        "username": "rex",
        "password": PASSWORD,
        "from_name": "Rex Rep",
        "from_address": "rex@acme.example",
        **overrides,
    }


@pytest.fixture
def broken_key(settings):
    """A real operator error: a MAILBOX_ENCRYPTION_KEY that is no Fernet key.
    Saving a mailbox then fails deep in emails.crypto, with the typed
    password in the POST, in the view's form data and in every frame down
    to the encryption."""
    settings.DEBUG = True
    settings.MAILBOX_ENCRYPTION_KEY = "not-a-fernet-key"


def report_of(record: logging.LogRecord) -> tuple[str, str]:
    reporter = ExceptionReporter(record.request, *record.exc_info)
    return reporter.get_traceback_text(), reporter.get_traceback_html()


def test_a_failing_mailbox_save_shows_no_password_on_the_debug_page_or_in_the_log(rep_user, broken_key, caplog):
    client = Client(raise_request_exception=False)
    client.force_login(rep_user)

    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.post(reverse("mailbox"), smtp_form())

    assert response.status_code == 500
    page = response.content.decode()
    assert "ImproperlyConfigured" in page and "MAILBOX_ENCRYPTION_KEY must be a Fernet key" in page
    # The page does list the frames' variables: ours are hidden, not absent.
    assert "plaintext" in page and "********************" in page
    assert PASSWORD not in page

    [record] = [r for r in caplog.records if r.name == "django.request"]
    text, html = report_of(record)
    assert "mailbox_connect" in text
    for report in (caplog.text, text, html):
        assert PASSWORD not in report


def test_the_settings_never_show_the_password_in_their_repr():
    settings = SMTPSettings("smtp.example.com", 587, "starttls", "rex", PASSWORD)
    assert PASSWORD not in repr(settings)
    assert settings.password == PASSWORD
