"""What a contact's withdrawal does to the opens already recorded: deleted
(the organization's default) or kept, per EmailConfiguration.
delete_opens_on_withdrawal. Connected to contacts' `open_tracking_withdrawn`
in TrackingConfig.ready; new opens are refused by emails.policy whatever
the setting."""

import logging

from contacts.models import Contact
from emails.models import EmailConfiguration

from .erasure import BATCH, delete_opens
from .models import OpenEvent

logger = logging.getLogger(__name__)


def on_withdrawal(sender, *, contact: Contact, **kwargs) -> int | None:
    """Delete the contact's recorded opens when the organization says so.
    Returns how many were deleted, or None when they are kept."""
    config = EmailConfiguration.objects.of(contact.organization)
    if not config.delete_opens_on_withdrawal:
        return None
    return delete_opens_of(contact)


def delete_opens_of(contact: Contact) -> int:
    deleted = 0
    while True:
        ids = list(OpenEvent.objects.filter(recipient__contact=contact).values_list("pk", flat=True)[:BATCH])
        if not ids:
            break
        deleted += delete_opens(ids)
    if deleted:
        logger.info("Deleted %d recorded opens of contact %s", deleted, contact.pk)
    return deleted
