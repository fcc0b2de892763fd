from django.db import transaction
from django.utils import timezone

from onepage.models import User

from .forms import ContactForm
from .models import Contact, ContactActivity


@transaction.atomic
def contact_save(*, form: ContactForm, actor: User) -> Contact:
    """Save a valid contact form and record it on the contact's timeline."""
    is_new = form.instance.pk is None
    contact = form.save()
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
