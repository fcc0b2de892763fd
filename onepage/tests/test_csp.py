"""The Content-Security-Policy: on every page, and nothing in our templates
that it would block (inline scripts, event handlers, style attributes)."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from contacts.tests.factories import ContactFactory
from emails.tests.factories import EmailFactory, EmailRecipientFactory

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part for part in (p.strip() for p in header.split(";")) if part}


def test_every_page_carries_the_policy(admin_client, admin_user, org):
    contact = ContactFactory(organization=org)
    email = EmailFactory(organization=org, sender=admin_user)
    EmailRecipientFactory(email=email, contact=contact)
    urls = [
        reverse("contacts:list"),
        reverse("contacts:create"),
        reverse("contacts:detail", args=[contact.pk]),
        reverse("contacts:edit", args=[contact.pk]),
        reverse("emails:index"),
        reverse("emails:open_tracking"),
        reverse("emails:failed"),
        reverse("emails:detail", args=[email.pk]),
        reverse("settings"),
        reverse("profile"),
        reverse("plan"),
        reverse("mailbox"),
        reverse("email_configuration"),
        reverse("password_change"),
        "/no/such/page/",
    ]
    for url in urls:
        response = admin_client.get(url)
        assert response.status_code in (200, 404), url
        directives = policy(response)
        assert directives["script-src"] == "script-src 'self'", url
        assert directives["style-src"] == "style-src 'self'", url
        assert directives["frame-ancestors"] == "frame-ancestors 'self'", url
        assert "unsafe" not in response["Content-Security-Policy"], url


def test_the_sign_in_page_carries_it_too(client):
    assert "script-src 'self'" in client.get(reverse("login"))["Content-Security-Policy"]


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an inline event handler"),
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"<style\b", re.I), "a <style> element"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
    (re.compile(r"\shx-on", re.I), "an htmx inline handler"),
]


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_needs_what_the_policy_blocks(template):
    text = template.read_text()
    for pattern, what in INLINE:
        assert not pattern.search(text), f"{template.name} has {what}"
