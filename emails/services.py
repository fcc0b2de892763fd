"""Creating an email (the composer's Send), queueing it again (Retry), and
resending one copy whose delivery is uncertain. Sending it is emails.sending."""

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from contacts.access import contacts_by_address
from onepage.models import Organization, User

from . import policy, rendering, rollup
from .models import Email, EmailConfiguration, EmailRecipient, retryable, uncertain_delivery
from .tasks import publish_send


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
    never_tracked: str = "",
) -> Email:
    """Store the email with its tracking decision and queue it for sending
    once the transaction commits. `track` is the composer's toggle: the
    policy decides whether the email is actually tracked. `never_tracked`,
    a NotTrackedReason, stores the email and every recipient as not tracked
    for that reason whatever the policy says (a consent request)."""
    addresses = [
        *((EmailRecipient.Kind.TO, a) for a in to),
        *((EmailRecipient.Kind.CC, a) for a in cc),
        *((EmailRecipient.Kind.BCC, a) for a in bcc),
    ]
    with transaction.atomic():
        contacts = contacts_by_address(organization, [a for _, a in addresses])
        matched = [contacts.get(a.lower()) for _, a in addresses]
        decisions = policy.decide(
            organization=organization,
            sender=sender,
            contacts=matched,
            config=EmailConfiguration.objects.of(organization),
            toggle=track,
            source=Email.Source.CRM,
            addresses=[a for _, a in addresses],
        )
        if never_tracked:
            decisions = _never_tracked(decisions, never_tracked)
        email = Email.objects.create(
            organization=organization,
            sender=sender,
            source=Email.Source.CRM,
            subject=subject,
            body_text=body_text,
            body_html=rendering.body_to_html(body_text),
            status=Email.Status.QUEUED,
            **_tracking(decisions.email),
        )
        EmailRecipient.objects.bulk_create(
            EmailRecipient(
                email=email,
                kind=kind,
                address=address,
                contact=contact,
                aggregate_only=decision.aggregate,
                **_tracking(decision),
            )
            for (kind, address), contact, decision in zip(addresses, matched, decisions.recipients, strict=True)
        )
        email_enqueue(email=email)
    return email


def _never_tracked(decisions: policy.Decisions, reason: str) -> policy.Decisions:
    off = policy.Decision(track=False, reason=reason)
    return policy.Decisions(email=off, recipients=[off] * len(decisions.recipients))


def _tracking(decision: policy.Decision) -> dict:
    return {"track_opens": decision.track, "not_tracked_reason": decision.reason}


def email_enqueue(*, email: Email) -> None:
    # After commit: the worker must find the row, and a rolled-back email
    # must never go out.
    transaction.on_commit(lambda: publish_send(email_id=email.pk))


def email_retry(*, email: Email) -> bool:
    """Queue a failed (or abandoned) email again; False when there is nothing
    to retry. Copies already delivered, or whose delivery is uncertain, are
    not sent again."""
    with transaction.atomic():
        requeued = Email.objects.filter(retryable(), pk=email.pk).update(
            status=Email.Status.QUEUED, error="", send_after=timezone.now()
        )
        if requeued:
            email_enqueue(email=email)
    return bool(requeued)


def recipient_resend(*, email: Email, recipient_id: int) -> bool:
    """The rep's explicit choice to send again a copy whose delivery is
    uncertain (it may have arrived). False when that copy is not uncertain,
    or the email is still queued or sending (its send would not see it)."""
    with transaction.atomic():
        locked = Email.objects.select_for_update().filter(
            pk=email.pk, status__in=[Email.Status.SENT, Email.Status.FAILED]
        )
        if not locked.exists():
            return False
        cleared = EmailRecipient.objects.filter(uncertain_delivery(), pk=recipient_id, email_id=email.pk).update(
            delivery_uncertain_at=None, attempted_at=None
        )
        if not cleared:
            return False
        with rollup.changing([email.pk]):  # a sent email leaves its week until sent again
            locked.update(status=Email.Status.QUEUED, error="", send_after=timezone.now())
        email_enqueue(email=email)
    return True
