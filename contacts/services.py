from django.db import transaction
from django.utils import timezone

from onepage.models import User

from .consent import consent_recorded
from .forms import ContactForm
from .models import ConsentRecord, Contact, ContactActivity


@transaction.atomic
def contact_save(*, form: ContactForm, actor: User) -> Contact:
    """Save a valid contact form and record it on the contact's timeline."""
    is_new = form.instance.pk is None
    # The preference as stored: the form's instance already holds the new one.
    old_preference = form.initial.get("open_tracking", Contact.OpenTracking.NOT_ASKED)
    contact = form.save()
    if "open_tracking" in form.changed_data:
        consent_recorded(
            contact=contact,
            old=old_preference,
            new=contact.open_tracking,
            method=ConsentRecord.Method.FORM,
            wording=form.preference_wording(),
            actor=actor,
        )
    if is_new:
        ContactActivity.objects.create(
            contact=contact, kind=ContactActivity.Kind.CREATED, actor=actor, at=timezone.now()
        )
    elif form.changed_data:
        labels = ", ".join(str(form.fields[name].label).lower() for name in form.changed_data)
        ContactActivity.objects.create(
            contact=contact, kind=ContactActivity.Kind.UPDATED, actor=actor, detail=labels, at=timezone.now()
        )
    return contact


def consent_asked(*, contact: Contact, actor: User) -> ContactActivity:
    """Note on the timeline that the contact was asked for consent to open
    tracking (emails.consent_request). Not a ConsentRecord: only an answer is."""
    return ContactActivity.objects.create(
        contact=contact, kind=ContactActivity.Kind.CONSENT_ASKED, actor=actor, at=timezone.now()
    )
