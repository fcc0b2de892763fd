"""Erasing a contact: deleting it erases its opens and its personal data
from the emails it received, and keeps the sender's own record of them (the
Email rows, subjects, bodies, the other recipients).

In one transaction: the rows holding the contact's address are found
(emails.selectors.contact_erasure_scope), the `contact_erasing` signal lets
the apps that own them erase what they hold (tracking deletes the opens
through tracking.erasure, which recounts the counters; emails replaces the
address with ERASED_ADDRESS), then the contact goes, with its activity and
consent records. A ContactErasure line and a log line say who erased which
contact id and how much, without the name or the address."""

import logging

from django.db import transaction

from emails import selectors
from onepage.models import User

from .models import Contact, ContactErasure, contact_erasing

logger = logging.getLogger(__name__)


def contact_erase(*, contact: Contact, actor: User | None) -> ContactErasure:
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        recipient_ids, email_ids = selectors.contact_erasure_scope(contact)
        counts = {"opens": 0, "recipients": 0, "emails": 0}
        for _, answer in contact_erasing.send(
            sender=Contact, contact=contact, recipient_ids=recipient_ids, email_ids=email_ids
        ):
            for key, value in (answer or {}).items():
                counts[key] = counts.get(key, 0) + value
        contact_id = contact.pk
        erasure = ContactErasure.objects.create(
            organization_id=contact.organization_id,
            contact_id=contact_id,
            actor=actor,
            opens_deleted=counts["opens"],
            recipients_erased=counts["recipients"],
            emails_erased=counts["emails"],
        )
        contact.delete()
    logger.info(
        "Contact %s erased by user %s: opens deleted %d, recipient rows erased %d, synced emails erased %d",
        contact_id,
        actor.pk if actor else None,
        erasure.opens_deleted,
        erasure.recipients_erased,
        erasure.emails_erased,
    )
    return erasure
