"""Changing a contact's open-tracking preference, with its proof.

Every change, whoever makes it (a user through the contact form, an import,
the recipient through their own link), goes through `consent_change` or, for
a form already saved, `consent_recorded`: one ConsentRecord per change, and
on a withdrawal (to Refused) the `open_tracking_withdrawn` signal, through
which tracking deletes the opens already recorded when the organization says
so. The recording pipeline itself reads the contact's current preference at
every open (emails.policy.may_record_open), so a withdrawal stops the
recording of every email already sent at once."""

import logging

from django.db import transaction
from django.utils import timezone

from onepage.models import User

from .models import ConsentRecord, Contact, open_tracking_withdrawn

logger = logging.getLogger(__name__)

REFUSED = Contact.OpenTracking.REFUSED


def consent_recorded(
    *,
    contact: Contact,
    old: str,
    new: str,
    method: str,
    wording: str,
    actor: User | None = None,
    by_recipient: bool = False,
) -> ConsentRecord | None:
    """Record a change already saved on the contact (None when nothing
    changed); on a withdrawal, delete or keep the opens recorded before."""
    if old == new:
        return None
    record = ConsentRecord(
        contact=contact,
        old_value=old,
        new_value=new,
        actor=actor,
        by_recipient=by_recipient,
        method=method,
        wording=wording,
        at=timezone.now(),
    )
    if new == REFUSED:
        answers = [n for _, n in open_tracking_withdrawn.send(sender=Contact, contact=contact) if n is not None]
        record.opens_deleted = sum(answers) if answers else None
        logger.info(
            "Contact %s withdrew consent to open tracking (%s): %s",
            contact.pk,
            method,
            f"{record.opens_deleted} recorded opens deleted" if answers else "recorded opens kept",
        )
    record.save()
    return record


@transaction.atomic
def consent_change(
    *,
    contact_id: int,
    new: str,
    method: str,
    wording: str,
    actor: User | None = None,
    by_recipient: bool = False,
) -> ConsentRecord | None:
    """Set the preference of a contact and record it. The contact is locked,
    so that a link clicked twice at once (or replayed) changes it once: the
    second finds it already set and records nothing."""
    contact = Contact.objects.select_for_update().filter(pk=contact_id).first()
    if contact is None:
        return None
    old = contact.open_tracking
    if old == new:
        return None
    contact.open_tracking = new
    contact.save(update_fields=["open_tracking", "updated_at"])
    return consent_recorded(
        contact=contact, old=old, new=new, method=method, wording=wording, actor=actor, by_recipient=by_recipient
    )
