"""The composer and the page of one sent email."""

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from contacts.tests.factories import ContactFactory
from emails.models import Email, NotTrackedReason
from emails.tests.factories import (
    EmailFactory,
    EmailRecipientFactory,
)
from onepage.models import Organization
from tracking.hits import Open
from tracking.writer import write_opens

pytestmark = pytest.mark.django_db

COMPOSE = reverse("emails:compose")
TRACK_INPUT = re.compile(r'<input type="checkbox" role="switch" name="track"[^>]*>')


def recipient_report(page: str, address: str) -> str:
    """One recipient's part of the open report on the email's page."""
    return re.search(
        rf'<section class="report-recipient" data-address="{re.escape(address)}">.*?</section>', page, re.S
    ).group(0)


def valid(**overrides) -> dict:
    data = {"to": "ann@ex.org", "cc": "", "bcc": "", "subject": "Our offer", "body": "Hello Ann", "track": "on"}
    data.update(overrides)
    return data


def track_input(response) -> str:
    match = TRACK_INPUT.search(response.content.decode())
    return match.group(0) if match else ""


def test_a_rep_without_mailbox_is_sent_to_email_sync_with_an_explanation(rep_client, org):
    contact = ContactFactory(organization=org)
    response = rep_client.get(f"{COMPOSE}?contact={contact.pk}", follow=True)
    assert response.redirect_chain[0][0] == f"{reverse('mailbox')}?next=%2Femail%2Fcompose%2F%3Fcontact%3D{contact.pk}"
    assert "Connect the mailbox you send from first" in response.content.decode()
    assert rep_client.post(COMPOSE, valid()).status_code == 302
    assert not Email.objects.exists()


def test_the_contact_page_links_to_the_composer(rep_client, org):
    contact = ContactFactory(organization=org)
    page = rep_client.get(reverse("contacts:detail", args=[contact.pk])).content.decode()
    assert f'href="{COMPOSE}?contact={contact.pk}">Send email</a>' in page


def test_to_is_prefilled_with_the_contact(rep_client, sender, org):
    contact = ContactFactory(organization=org, first_name="Ann", last_name="Lee", email="ann@ex.org")
    response = rep_client.get(f"{COMPOSE}?contact={contact.pk}")
    assert response.status_code == 200
    assert response.context["form"]["to"].value() == "ann@ex.org"
    assert "New email to Ann Lee" in response.content.decode()


@pytest.mark.parametrize("raw", ["other-org", "9999999", "abc"])
def test_a_contact_of_another_organization_is_a_404(rep_client, sender, other_org, raw):
    if raw == "other-org":
        raw = str(ContactFactory(organization=other_org).pk)
    assert rep_client.get(f"{COMPOSE}?contact={raw}").status_code == 404


@pytest.mark.parametrize(
    "overrides, field, error",
    [
        ({"to": "ann@ex.org, not-an-address"}, "to", "Not a valid email address: not-an-address"),
        ({"cc": "bob@, eve@ex"}, "cc", "Not valid email addresses: bob@, eve@ex"),
        ({"to": "", "cc": "", "bcc": ""}, "to", "Add at least one recipient."),
        ({"subject": ""}, "subject", "This field is required."),
        ({"body": "   \n  "}, "body", "Write a message."),
        ({"subject": "Hi\r\nBcc: spy@evil.example"}, "subject", "Line breaks are not allowed here."),
        ({"to": "ann@ex.org\nbcc: spy@evil.example"}, "to", "Line breaks are not allowed here."),
        ({"bcc": "ANN@ex.org"}, "bcc", "Listed more than once: ANN@ex.org"),
    ],
)
def test_bad_input_is_a_field_error_and_nothing_is_lost(rep_client, sender, overrides, field, error):
    data = valid(**{"body": "Dear Ann,\n\nhere is <our> offer", **overrides})
    response = rep_client.post(COMPOSE, data)
    assert response.status_code == 200
    assert error in response.context["form"].errors[field]
    assert not Email.objects.exists()
    form = response.context["form"]
    assert form["body"].value() == data["body"]
    assert form["subject"].value() == data["subject"]


def test_track_is_on_by_default_when_tracking_is_possible(rep_client, sender):
    response = rep_client.get(COMPOSE)
    assert " checked" in track_input(response) and "disabled" not in track_input(response)


def test_track_is_disabled_with_the_reason_when_allow_open_tracking_is_off(rep_client, sender, org):
    org.email_configuration.allow_open_tracking = False
    org.email_configuration.save()
    response = rep_client.get(COMPOSE)
    assert "disabled" in track_input(response) and " checked" not in track_input(response)
    assert NotTrackedReason.DISABLED.label in response.content.decode()


def test_professional_plan_has_no_toggle_but_an_upgrade_hint(rep_client, sender, org):
    Organization.objects.filter(pk=org.pk).update(plan=Organization.Plan.PROFESSIONAL)
    response = rep_client.get(COMPOSE)
    assert track_input(response) == ""
    assert "Upgrade to Business to track opens" in response.content.decode()


def test_the_composer_says_when_the_contact_refused_tracking(rep_client, sender, org):
    contact = ContactFactory(organization=org, first_name="Ann", last_name="Lee", open_tracking="refused")
    content = rep_client.get(f"{COMPOSE}?contact={contact.pk}").content.decode()
    assert "Refused open tracking: never tracked." in content
    assert 'id="track-line">Not tracked.</p>' in content


