"""Erasing a contact: deleting it erases its opens and its personal data
from the emails it received, and keeps the sender's own record of them (the
Email rows, subjects, bodies, the other recipients).

One transaction, each app erasing what it owns: emails finds the rows that
hold the contact's address (emails.erasure.contact_erasure_scope); tracking
deletes their opens (tracking.erasure, which recounts the counters); emails
replaces the address with ERASED_ADDRESS; contacts deletes the contact with
its activity and consent records and writes a ContactErasure line (who, when,
how much: no name, no address)."""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Sum

from contacts.models import Contact, ContactErasure
from contacts.services import contact_erased
from emails import erasure as email_erasure
from emails.models import EmailRecipient
from onepage.models import User
from tracking.erasure import delete_opens_of_recipients

logger = logging.getLogger(__name__)


def contact_erase(*, contact: Contact, actor: User | None) -> ContactErasure:
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        recipient_ids, email_ids = email_erasure.contact_erasure_scope(contact)
        opens = delete_opens_of_recipients(recipient_ids)
        recipients, emails = email_erasure.erase_contact_rows(
            contact=contact, recipient_ids=recipient_ids, email_ids=email_ids
        )
        erasure = contact_erased(
            contact=contact, actor=actor, opens_deleted=opens, recipients_erased=recipients, emails_erased=emails
        )
    logger.info(
        "Contact %s erased by user %s: opens deleted %d, recipient rows erased %d, synced emails erased %d",
        erasure.contact_id,
        actor.pk if actor else None,
        erasure.opens_deleted,
        erasure.recipients_erased,
        erasure.emails_erased,
    )
    return erasure


@dataclass(frozen=True)
class ErasureSummary:
    """What erasing a contact will touch, for the delete confirmation."""

    emails: int  # emails it received or sent, whose rows lose its address
    opens: int  # its recorded opens (the counters, equal to the events)
    incoming: int  # emails imported from it


def erasure_summary(contact: Contact) -> ErasureSummary:
    recipient_ids, email_ids = email_erasure.contact_erasure_scope(contact)
    figures = EmailRecipient.objects.filter(pk__in=recipient_ids).aggregate(
        emails=Count("email_id", distinct=True), opens=Sum("open_count")
    )
    return ErasureSummary(emails=figures["emails"], opens=figures["opens"] or 0, incoming=len(email_ids))
