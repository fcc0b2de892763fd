"""Emails' part of erasing a contact (privacy.erasure): which rows hold
its address, and erasing it from them. The recipient rows keep the email's
shape (kind, delivery, counters) but lose the address (ERASED_ADDRESS) and
their link to the contact, and are never tracked again; emails imported from
the contact lose its address. Subjects and bodies are the sender's own
record and stay. Their opens are tracking's to delete (tracking.erasure)."""

from django.db.models import Q, Value
from django.db.models.functions import Replace

from contacts.models import Contact

from .models import ERASED_ADDRESS, Email, EmailRecipient, NotTrackedReason
from .selectors import contact_rows


def contact_erasure_scope(contact: Contact) -> tuple[list[int], list[int]]:
    """What erasing the contact touches: its recipient rows (contact_rows)
    and the emails imported from it (incoming: from its address, or with its
    From row)."""
    from_it = Q(pk__in=EmailRecipient.objects.filter(contact=contact, kind=EmailRecipient.Kind.FROM).values("email_id"))
    if contact.email:
        from_it |= Q(from_address__iexact=contact.email)
    emails = Email.objects.filter(from_it, organization_id=contact.organization_id, direction=Email.Direction.INCOMING)
    return sorted(contact_rows(contact).values_list("pk", flat=True)), sorted(emails.values_list("pk", flat=True))


def erase_contact_rows(*, contact: Contact, recipient_ids: list[int], email_ids: list[int]) -> tuple[int, int]:
    """Erase the contact's address from these rows; returns how many
    recipient rows and imported emails were erased."""
    rows = EmailRecipient.objects.filter(pk__in=recipient_ids)
    touched = set(rows.values_list("email_id", flat=True)) | set(email_ids)
    recipients = rows.update(
        address=ERASED_ADDRESS, contact=None, track_opens=False, not_tracked_reason=NotTrackedReason.ERASED
    )
    emails = Email.objects.filter(pk__in=email_ids).update(from_address=ERASED_ADDRESS)
    if contact.email:
        # A failure's words may name the address ("x@y: mailbox full").
        for case in {contact.email, contact.email.lower()}:
            Email.objects.filter(pk__in=touched, error__contains=case).update(
                error=Replace("error", Value(case), Value(ERASED_ADDRESS))
            )
    return recipients, emails
