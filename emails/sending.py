"""Sending a queued email through its sender's mailbox: one copy per
recipient when tracked (each with its own pixel), one message when not.

Safe under retries and duplicated tasks: the email is claimed with a
conditional UPDATE, each delivered copy is recorded at once, and only the
task holding the claim moves the email on. Those writes are conditional, so
they are made again on a new connection when the database dropped the one
they were sent on (a switchover to the standby: onepage.reconnect)."""

import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.db.models import F
from django.utils import timezone

from contacts.links import preference_url
from onepage.reconnect import connection_lost, retrying

from . import crypto, policy, rendering, rollup
from .mailboxes import mailbox_connection, mailbox_of
from .models import Email, EmailConfiguration, EmailRecipient, Mailbox
from .pixels import pixel_url
from .retries import RETRY_WITHIN
from .transport.smtp import delivery_unconfirmed
from .transport.smtp_failures import SMTPFailure, describe_failure

logger = logging.getLogger(__name__)


class TransientSendError(Exception):
    """Sending failed in a way worth retrying later; the email is queued again."""


@dataclass
class _Batch:
    """One message and the recipients it is delivered to."""

    recipients: list[EmailRecipient]
    message: rendering.OutgoingMessage
    failure: SMTPFailure | None = None


def email_send(*, email: Email, last_attempt: bool = True) -> None:
    """Send a queued email through its sender's mailbox.

    Safe to call twice: the email is claimed with a conditional UPDATE and a
    second caller finds nothing to do; copies already delivered (recorded per
    recipient) are never sent again. On a transient failure the email goes
    back to the queue and TransientSendError is raised, unless this is the
    last attempt: then, as on a permanent failure, it is marked failed with
    an error a user can read."""
    claimed = Email.objects.filter(pk=email.pk, status=Email.Status.QUEUED).update(
        status=Email.Status.SENDING, attempts=F("attempts") + 1, claimed_at=timezone.now()
    )
    if not claimed:
        return
    fresh = Email.objects.select_related("organization", "sender").get(pk=email.pk)
    try:
        _send_claimed(fresh, last_attempt=last_attempt)
    except TransientSendError:
        raise
    except Exception as exc:
        if connection_lost(exc):
            # The database gone (longer than `retrying` waits): the claim
            # stays, the sweep takes the send over (emails.recovery).
            raise
        logger.exception("Sending email %s failed unexpectedly", fresh.pk)
        _finish(fresh, Email.Status.FAILED, error="Sending stopped on an unexpected error. Try again.")
        raise
    finally:
        email.refresh_from_db()


def _send_claimed(email: Email, *, last_attempt: bool) -> None:
    # An erased recipient (privacy.erasure) has no address left to send to.
    recipients = [r for r in email.recipients.select_related("contact") if not r.erased]
    mailbox = mailbox_of(user=email.sender, organization=email.organization)
    if mailbox is None:
        _finish(
            email,
            Email.Status.FAILED,
            error=f"{email.sender.display_name} has no connected mailbox. "
            "Connect one in Settings → Email sync, then retry.",
        )
        return
    _recheck_tracking(email, recipients)
    if not email.message_id:
        email.message_id = rendering.new_message_id(mailbox)
        email.save(update_fields=["message_id"])

    batches = _batches(email, mailbox, recipients)
    where = f"{mailbox.smtp_host}:{mailbox.smtp_port}"
    try:
        connection = mailbox_connection(mailbox, email_id=email.pk)
        with connection:
            for batch in batches:
                _send_batch(email, connection, batch, where=where)
    except _DeliveryUncertain as uncertain:
        # The connection is gone with the reply: the copies still missing
        # go out on the retry, the uncertain one never automatically.
        _failed(email, uncertain.failure, last_attempt=last_attempt)
        return
    except (smtplib.SMTPException, OSError, crypto.UnreadablePassword) as exc:
        _failed(email, describe_failure(exc, where=where), last_attempt=last_attempt)
        return

    failed = [b for b in batches if b.failure]
    if not failed:
        _finish(email, Email.Status.SENT, error="", sent_at=timezone.now())
        return
    transient = all(b.failure.transient for b in failed)
    message = _summary(failed, delivered_any=len(failed) < len(batches))
    _failed(email, SMTPFailure(message, transient=transient), last_attempt=last_attempt)


