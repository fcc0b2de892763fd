"""Workflows of the emails app: connecting a mailbox, creating an email and
sending it through the sender's mailbox."""

import logging
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from contacts.models import Contact
from onepage.models import Organization, SettingChange, User
from onepage.services import on_off, setting_change_record
from tracking import policy
from tracking.tokens import pixel_url

from . import crypto, rendering
from .configuration import configuration_for_update
from .mailboxes import SMTPFailure, describe_failure, mailbox_connection
from .models import Email, EmailRecipient, Mailbox

logger = logging.getLogger(__name__)


# --- Mailbox ---------------------------------------------------------------------


def mailbox_connect(
    *,
    user: User,
    organization: Organization,
    kind: str,
    from_address: str,
    from_name: str = "",
    smtp_host: str = "",
    smtp_port: int | None = None,
    security: str = "",
    username: str = "",
    password: str | None = None,
) -> Mailbox:
    """Connect the user's mailbox, or change it. `password=None` keeps the
    stored one. The organization's first mailbox switches Allow open
    tracking on, as the product promises, and logs it."""
    with transaction.atomic():
        # Locked: two users connecting their first mailboxes at once switch
        # tracking on (and log it) once.
        config = configuration_for_update(organization)
        mailbox = Mailbox.objects.filter(user=user).first()
        first_of_organization = mailbox is None and not Mailbox.objects.filter(organization=organization).exists()
        creating = mailbox is None
        if mailbox is None:
            mailbox = Mailbox(user=user, organization=organization)
        mailbox.kind = kind
        mailbox.from_name = from_name
        mailbox.from_address = from_address
        if kind == Mailbox.Kind.DEVELOPMENT:
            mailbox.smtp_host, mailbox.username, mailbox.password_encrypted = "", "", ""
            mailbox.smtp_port, mailbox.security = 587, Mailbox.Security.STARTTLS
        else:
            mailbox.smtp_host = smtp_host
            mailbox.smtp_port = smtp_port or 587
            mailbox.security = security or Mailbox.Security.STARTTLS
            mailbox.username = username
            if password is not None:
                mailbox.password_encrypted = crypto.encrypt(password)
            elif not username:
                mailbox.password_encrypted = ""
        if creating:
            mailbox.save()
        else:
            mailbox.save(
                update_fields=[
                    "kind",
                    "from_name",
                    "from_address",
                    "smtp_host",
                    "smtp_port",
                    "security",
                    "username",
                    "password_encrypted",
                    "updated_at",
                ]
            )
        # Once an admin has chosen (any logged change of the switch), their
        # choice stands: a later "first" mailbox does not override it.
        already_chosen = SettingChange.objects.filter(organization=organization, setting="allow_open_tracking").exists()
        if first_of_organization and not config.allow_open_tracking and not already_chosen:
            config.allow_open_tracking = True
            config.save(update_fields=["allow_open_tracking", "updated_at"])
            setting_change_record(
                organization=organization,
                actor=user,
                setting="allow_open_tracking",
                old=on_off(False),
                new=on_off(True),
            )
    return mailbox


def mailbox_disconnect(*, mailbox: Mailbox) -> None:
    # Emails still queued then fail with "no mailbox" and can be retried
    # once a mailbox is connected again.
    mailbox.delete()


# --- Creating an email ----------------------------------------------------------


def email_create(
    *,
    organization: Organization,
    sender: User,
    subject: str,
    body_text: str,
    to: Sequence[str],
    cc: Sequence[str] = (),
    bcc: Sequence[str] = (),
    track: bool = True,
) -> Email:
    """Store the email with its tracking decision and queue it for sending
    once the transaction commits. `track` is the composer's toggle: the
    policy decides whether the email is actually tracked."""
    addresses = (
        [(EmailRecipient.Kind.TO, a) for a in to]
        + [(EmailRecipient.Kind.CC, a) for a in cc]
        + [(EmailRecipient.Kind.BCC, a) for a in bcc]
    )
    with transaction.atomic():
        contacts = _contacts_by_address(organization, [a for _, a in addresses])
        matched = [contacts.get(a.lower()) for _, a in addresses]
        overall, per_recipient = policy.decide(
            organization=organization, sender=sender, contacts=matched, toggle=track, source=Email.Source.CRM
        )
        email = Email.objects.create(
            organization=organization,
            sender=sender,
            source=Email.Source.CRM,
            subject=subject,
            body_text=body_text,
            body_html=rendering.body_to_html(body_text),
            status=Email.Status.QUEUED,
            track_opens=overall.track,
            not_tracked_reason="" if overall.track else overall.reason,
        )
        EmailRecipient.objects.bulk_create(
            EmailRecipient(
                email=email,
                kind=kind,
                address=address,
                contact=contact,
                track_opens=overall.track and decision.track,
                not_tracked_reason="" if overall.track and decision.track else (decision.reason or overall.reason),
            )
            for (kind, address), contact, decision in zip(addresses, matched, per_recipient, strict=True)
        )
        email_enqueue(email=email)
    return email


