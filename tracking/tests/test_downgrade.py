"""Downgrading to Professional and upgrading back, the whole way: composer,
send task, a real SMTP server, the recipient's pixel, the Email page and the
contact's timeline."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from conftest import read_copy, send_from_composer
from contacts.tests.factories import ContactFactory
from emails.models import Email, NotTrackedReason
from emails.tasks import send_email
from onepage.models import Organization
from tracking.models import OpenEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(org):
    return ContactFactory(organization=org, first_name="Lena", email="lena@northwind.example", country="US")


@pytest.fixture
def rep(sender, rep_client):
    return rep_client


def _send(client, capture, smtp_server, *, to: str, subject: str) -> tuple[Email, str]:
    """Compose with Track on, run the send task; the email and the HTML its recipient got."""
    email = send_from_composer(client, capture, to=to, subject=subject)
    assert email.status == Email.Status.SENT
    return email, smtp_server.received[-1].part("text/html")


def _switch_plan(admin_client, plan: str) -> None:
    response = admin_client.post(reverse("plan_change"), {"plan": plan, "confirm": "yes"})
    assert response.status_code == 302


def test_downgrade_keeps_old_opens_records_no_new_ones_and_upgrade_tracks_again(
    org, admin_user, rep, lead, smtp_server, settle_opens, django_capture_on_commit_callbacks
):
    admin_client = Client()
    admin_client.force_login(admin_user)

    # On Business: sent tracked, opened twice.
    before, html = _send(rep, django_capture_on_commit_callbacks, smtp_server, to=lead.email, subject="Before")
    assert before.track_opens
    read_copy(html)
    read_copy(html, after=timedelta(hours=1))
    settle_opens()
    before.refresh_from_db()
    assert before.open_count == 2

    _switch_plan(admin_client, "professional")

    # Everything recorded before stays visible, with the banner saying why new
    # emails are not tracked.
    folder = rep.get(reverse("emails:open_tracking"))
    assert [e.pk for e in folder.context["page"].object_list] == [before.pk]
    assert 'title="Opened 2 times"' in folder.content.decode()
    assert b'id="plan-banner"' in folder.content
    timeline = rep.get(reverse("contacts:detail", args=[lead.pk]), {"tab": "email"})
    assert 'title="Opened 2 times"' in timeline.content.decode()
    assert b"so new emails are not tracked" in timeline.content

    # Its pixel, fetched after the downgrade, records nothing.
    read_copy(html)
    settle_opens()
    before.refresh_from_db()
    assert (before.open_count, OpenEvent.objects.count()) == (2, 2)

    # The composer offers no toggle; a new email, even with Track posted on, has no pixel.
    assert b"Upgrade to Business to track opens" in rep.get(reverse("emails:compose")).content
    during, html = _send(rep, django_capture_on_commit_callbacks, smtp_server, to=lead.email, subject="During")
    assert (during.track_opens, during.not_tracked_reason) == (False, NotTrackedReason.PLAN)
    assert "/o/" not in html

    _switch_plan(admin_client, "business")

    after, html = _send(rep, django_capture_on_commit_callbacks, smtp_server, to=lead.email, subject="After")
    assert after.track_opens
    read_copy(html)
    settle_opens()
    after.refresh_from_db()
    assert after.open_count == 1
    assert b'id="plan-banner"' not in rep.get(reverse("emails:open_tracking")).content


def test_email_queued_before_the_downgrade_and_sent_after_it_has_no_pixel(
    org, rep, lead, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        rep.post(reverse("emails:compose"), {"to": lead.email, "subject": "Queued", "body": "Hi", "track": "on"})
    email = Email.objects.get(subject="Queued")
    assert email.track_opens

    Organization.objects.filter(pk=org.pk).update(plan=Organization.Plan.PROFESSIONAL)
    send_email.apply(args=[email.pk])

    assert "/o/" not in smtp_server.received[-1].part("text/html")
    email.refresh_from_db()
    assert (email.track_opens, email.not_tracked_reason) == (False, NotTrackedReason.PLAN)
