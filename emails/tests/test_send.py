"""Sending through the sender's mailbox, against a real SMTP server."""

import datetime as dt
import re

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from conftest import free_port
from contacts.models import Contact
from contacts.tests.factories import ContactFactory
from emails.models import Email, EmailRecipient, NotTrackedReason
from emails.pixels import read_token
from emails.sending import email_send
from emails.services import email_create, email_retry
from emails.tasks import send_email
from emails.tests.factories import EmailConfigurationFactory, EmailFactory, MailboxFactory
from onepage.models import Organization

pytestmark = pytest.mark.django_db

PIXEL_RE = re.compile(r'<img src="http[^"]*/o/([^"/]+)\.gif" width="1" height="1" alt="">')


def create(sender, django_capture_on_commit_callbacks, **kwargs) -> Email:
    """An email saved as the composer saves it; its task not run yet."""
    fields = {"subject": "Our offer", "body_text": "Hello,\n\nsee https://acme.example", "to": ["ann@ex.org"]}
    fields.update(kwargs)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        email = email_create(organization=sender.membership.organization, sender=sender, **fields)
    assert len(callbacks) == 1  # the send task, queued for after commit
    return email


def run(email: Email) -> Email:
    send_email.apply(args=[email.pk])
    email.refresh_from_db()
    return email


def fail_data(smtp_server, reply: str, *, times: int = 1, only_to: str | None = None) -> None:
    """Make the real server answer DATA with `reply` for the next `times`
    messages (to `only_to`, when given)."""
    original = smtp_server.handle_DATA
    left = [times]

    async def handle_DATA(server, session, envelope):
        if left[0] and (only_to is None or only_to in envelope.rcpt_tos):
            left[0] -= 1
            return reply
        return await original(server, session, envelope)

    smtp_server.handle_DATA = handle_DATA


def pixels(received) -> list[str]:
    return PIXEL_RE.findall(received.part("text/html"))


def test_tracked_email_goes_as_one_copy_per_recipient_with_the_same_visible_headers(
    sender, org, smtp_server, django_capture_on_commit_callbacks
):
    ann = ContactFactory(organization=org, email="Ann@Ex.org", open_tracking=Contact.OpenTracking.ALLOWED)
    email = create(sender, django_capture_on_commit_callbacks, to=["ann@ex.org"], cc=["bob@ex.org"], bcc=["eve@ex.org"])
    assert email.track_opens

    email = run(email)

    assert email.status == Email.Status.SENT and email.sent_at is not None and email.error == ""
    assert sorted(tuple(r.rcpt_tos) for r in smtp_server.received) == [
        ("ann@ex.org",),
        ("bob@ex.org",),
        ("eve@ex.org",),
    ]
    assert {r.mail_from for r in smtp_server.received} == {"rex@acme.example"}
    visible = {
        tuple(r.message[h] for h in ("From", "To", "Cc", "Subject", "Date", "Message-ID")) for r in smtp_server.received
    }
    assert len(visible) == 1
    (headers,) = visible
    assert headers[:4] == ("Rex Rep <rex@acme.example>", "ann@ex.org", "bob@ex.org", "Our offer")
    assert email.message_id == smtp_server.received[0].message["Message-ID"]
    for received in smtp_server.received:
        assert received.message["Bcc"] is None
        headers = "".join(f"{k}: {v}\n" for k, v in received.message.items())
        assert "eve@ex.org" not in headers
        assert len(pixels(received)) == 1
        assert "/o/" not in received.part("text/plain")
    # Each copy's pixel names its own recipient.
    by_address = {r.rcpt_tos[0]: read_token(pixels(r)[0]) for r in smtp_server.received}
    recipients = {r.address: r for r in email.recipients.all()}
    assert by_address == {address: r.pk for address, r in recipients.items()}
    assert recipients["ann@ex.org"].contact == ann
    assert all(r.delivered_at is not None for r in recipients.values())


def test_a_recipient_who_refused_tracking_gets_a_copy_without_pixel(
    sender, org, smtp_server, django_capture_on_commit_callbacks
):
    ContactFactory(organization=org, email="ann@ex.org", open_tracking=Contact.OpenTracking.REFUSED)
    email = run(create(sender, django_capture_on_commit_callbacks, to=["ann@ex.org", "bob@ex.org"]))

    copies = {r.rcpt_tos[0]: r for r in smtp_server.received}
    assert set(copies) == {"ann@ex.org", "bob@ex.org"}
    assert pixels(copies["ann@ex.org"]) == [] and "<img" not in copies["ann@ex.org"].part("text/html")
    assert len(pixels(copies["bob@ex.org"])) == 1
    ann = email.recipients.get(address="ann@ex.org")
    assert (ann.track_opens, ann.not_tracked_reason) == (False, NotTrackedReason.CONTACT_REFUSED)
    assert email.track_opens


