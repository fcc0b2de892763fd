"""Sending that no fault can double or strand: the long wait for the reply to
the end of DATA, copies whose delivery is uncertain (never resent by
themselves, resent by the rep), and the sweep that takes over dead sends and
lost queued emails."""

import asyncio
import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from emails.models import Email, EmailRecipient
from emails.recovery import sweep_stuck_emails
from emails.services import email_create, email_retry
from emails.tasks import send_email, sweep_emails
from emails.transport import server

pytestmark = pytest.mark.django_db


def create(sender, django_capture_on_commit_callbacks, *, to: list[str]) -> Email:
    with django_capture_on_commit_callbacks(execute=False):
        return email_create(
            organization=sender.membership.organization, sender=sender, subject="Offer", body_text="Hi", to=to
        )


def run(email: Email) -> Email:
    send_email.apply(args=[email.pk])
    email.refresh_from_db()
    return email


def confirm_after(smtp_server, seconds: float, *, only_to: str | None = None) -> None:
    """The server keeps the message at once, and answers the end of DATA
    only `seconds` later."""
    original = smtp_server.handle_DATA

    async def handle_DATA(server, session, envelope):
        reply = await original(server, session, envelope)
        if only_to is None or only_to in envelope.rcpt_tos:
            await asyncio.sleep(seconds)
        return reply

    smtp_server.handle_DATA = handle_DATA


def test_a_server_slow_to_confirm_the_message_gets_one_copy(
    sender, smtp_server, django_capture_on_commit_callbacks, settings, monkeypatch
):
    # Slower than the command timeout, within the DATA timeout.
    monkeypatch.setattr(server, "SMTP_TIMEOUT", 1)
    settings.SMTP_DATA_TIMEOUT = 10
    confirm_after(smtp_server, 2)
    email = create(sender, django_capture_on_commit_callbacks, to=["ann@ex.org", "bob@ex.org"])

    assert run(email).status == Email.Status.SENT
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == ["ann@ex.org", "bob@ex.org"]


def test_a_copy_never_confirmed_is_uncertain_and_never_resent_by_itself(
    sender, smtp_server, django_capture_on_commit_callbacks, settings
):
    settings.SMTP_DATA_TIMEOUT = 1
    confirm_after(smtp_server, 3, only_to="ann@ex.org")
    email = create(sender, django_capture_on_commit_callbacks, to=["ann@ex.org", "bob@ex.org"])

    # The task's retry (run at once here) sends the rest.
    assert run(email).status == Email.Status.SENT
    ann, bob = email.recipients.order_by("pk")
    assert ann.delivery_uncertain_at and not ann.delivered_at
    assert bob.delivered_at

    # Retry of a failed email skips it too.
    Email.objects.filter(pk=email.pk).update(status=Email.Status.FAILED)
    assert email_retry(email=email)
    assert run(email).status == Email.Status.SENT
    # Ann's copy reached the server once; the retries sent only Bob's.
    assert [r.rcpt_tos for r in smtp_server.received] == [["ann@ex.org"], ["bob@ex.org"]]
    ann.refresh_from_db()
    assert ann.delivery_uncertain_at and not ann.delivered_at


def test_the_page_says_which_copy_is_uncertain_and_resends_it_on_request(
    sender, rep_client, smtp_server, django_capture_on_commit_callbacks, settings
):
    email = create(sender, django_capture_on_commit_callbacks, to=["ann@ex.org", "bob@ex.org"])
    Email.objects.filter(pk=email.pk).update(status=Email.Status.SENT, sent_at=timezone.now())
    ann, bob = email.recipients.order_by("pk")
    EmailRecipient.objects.filter(pk=ann.pk).update(delivery_uncertain_at=timezone.now(), attempted_at=timezone.now())
    EmailRecipient.objects.filter(pk=bob.pk).update(delivered_at=timezone.now())
    resend = reverse("emails:resend_recipient", args=[email.pk, ann.pk])

    page = rep_client.get(reverse("emails:detail", args=[email.pk])).content.decode()
    assert "Delivery uncertain." in page and "ann@ex.org" in page
    assert f'action="{resend}"' in page
    assert reverse("emails:resend_recipient", args=[email.pk, bob.pk]) not in page

    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=True):
        rep_client.post(resend)
    email.refresh_from_db()
    ann.refresh_from_db()
    assert email.status == Email.Status.SENT
    assert [r.rcpt_tos for r in smtp_server.received] == [["ann@ex.org"]]
    assert ann.delivered_at and not ann.delivery_uncertain_at

    # Not uncertain any more: a second click sends nothing.
    with django_capture_on_commit_callbacks(execute=True):
        rep_client.post(resend)
    assert len(smtp_server.received) == 1