def _contacts_by_address(organization: Organization, addresses: list[str]) -> dict[str, Contact]:
    # Contact emails are unique per organization, case-insensitively.
    lowered = {a.lower() for a in addresses}
    contacts = Contact.objects.annotate(email_lower=Lower("email")).filter(
        organization=organization, email_lower__in=lowered
    )
    return {c.email_lower: c for c in contacts}


def email_enqueue(*, email: Email) -> None:
    from .tasks import send_email

    # After commit: the worker must find the row, and a rolled-back email
    # must never go out.
    transaction.on_commit(lambda: send_email.delay(email.pk))


# A send takes seconds; a claim older than this belongs to a worker that died
# mid-send (the task is acknowledged late, but a redelivered task finds the
# email claimed and leaves it alone).
STALE_CLAIM = timedelta(minutes=15)


def _retryable() -> Q:
    return Q(status=Email.Status.FAILED) | Q(status=Email.Status.SENDING, claimed_at__lt=timezone.now() - STALE_CLAIM)


def email_can_retry(*, email: Email) -> bool:
    return email.status == Email.Status.FAILED or (
        email.status == Email.Status.SENDING
        and email.claimed_at is not None
        and email.claimed_at < timezone.now() - STALE_CLAIM
    )


def email_retry(*, email: Email) -> bool:
    """Queue a failed (or abandoned) email again; False when there is nothing
    to retry. Copies already delivered are not sent again."""
    with transaction.atomic():
        requeued = Email.objects.filter(_retryable(), pk=email.pk).update(status=Email.Status.QUEUED, error="")
        if requeued:
            email_enqueue(email=email)
    return bool(requeued)


# --- Sending ----------------------------------------------------------------------


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
    except Exception:
        logger.exception("Sending email %s failed unexpectedly", fresh.pk)
        _finish(fresh, Email.Status.FAILED, error="Sending stopped on an unexpected error. Try again.")
        raise
    finally:
        email.refresh_from_db()


def _send_claimed(email: Email, *, last_attempt: bool) -> None:
    recipients = list(email.recipients.select_related("contact"))
    mailbox = Mailbox.objects.filter(user_id=email.sender_id, organization_id=email.organization_id).first()
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
                try:
                    connection.send_messages([batch.message])
                except (smtplib.SMTPException, OSError) as exc:
                    batch.failure = describe_failure(exc, where=where)
                    if not batch.failure.per_copy:
                        raise
                    continue
                # Recorded at once: a retry after a later failure skips it.
                EmailRecipient.objects.filter(
                    pk__in=[r.pk for r in batch.recipients], delivered_at__isnull=True
                ).update(delivered_at=timezone.now())
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


def _recheck_tracking(email: Email, recipients: list[EmailRecipient]) -> None:
    """Ask the policy again at send time: the plan may have been downgraded,
    Allow open tracking switched off, a contact may have refused since. It
    may switch tracking off, never on."""
    if not email.track_opens:
        return
    overall, decisions = policy.decide(
        organization=email.organization,
        sender=email.sender,
        contacts=[r.contact for r in recipients],
        toggle=True,
        source=email.source,
    )
    changed = []
    for recipient, decision in zip(recipients, decisions, strict=True):
        if recipient.track_opens and not (overall.track and decision.track):
            recipient.track_opens = False
            recipient.not_tracked_reason = decision.reason or overall.reason
            changed.append(recipient)
    if changed:
        EmailRecipient.objects.bulk_update(changed, ["track_opens", "not_tracked_reason"])
    if not any(r.track_opens for r in recipients):
        email.track_opens = False
        email.not_tracked_reason = overall.reason or next((r.not_tracked_reason for r in recipients), "")
        email.save(update_fields=["track_opens", "not_tracked_reason"])


def _batches(email: Email, mailbox: Mailbox, recipients: list[EmailRecipient]) -> list[_Batch]:
    pending = [r for r in recipients if r.delivered_at is None]
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
            ),
        )
        for r in pending
    ]


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
        _finish(email, Email.Status.QUEUED, error=failure.message)
        raise TransientSendError(failure.message)
    _finish(email, Email.Status.FAILED, error=failure.message)


def _finish(email: Email, status: str, **fields) -> None:
    # Conditional: only the task holding the claim moves the email on.
    Email.objects.filter(pk=email.pk, status=Email.Status.SENDING).update(status=status, **fields)
