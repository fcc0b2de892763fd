from django.db import transaction
from django.utils import timezone

from onepage.models import User

from .consent import consent_recorded
from .forms import ContactForm
from .models import ConsentRecord, Contact, ContactActivity, ContactErasure


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
    tracking (privacy.consent_request). Not a ConsentRecord: only an answer is."""
    return ContactActivity.objects.create(
        contact=contact, kind=ContactActivity.Kind.CONSENT_ASKED, actor=actor, at=timezone.now()
    )


def contact_erased(
    *, contact: Contact, actor: User | None, opens_deleted: int, recipients_erased: int, emails_erased: int
) -> ContactErasure:
    """The last step of an erasure (privacy.erasure): delete the contact,
    its activity and consent records with it, and keep a line that says who
    erased which contact id and how much, without its name or address."""
    erasure = ContactErasure.objects.create(
        organization_id=contact.organization_id,
        contact_id=contact.pk,
        actor=actor,
        opens_deleted=opens_deleted,
        recipients_erased=recipients_erased,
        emails_erased=emails_erased,
    )
    contact.delete()
    return erasure