class _DeliveryUncertain(Exception):
    def __init__(self, failure: SMTPFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def _send_batch(email: Email, connection: BaseEmailBackend, batch: _Batch, *, where: str) -> None:
    """Hand one message to the server and record the outcome at once, so
    that nothing after it (a failure, a dead worker) can send it twice."""
    copies = EmailRecipient.objects.filter(pk__in=[r.pk for r in batch.recipients], delivered_at__isnull=True)
    now = timezone.now()
    # Marked before the server sees it: a worker that dies from here until
    # the outcome is recorded leaves the copy "in flight" for the sweep.
    retrying(lambda: copies.update(attempted_at=now))
    # The claim's heartbeat: a send that progresses is never taken for dead.
    retrying(lambda: Email.objects.filter(pk=email.pk, status=Email.Status.SENDING).update(claimed_at=now))
    try:
        connection.send_messages([batch.message])
    except (smtplib.SMTPException, OSError) as exc:
        if delivery_unconfirmed(connection):
            retrying(lambda: copies.update(delivery_uncertain_at=timezone.now()))
            raise _DeliveryUncertain(_uncertain(batch, where=where)) from exc
        retrying(lambda: copies.update(attempted_at=None))
        batch.failure = describe_failure(exc, where=where)
        if not batch.failure.per_copy:
            raise
        return
    # Recorded at once: a retry after a later failure skips it.
    retrying(lambda: copies.update(delivered_at=timezone.now()))


def _uncertain(batch: _Batch, *, where: str) -> SMTPFailure:
    seconds = settings.SMTP_DATA_TIMEOUT
    return SMTPFailure(
        f"The server at {where} received the message for {', '.join(r.address for r in batch.recipients)} "
        f"but did not confirm it within {seconds:g} s: it may have been delivered, so OnePage does not send "
        "it again by itself (the email's page lets you resend it).",
        transient=True,
    )


def _recheck_tracking(email: Email, recipients: list[EmailRecipient]) -> None:
    """Ask the policy again at send time: the plan may have been downgraded,
    Allow open tracking switched off, a contact may have refused since. It
    may switch tracking off, never on."""
    if not email.track_opens:
        return
    decisions = policy.decide(
        organization=email.organization,
        sender=email.sender,
        contacts=[r.contact for r in recipients],
        config=EmailConfiguration.objects.of(email.organization),
        source=email.source,
        addresses=[r.address for r in recipients],
    )
    changed = []
    for recipient, decision in zip(recipients, decisions.recipients, strict=True):
        if recipient.track_opens and not decision.track:
            recipient.track_opens, recipient.not_tracked_reason = False, decision.reason
            changed.append(recipient)
        elif recipient.track_opens and decision.aggregate and not recipient.aggregate_only:
            recipient.aggregate_only = True
            changed.append(recipient)
    if changed:
        EmailRecipient.objects.bulk_update(changed, ["track_opens", "not_tracked_reason", "aggregate_only"])
    if not any(r.track_opens for r in recipients):
        email.track_opens = False
        email.not_tracked_reason = decisions.email.reason or next((r.not_tracked_reason for r in recipients), "")
        email.save(update_fields=["track_opens", "not_tracked_reason"])


def _batches(email: Email, mailbox: Mailbox, recipients: list[EmailRecipient]) -> list[_Batch]:
    pending = [r for r in recipients if r.delivered_at is None and not r.delivery_uncertain]
    if not pending:
        return []
    if not email.track_opens:
        # Untracked: one message, delivered once, like any mail client would.
        message = rendering.build_message(
            email=email, mailbox=mailbox, recipients=recipients, envelope=[r.address for r in pending]
        )
        return [_Batch(pending, message)]
    # Tracked: one copy per recipient, so that each open says who opened.
    return [
        _Batch(
            [r],
            rendering.build_message(
                email=email,
                mailbox=mailbox,
                recipients=recipients,
                envelope=[r.address],
                pixel_url=pixel_url(r.pk) if r.track_opens else None,
                preference_link=_preference_link(email, r),
            ),
        )
        for r in pending
    ]


def _preference_link(email: Email, recipient: EmailRecipient) -> tuple[str, str] | None:
    """The footer link of a tracked copy to a contact, when the organization
    adds it: the contact's own page to refuse or allow tracking."""
    config = EmailConfiguration.objects.of(email.organization)
    if not (config.preference_link and recipient.track_opens and recipient.contact_id):
        return None
    return preference_url(recipient.contact_id), config.preference_link_text


def _summary(failed: list[_Batch], *, delivered_any: bool) -> str:
    messages = {b.failure.message for b in failed}
    if len(messages) == 1 and not delivered_any:
        # Everyone got the same answer: say it once.
        return messages.pop()
    lines = [f"{', '.join(r.address for r in b.recipients)}: {b.failure.message}" for b in failed]
    prefix = "Not delivered to some recipients (the others received it). " if delivered_any else ""
    return prefix + " ".join(lines)


def _failed(email: Email, failure: SMTPFailure, *, last_attempt: bool) -> None:
    if failure.transient and not last_attempt:
        _finish(
            email,
            Email.Status.QUEUED,
            error=failure.message,
            send_after=timezone.now() + timedelta(seconds=RETRY_WITHIN),
        )
        raise TransientSendError(failure.message)
    _finish(email, Email.Status.FAILED, error=failure.message)


def _finish(email: Email, status: str, **fields) -> None:
    # Conditional: only the task holding the claim moves the email on (and
    # made again, a transaction that committed moves nothing twice).
    def move() -> None:
        with rollup.changing([email.pk]):
            Email.objects.filter(pk=email.pk, status=Email.Status.SENDING).update(status=status, **fields)

    retrying(move)