def test_resend_is_a_post_of_the_emails_own_organization(
    sender, rep_client, other_org, django_capture_on_commit_callbacks
):
    from emails.tests.factories import EmailFactory, EmailRecipientFactory

    email = create(sender, django_capture_on_commit_callbacks, to=["ann@ex.org"])
    ann = email.recipients.get()
    theirs = EmailRecipientFactory(email=EmailFactory(organization=other_org), delivery_uncertain_at=timezone.now())

    assert rep_client.get(reverse("emails:resend_recipient", args=[email.pk, ann.pk])).status_code == 405
    assert rep_client.post(reverse("emails:resend_recipient", args=[theirs.email_id, theirs.pk])).status_code == 404
    # Another email's recipient through ours: 404 too.
    assert rep_client.post(reverse("emails:resend_recipient", args=[email.pk, theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.delivery_uncertain_at is not None


def test_the_sweep_takes_over_a_dead_workers_send_and_marks_only_the_copy_in_flight(
    sender, smtp_server, django_capture_on_commit_callbacks, settings
):
    email = create(sender, django_capture_on_commit_callbacks, to=["ann@ex.org", "bob@ex.org", "cy@ex.org"])
    ann, bob, _ = email.recipients.order_by("pk")
    long_ago = timezone.now() - dt.timedelta(seconds=settings.EMAIL_CLAIM_TIMEOUT + 5)
    # The worker delivered Ann's copy, handed Bob's over, and died.
    Email.objects.filter(pk=email.pk).update(status=Email.Status.SENDING, claimed_at=long_ago)
    EmailRecipient.objects.filter(pk=ann.pk).update(attempted_at=long_ago, delivered_at=long_ago)
    EmailRecipient.objects.filter(pk=bob.pk).update(attempted_at=long_ago)
    fresh = create(sender, django_capture_on_commit_callbacks, to=["dee@ex.org"])
    Email.objects.filter(pk=fresh.pk).update(status=Email.Status.SENDING, claimed_at=timezone.now())

    sweep = sweep_stuck_emails()

    assert (sweep.taken_over, sweep.uncertain, sweep.requeue) == ([email.pk], 1, [email.pk])
    assert sweep_stuck_emails().taken_over == []
    assert run(email).status == Email.Status.SENT
    assert [r.rcpt_tos for r in smtp_server.received] == [["cy@ex.org"]]
    bob.refresh_from_db()
    assert bob.delivery_uncertain_at and not bob.delivered_at
    fresh.refresh_from_db()
    assert fresh.status == Email.Status.SENDING


def test_the_sweep_queues_again_an_email_whose_task_was_lost(
    sender, smtp_server, django_capture_on_commit_callbacks, settings
):
    lost = create(sender, django_capture_on_commit_callbacks, to=["ann@ex.org"])
    waiting = create(sender, django_capture_on_commit_callbacks, to=["bob@ex.org"])
    Email.objects.filter(pk=lost.pk).update(
        send_after=timezone.now() - dt.timedelta(seconds=settings.EMAIL_QUEUE_GRACE + 1)
    )

    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert sweep_emails.apply().get() == 1

    lost.refresh_from_db()
    waiting.refresh_from_db()
    assert (lost.status, waiting.status) == (Email.Status.SENT, Email.Status.QUEUED)
    assert [r.rcpt_tos for r in smtp_server.received] == [["ann@ex.org"]]
    # Just queued again: not again before another grace.
    assert sweep_stuck_emails().requeue == []


def test_a_transient_failure_is_not_swept_before_its_retry_is_due(
    sender, smtp_server, django_capture_on_commit_callbacks
):
    from emails.sending import TransientSendError, email_send
    from emails.tests.test_send import fail_data

    fail_data(smtp_server, "451 Try again later")
    email = create(sender, django_capture_on_commit_callbacks, to=["ann@ex.org"])
    with pytest.raises(TransientSendError):
        email_send(email=email, last_attempt=False)
    assert email.status == Email.Status.QUEUED

    assert sweep_stuck_emails().requeue == []


def test_the_sweep_runs_on_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-emails"]
    assert (entry["task"], entry["schedule"]) == (sweep_emails.name, settings.EMAIL_SWEEP_INTERVAL)
