"""A contact erased (contacts.erasure, through the `contact_erasing`
signal): the recipient rows that held its address keep the email's shape
(kind, delivery, counters) but lose the address (ERASED_ADDRESS) and their
link to the contact, and are never tracked again; emails imported from the
contact lose its address. Subjects and bodies are the sender's own record
and stay. Their opens are tracking's to delete (tracking.consent)."""

from django.db.models import Value
from django.db.models.functions import Replace

from contacts.models import Contact

from .models import ERASED_ADDRESS, Email, EmailRecipient, NotTrackedReason


def on_contact_erasing(
    sender, *, contact: Contact, recipient_ids: list[int], email_ids: list[int], **kwargs
) -> dict[str, int]:
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
    return {"recipients": recipients, "emails": emails}