@pytest.mark.django_db(transaction=True)
def test_sending_redirects_to_the_email_page_saying_sent(rep_client, sender, smtp_server, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    response = rep_client.post(COMPOSE, valid(cc="bob@ex.org"), follow=True)
    email = Email.objects.get()
    assert response.redirect_chain == [(reverse("emails:detail", args=[email.pk]), 302)]
    assert "Sent." in response.content.decode()
    assert email.status == Email.Status.SENT and email.track_opens
    assert len(smtp_server.received) == 2


def test_without_a_worker_the_email_is_queued_for_sending(
    rep_client, sender, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = rep_client.post(COMPOSE, valid(), follow=True)
    assert "Queued for sending." in response.content.decode()
    assert len(callbacks) == 1
    assert Email.objects.get().status == Email.Status.QUEUED


def test_switching_track_off_sends_untracked(
    rep_client, sender, smtp_server, django_capture_on_commit_callbacks, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    data = valid()
    del data["track"]
    with django_capture_on_commit_callbacks(execute=True):
        rep_client.post(COMPOSE, data)
    email = Email.objects.get()
    assert (email.track_opens, email.not_tracked_reason) == (False, NotTrackedReason.TOGGLE_OFF)
    assert "<img" not in smtp_server.received[0].part("text/html")


@pytest.mark.parametrize("cause", ["allow_off", "professional"])
def test_a_crafted_track_on_where_not_allowed_is_sent_untracked(
    rep_client, sender, org, smtp_server, django_capture_on_commit_callbacks, settings, cause
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    if cause == "allow_off":
        org.email_configuration.allow_open_tracking = False
        org.email_configuration.save()
    else:
        Organization.objects.filter(pk=org.pk).update(plan=Organization.Plan.PROFESSIONAL)
    with django_capture_on_commit_callbacks(execute=True):
        rep_client.post(COMPOSE, valid(track="on", to="ann@ex.org, bob@ex.org"))
    email = Email.objects.get()
    assert email.track_opens is False
    assert email.not_tracked_reason == (NotTrackedReason.DISABLED if cause == "allow_off" else NotTrackedReason.PLAN)
    assert len(smtp_server.received) == 1
    assert "<img" not in smtp_server.received[0].part("text/html")


# --- The email's page ------------------------------------------------------------


@pytest.fixture
def sent_email(org, rep_user):
    email = EmailFactory(
        organization=org,
        sender=rep_user,
        subject="Quarterly <b>numbers</b>",
        body_text="Hi <script>alert(1)</script>,\n\nsee https://acme.example",
        body_html='<p>stale</p><img src="http://x/o/abc.gif">',
    )
    ann = ContactFactory(organization=org, first_name="Ann", last_name="Lee", email="ann@ex.org")
    ann_row = EmailRecipientFactory(email=email, contact=ann)
    # Three opens through the recording pipeline, the last at 09:30 UTC.
    write_opens(
        opens=[Open(recipient_id=ann_row.pk, opened_at=datetime(2026, 3, 1, 9, m, tzinfo=UTC)) for m in (10, 20, 30)]
    )
    EmailRecipientFactory(email=email, contact=None, address="bob@ex.org", kind="cc")
    EmailRecipientFactory(
        email=email, contact=None, address="eve@ex.org", track_opens=False, not_tracked_reason="contact_refused"
    )
    return email


def test_the_email_page_shows_recipients_opens_and_the_body_escaped_without_pixel(rep_client, rep_user, sent_email):
    rep_user.time_zone = "Asia/Tokyo"
    rep_user.save()
    content = rep_client.get(reverse("emails:detail", args=[sent_email.pk])).content.decode()
    assert "Quarterly &lt;b&gt;numbers&lt;/b&gt;" in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content and "<script>alert" not in content
    assert '<a href="https://acme.example">https://acme.example</a>' in content
    assert "/o/" not in content and "stale" not in content
    ann = sent_email.recipients.get(address="ann@ex.org")
    assert f'href="{reverse("contacts:detail", args=[ann.contact.pk])}">Ann Lee</a>' in content
    # 09:30 UTC is 18:30 in Tokyo.
    assert "1 Mar 2026, 18:30" in content
    row = recipient_report(content, "ann@ex.org")
    assert "Opened 3 times" in row and 'data-open-count="3"' in row
    row = recipient_report(content, "bob@ex.org")
    assert "Not opened yet" in row
    row = recipient_report(content, "eve@ex.org")
    assert "Not tracked: the contact refused open tracking" in row


def test_another_organizations_email_is_a_404(rep_client, other_org):
    theirs = EmailFactory(organization=other_org)
    assert rep_client.get(reverse("emails:detail", args=[theirs.pk])).status_code == 404


def test_the_email_page_costs_the_same_queries_for_many_recipients(
    rep_client, sent_email, django_assert_max_num_queries
):
    url = reverse("emails:detail", args=[sent_email.pk])
    rep_client.get(url)
    # Session, user, membership+organization, the email, its recipients (for
    # the details and the open report alike), the recent opens, (the
    # sender's page: the Mute alerts button) whether the sender muted it,
    # and the opens over time's marks (tracking.timeline_chart).
    with django_assert_max_num_queries(8) as few:
        rep_client.get(url)
    for _ in range(12):
        EmailRecipientFactory(email=sent_email, contact=ContactFactory(organization=sent_email.organization))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = rep_client.get(url)
    assert response.content.decode().count('class="report-recipient"') == 15


def test_a_failed_email_shows_its_error_and_a_retry_button(rep_client, org, rep_user):
    email = EmailFactory(organization=org, sender=rep_user, status=Email.Status.FAILED, error="The server said no")
    content = rep_client.get(reverse("emails:detail", args=[email.pk])).content.decode()
    assert "The server said no" in content
    assert f'action="{reverse("emails:retry", args=[email.pk])}"' in content
    sent = EmailFactory(organization=org, sender=rep_user)
    assert (
        reverse("emails:retry", args=[sent.pk])
        not in rep_client.get(reverse("emails:detail", args=[sent.pk])).content.decode()
    )