def test_an_untracked_email_is_sent_once_to_everyone_without_pixel(
    sender, smtp_server, django_capture_on_commit_callbacks
):
    email = create(
        sender,
        django_capture_on_commit_callbacks,
        to=["ann@ex.org"],
        cc=["bob@ex.org"],
        bcc=["eve@ex.org"],
        track=False,
    )
    assert (email.track_opens, email.not_tracked_reason) == (False, NotTrackedReason.TOGGLE_OFF)

    run(email)

    assert len(smtp_server.received) == 1
    received = smtp_server.received[0]
    assert received.rcpt_tos == ["ann@ex.org", "bob@ex.org", "eve@ex.org"]
    assert received.message["Bcc"] is None and "eve@ex.org" not in str(received.message.items())
    assert "<img" not in received.part("text/html")


def test_a_task_run_twice_sends_once(sender, smtp_server, django_capture_on_commit_callbacks):
    email = create(sender, django_capture_on_commit_callbacks, to=["ann@ex.org", "bob@ex.org"])
    run(email)
    run(email)
    send_email.apply(args=[email.pk], retries=1)
    assert len(smtp_server.received) == 2
    email.refresh_from_db()
    assert email.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_sends_nothing(sender, smtp_server, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with pytest.raises(RuntimeError), transaction.atomic():
        email_create(
            organization=sender.membership.organization, sender=sender, subject="Oops", body_text="x", to=["a@ex.org"]
        )
        raise RuntimeError("the view failed after saving")
    assert smtp_server.received == []
    assert not Email.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_committed_email_is_sent_by_the_queued_task(sender, smtp_server, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    email = email_create(
        organization=sender.membership.organization, sender=sender, subject="Hi", body_text="x", to=["a@ex.org"]
    )
    email.refresh_from_db()
    assert email.status == Email.Status.SENT
    assert len(smtp_server.received) == 1


def test_a_transient_reply_is_retried_and_then_sent(sender, smtp_server, django_capture_on_commit_callbacks):
    fail_data(smtp_server, "451 4.7.1 Greylisted, try again later")
    email = run(create(sender, django_capture_on_commit_callbacks))
    assert email.status == Email.Status.SENT
    assert email.attempts == 2
    assert len(smtp_server.received) == 1


def test_transient_replies_that_never_stop_end_failed_after_three_retries(
    sender, smtp_server, django_capture_on_commit_callbacks
):
    smtp_server.reply = "451 4.3.0 Mail server temporarily unavailable"
    email = run(create(sender, django_capture_on_commit_callbacks))
    assert email.status == Email.Status.FAILED
    assert email.attempts == 4
    assert email.error == "The server rejected the message: 451 4.3.0 Mail server temporarily unavailable"


def test_a_retry_waits_longer_each_time():
    from emails.retries import MAX_RETRIES, RETRY_WITHIN, retry_countdown

    for retries, shortest, longest in [(0, 30, 45), (1, 60, 90), (2, 120, 180)]:
        assert shortest <= retry_countdown(retries) <= longest
    # The sweep waits out the longest of them before it queues an email again.
    assert RETRY_WITHIN == 180 >= max(retry_countdown(MAX_RETRIES - 1) for _ in range(200))


def test_a_permanent_rejection_fails_at_once_with_a_readable_error(
    sender, smtp_server, django_capture_on_commit_callbacks
):
    smtp_server.reply = "550 5.7.1 Message rejected as spam"
    email = run(create(sender, django_capture_on_commit_callbacks))
    assert email.status == Email.Status.FAILED
    assert email.attempts == 1
    assert email.error == "The server rejected the message: 550 5.7.1 Message rejected as spam"
    assert email.sent_at is None


def test_a_partial_failure_is_not_sent_twice_on_retry(sender, smtp_server, django_capture_on_commit_callbacks):
    fail_data(smtp_server, "452 4.2.2 Mailbox full, try later", only_to="bob@ex.org")
    email = run(create(sender, django_capture_on_commit_callbacks, to=["ann@ex.org", "bob@ex.org", "cy@ex.org"]))
    assert email.status == Email.Status.SENT
    assert email.attempts == 2
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == ["ann@ex.org", "bob@ex.org", "cy@ex.org"]


def test_a_refused_recipient_fails_the_email_but_the_others_get_their_copy(
    sender, smtp_server, django_capture_on_commit_callbacks
):
    async def handle_RCPT(server, session, envelope, address, rcpt_options):
        if address == "gone@ex.org":
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    smtp_server.handle_RCPT = handle_RCPT
    email = run(create(sender, django_capture_on_commit_callbacks, to=["ann@ex.org", "gone@ex.org"]))
    assert email.status == Email.Status.FAILED
    assert email.error == (
        "Not delivered to some recipients (the others received it). "
        "gone@ex.org: The server refused the recipient gone@ex.org (550 5.1.1 No such user here)"
    )
    assert [r.rcpt_tos for r in smtp_server.received] == [["ann@ex.org"]]

    # Retrying sends the missing copy only, once the address works again.
    del smtp_server.handle_RCPT
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert email_retry(email=email)
    assert len(callbacks) == 1
    email = run(email)
    assert email.status == Email.Status.SENT
    assert [r.rcpt_tos for r in smtp_server.received] == [["ann@ex.org"], ["gone@ex.org"]]


def test_a_closed_port_is_retried_then_reported_in_words(rep_user, org, django_capture_on_commit_callbacks):
    port = free_port()
    MailboxFactory(user=rep_user, kind="smtp", smtp_host="127.0.0.1", smtp_port=port, security="none")
    email = run(create(rep_user, django_capture_on_commit_callbacks))
    assert email.status == Email.Status.FAILED
    assert email.attempts == 4
    assert email.error == f"The server at 127.0.0.1:{port} refused the connection: nothing is listening on that port."


def test_tracking_switched_off_before_sending_sends_without_pixel(
    sender, org, smtp_server, django_capture_on_commit_callbacks
):
    email = create(sender, django_capture_on_commit_callbacks, to=["ann@ex.org", "bob@ex.org"])
    assert email.track_opens
    org.email_configuration.allow_open_tracking = False
    org.email_configuration.save()

    email = run(email)

    assert (email.track_opens, email.not_tracked_reason) == (False, NotTrackedReason.DISABLED)
    assert not email.recipients.filter(track_opens=True).exists()
    assert len(smtp_server.received) == 1 and "<img" not in smtp_server.received[0].part("text/html")


def test_a_downgrade_before_sending_sends_without_pixel(sender, org, smtp_server, django_capture_on_commit_callbacks):
    email = create(sender, django_capture_on_commit_callbacks)
    Organization.objects.filter(pk=org.pk).update(plan=Organization.Plan.PROFESSIONAL)
    email = run(email)
    assert (email.track_opens, email.not_tracked_reason) == (False, NotTrackedReason.PLAN)
    assert pixels(smtp_server.received[0]) == []


def test_sending_never_switches_tracking_on(sender, org, smtp_server, django_capture_on_commit_callbacks):
    email = create(sender, django_capture_on_commit_callbacks, track=False)
    email = run(email)
    assert not email.track_opens
    assert pixels(smtp_server.received[0]) == []


def test_no_mailbox_at_send_time_fails_with_an_explanation(sender, smtp_server, django_capture_on_commit_callbacks):
    email = create(sender, django_capture_on_commit_callbacks)
    sender.mailbox.delete()
    email = run(email)
    assert email.status == Email.Status.FAILED
    assert "has no connected mailbox. Connect one in Settings → Email sync" in email.error
    assert smtp_server.received == []


def test_the_development_mailbox_delivers_to_files(rep_user, org, settings, django_capture_on_commit_callbacks):
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    MailboxFactory(user=rep_user)  # development
    email = run(create(rep_user, django_capture_on_commit_callbacks, to=["ann@ex.org", "bob@ex.org"]))
    assert email.status == Email.Status.SENT
    folder = settings.DEV_OUTBOX_DIR / f"org-{org.pk}"
    assert len(list(folder.glob("*.eml"))) == 2 and len(list(folder.glob("*.json"))) == 2


@pytest.mark.django_db(transaction=True)
def test_retry_from_the_email_page_sends_a_failed_email(sender, rep_client, smtp_server, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    smtp_server.reply = "550 5.7.1 Rejected"
    email = email_create(
        organization=sender.membership.organization, sender=sender, subject="Hi", body_text="x", to=["a@ex.org"]
    )
    page = rep_client.get(reverse("emails:detail", args=[email.pk])).content.decode()
    assert "The server rejected the message: 550 5.7.1 Rejected" in page
    assert reverse("emails:retry", args=[email.pk]) in page

    smtp_server.reply = None
    response = rep_client.post(reverse("emails:retry", args=[email.pk]), follow=True)
    assert "Sent." in response.content.decode()
    email.refresh_from_db()
    assert email.status == Email.Status.SENT and email.error == ""
    assert len(smtp_server.received) == 1

    # Only a failed email can be retried: a second click sends nothing.
    response = rep_client.post(reverse("emails:retry", args=[email.pk]), follow=True)
    assert "Only an email that failed, or whose sending was interrupted, can be retried." in response.content.decode()
    assert len(smtp_server.received) == 1


def test_retry_needs_post_and_is_scoped_to_the_organization(rep_client, org, other_org):
    theirs = EmailFactory(organization=other_org, status=Email.Status.FAILED)
    assert rep_client.post(reverse("emails:retry", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Email.Status.FAILED
    mine = EmailFactory(organization=org, status=Email.Status.FAILED)
    assert rep_client.get(reverse("emails:retry", args=[mine.pk])).status_code == 405


def test_email_send_does_nothing_for_an_email_that_is_not_queued(sender, smtp_server):
    email = EmailFactory(organization=sender.membership.organization, sender=sender, status=Email.Status.SENT)
    email_send(email=email)
    assert smtp_server.received == []
    assert EmailRecipient.objects.count() == 0


def test_a_send_interrupted_by_a_dead_worker_can_be_retried_without_duplicates(
    sender, rep_client, smtp_server, django_capture_on_commit_callbacks, settings
):
    email = create(sender, django_capture_on_commit_callbacks, to=["ann@ex.org", "bob@ex.org"])
    # A worker claimed it an hour ago, delivered Ann's copy, then died.
    an_hour_ago = timezone.now() - dt.timedelta(hours=1)
    Email.objects.filter(pk=email.pk).update(status=Email.Status.SENDING, claimed_at=an_hour_ago, attempts=1)
    email.recipients.filter(address="ann@ex.org").update(delivered_at=an_hour_ago)

    # Its redelivered task finds the email claimed and leaves it alone.
    assert run(email).status == Email.Status.SENDING
    assert smtp_server.received == []

    page = rep_client.get(reverse("emails:detail", args=[email.pk])).content.decode()
    assert "Sending was interrupted." in page
    assert f'action="{reverse("emails:retry", args=[email.pk])}"' in page
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=True):
        rep_client.post(reverse("emails:retry", args=[email.pk]))
    email.refresh_from_db()
    assert email.status == Email.Status.SENT
    assert [r.rcpt_tos for r in smtp_server.received] == [["bob@ex.org"]]


def test_a_send_in_progress_cannot_be_retried(sender, rep_client, smtp_server, django_capture_on_commit_callbacks):
    email = create(sender, django_capture_on_commit_callbacks)
    Email.objects.filter(pk=email.pk).update(status=Email.Status.SENDING, claimed_at=timezone.now())
    page = rep_client.get(reverse("emails:detail", args=[email.pk])).content.decode()
    assert reverse("emails:retry", args=[email.pk]) not in page
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        rep_client.post(reverse("emails:retry", args=[email.pk]))
    assert callbacks == []
    email.refresh_from_db()
    assert email.status == Email.Status.SENDING


def test_a_from_name_and_subject_saved_with_control_characters_no_longer_break_sending(
    sender, smtp_server, django_capture_on_commit_callbacks
):
    # Saved before the forms refused them: a vertical tab, a form feed, a file separator.
    sender.mailbox.from_name = "Rex\x0bRep"
    sender.mailbox.save()
    email = create(sender, django_capture_on_commit_callbacks, subject="Our\x0coffer\x1ctoday")

    email = run(email)

    assert email.status == Email.Status.SENT, email.error
    [received] = smtp_server.received
    assert received.message["Subject"] == "Our offer today"
    assert received.message["From"] == "Rex Rep <rex@acme.example>"
