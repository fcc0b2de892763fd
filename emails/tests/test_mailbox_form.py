"""Test connection on Email sync: through htmx only its results come back
(the form in the browser keeps what was typed, passwords included); without
JavaScript the whole page comes back and says which passwords to type again."""

import pytest
from django.urls import reverse

from emails.tests.test_imap_settings import imap_form
from emails.views.mailbox import CONNECTION_TESTS_PER_MINUTE

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_through_htmx_only_the_results_come_back(rep_client, smtp_server, imap_server):
    response = rep_client.post(reverse("mailbox_test"), imap_form(smtp_server, imap_server), **HTMX)

    page = response.content.decode()
    assert response.status_code == 200
    assert "SMTP: Connection works." in page and "IMAP: Connection works." in page
    assert "<form" not in page and "rex-imap-pass" not in page


def test_through_htmx_a_form_to_fix_says_what_to_fix(rep_client, smtp_server, imap_server):
    form = imap_form(smtp_server, imap_server, smtp_port="", imap_same_login="", imap_username="")
    response = rep_client.post(reverse("mailbox_test"), form, **HTMX)

    page = response.content.decode()
    assert "Not tested." in page
    assert "SMTP port: Enter the SMTP port." in page and "IMAP user name: Enter the IMAP user name." in page


def test_through_htmx_too_many_tests_is_said_where_htmx_shows_it(rep_client, smtp_server, imap_server):
    for _ in range(CONNECTION_TESTS_PER_MINUTE):
        rep_client.post(reverse("mailbox_test"), imap_form(smtp_server, imap_server), **HTMX)
    response = rep_client.post(reverse("mailbox_test"), imap_form(smtp_server, imap_server), **HTMX)

    assert response.status_code == 200  # htmx swaps in 2xx answers only
    assert "Too many connection tests in a row" in response.content.decode()


def test_without_javascript_the_page_says_which_passwords_to_type_again(rep_client, smtp_server, imap_server):
    form = imap_form(smtp_server, imap_server, imap_same_login="", imap_username="rex", imap_password="rex-imap-pass")
    response = rep_client.post(reverse("mailbox_test"), form)

    form = response.context["form"]
    assert form["password"].help_text == "Not sent back to your browser: type it again to save it."
    assert form["imap_password"].help_text == "Not sent back to your browser: type it again to save it."
    assert "rex-imap-pass" not in response.content.decode()
