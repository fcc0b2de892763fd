"""Creating an email (the composer's Send) and queueing it again (Retry).
Sending it is emails.sending."""

from collections.abc import Sequence

from django.db import transaction
from django.db.models.functions import Lower

from contacts.models import Contact
from onepage.models import Organization, User
from tracking import policy

from . import rendering
from .models import Email, EmailConfiguration, EmailRecipient, retryable


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
    addresses = [
        *((EmailRecipient.Kind.TO, a) for a in to),
        *((EmailRecipient.Kind.CC, a) for a in cc),
        *((EmailRecipient.Kind.BCC, a) for a in bcc),
    ]
    with transaction.atomic():
        contacts = _contacts_by_address(organization, [a for _, a in addresses])
        matched = [contacts.get(a.lower()) for _, a in addresses]
        decisions = policy.decide(
            organization=organization,
            sender=sender,
            contacts=matched,
            config=EmailConfiguration.objects.of(organization),
            toggle=track,
            source=Email.Source.CRM,
        )
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
            EmailRecipient(email=email, kind=kind, address=address, contact=contact, **_tracking(decision))
            for (kind, address), contact, decision in zip(addresses, matched, decisions.recipients, strict=True)
        )
        email_enqueue(email=email)
    return email


def _tracking(decision: policy.Decision) -> dict:
    return {"track_opens": decision.track, "not_tracked_reason": decision.reason}


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


def email_retry(*, email: Email) -> bool:
    """Queue a failed (or abandoned) email again; False when there is nothing
    to retry. Copies already delivered are not sent again."""
    with transaction.atomic():
        requeued = Email.objects.filter(retryable(), pk=email.pk).update(status=Email.Status.QUEUED, error="")
        if requeued:
            email_enqueue(email=email)
    return bool(requeued)
