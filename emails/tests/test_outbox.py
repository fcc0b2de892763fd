"""/dev/outbox/: what development mailboxes delivered, as recipients see it."""

import json
import re

import pytest
from django.urls import reverse

from conftest import read_in_mail_client
from emails.models import Email, EmailConfiguration
from emails.outbox import outbox_messages
from emails.services import email_create
from emails.tests.factories import EmailConfigurationFactory, MailboxFactory
from onepage.tests.factories import MembershipFactory
from tracking import recorder

pytestmark = pytest.mark.django_db

OUTBOX = reverse("dev_outbox")


@pytest.fixture(autouse=True)
def _debug(settings):
    settings.DEBUG = True
    settings.CELERY_TASK_ALWAYS_EAGER = True


def send(user, django_capture_on_commit_callbacks, **kwargs) -> Email:
    fields = {"subject": "Proposal", "body_text": "Hello <there>", "to": ["ann@ex.org", "bob@ex.org"]}
    fields.update(kwargs)
    with django_capture_on_commit_callbacks(execute=True):
        email = email_create(organization=user.membership.organization, sender=user, **fields)
    email.refresh_from_db()
    assert email.status == Email.Status.SENT
    return email


@pytest.fixture
def dev_sender(rep_user, org):
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    MailboxFactory(user=rep_user, from_address="rex@acme.example")
    return rep_user


def test_each_delivered_copy_is_a_file_with_its_envelope(dev_sender, org, settings, django_capture_on_commit_callbacks):
    email = send(dev_sender, django_capture_on_commit_callbacks)
    folder = settings.DEV_OUTBOX_DIR / f"org-{org.pk}"
    metas = sorted((json.loads(p.read_text()) for p in folder.glob("*.json")), key=lambda m: m["envelope_recipients"])
    assert [m["envelope_recipients"] for m in metas] == [["ann@ex.org"], ["bob@ex.org"]]
    assert {m["organization_id"] for m in metas} == {org.pk}
    assert {m["email_id"] for m in metas} == {email.pk}
    assert all(m["delivered_at"] for m in metas)
    assert len(list(folder.glob("*.eml"))) == 2


def test_the_outbox_lists_only_the_viewers_organization(
    dev_sender, rep_client, other_org, django_capture_on_commit_callbacks
):
    send(dev_sender, django_capture_on_commit_callbacks, subject="Ours")
    stranger = MembershipFactory(organization=other_org).user
    EmailConfigurationFactory(organization=other_org, allow_open_tracking=True)
    MailboxFactory(user=stranger)
    send(stranger, django_capture_on_commit_callbacks, subject="Theirs", to=["zed@ex.org"])

    content = rep_client.get(OUTBOX).content.decode()
    assert content.count(">Ours</a>") == 2
    assert "Theirs" not in content and "zed@ex.org" not in content

    theirs = outbox_messages(other_org.pk)[0]
    assert rep_client.get(reverse("dev_outbox_message", args=[theirs.key])).status_code == 404
    assert rep_client.get(reverse("dev_outbox_raw", args=[theirs.key])).status_code == 404


def test_a_message_is_shown_in_a_sandboxed_frame_with_its_own_html(
    dev_sender, rep_client, org, django_capture_on_commit_callbacks
):
    email = send(dev_sender, django_capture_on_commit_callbacks)
    message = next(m for m in outbox_messages(org.pk) if m.envelope_recipients == ["ann@ex.org"])

    page = rep_client.get(reverse("dev_outbox_message", args=[message.key])).content.decode()
    raw_url = reverse("dev_outbox_raw", args=[message.key])
    assert f'<iframe class="outbox-frame" title="The message as its recipient sees it" sandbox src="{raw_url}">' in page
    assert f'href="{reverse("emails:detail", args=[email.pk])}"' in page
    assert "Hello &lt;there&gt;" in page  # the text part, escaped

    raw = rep_client.get(raw_url)
    assert raw["Content-Type"] == "text/html; charset=utf-8"
    assert raw["X-Frame-Options"] == "SAMEORIGIN"
    assert "default-src 'none'" in raw["Content-Security-Policy"] and "sandbox" in raw["Content-Security-Policy"]
    html = raw.content.decode()
    assert html.count('width="1" height="1"') == 1
    assert "<p>Hello &lt;there&gt;</p>" in html


def test_loading_the_messages_pixel_records_an_open_for_its_recipient(
    dev_sender, rep_client, org, django_capture_on_commit_callbacks
):
    # Bob is no contact: identified only when the organization says so (the
    # default under the EU rule is aggregate, see tracking/tests/test_tracking_modes.py).
    config = EmailConfiguration.objects.of(org)
    config.unknown_recipients = "identified"
    config.save(update_fields=["unknown_recipients"])
    email = send(dev_sender, django_capture_on_commit_callbacks)
    message = next(m for m in outbox_messages(org.pk) if m.envelope_recipients == ["bob@ex.org"])
    html = rep_client.get(reverse("dev_outbox_raw", args=[message.key])).content.decode()
    pixel = re.search(r'<img src="([^"]+)"', html).group(1)

    # What a browser does when it renders the frame some minutes later.
    assert read_in_mail_client(pixel).status_code == 200
    recorder.drain_opens()

    bob = email.recipients.get(address="bob@ex.org")
    ann = email.recipients.get(address="ann@ex.org")
    assert (bob.open_count, ann.open_count) == (1, 0)


def test_the_outbox_exists_only_in_debug(dev_sender, rep_client, org, settings, django_capture_on_commit_callbacks):
    send(dev_sender, django_capture_on_commit_callbacks)
    key = outbox_messages(org.pk)[0].key
    settings.DEBUG = False
    assert rep_client.get(OUTBOX).status_code == 404
    assert rep_client.get(reverse("dev_outbox_message", args=[key])).status_code == 404
    assert rep_client.get(reverse("dev_outbox_raw", args=[key])).status_code == 404


def test_an_unknown_or_malformed_key_is_a_404(rep_client):
    assert rep_client.get(reverse("dev_outbox_message", args=["20260101T000000000000-" + "0" * 32])).status_code == 404
    assert rep_client.get(reverse("dev_outbox_raw", args=["..secret"])).status_code == 404


def test_the_outbox_needs_signing_in(client):
    response = client.get(OUTBOX)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_an_empty_outbox_says_so(rep_client):
    assert "Nothing delivered yet" in rep_client.get(OUTBOX).content.decode()
