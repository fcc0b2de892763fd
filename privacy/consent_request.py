"""The consent-request email: a short email a rep sends a contact to ask
whether they agree to open tracking, with the contact's own link
(contacts.links, the page privacy.public shows). Never tracked: no pixel,
stored as not tracked for NotTrackedReason.CONSENT_REQUEST. Sending it
writes no ConsentRecord (only the answer does); it is noted in the contact's
activity."""

from django.db import transaction

from contacts.links import preference_url
from contacts.models import Contact
from contacts.services import consent_asked
from emails.models import Email, NotTrackedReason
from emails.services import email_create
from onepage.models import User

from .public import language_of

# Where the rep's text gets the contact's own link.
LINK = "[link]"

DEFAULTS = {
    "en": (
        "May we see when you open our emails?",
        "Hello {first_name},\n\n"
        "Some of the emails we send you can tell us when they are opened. "
        "We only do this with your agreement.\n\n"
        "Please tell us your choice here (it takes one click, and you can change it at any time):\n"
        f"{LINK}\n\n"
        "Thank you,\n{sender}",
    ),
    "de": (
        "Dürfen wir sehen, wann Sie unsere E-Mails öffnen?",
        "Hallo {first_name},\n\n"
        "Einige unserer E-Mails können uns zeigen, wann sie geöffnet werden. "
        "Das tun wir nur mit Ihrer Zustimmung.\n\n"
        "Bitte teilen Sie uns hier Ihre Wahl mit (ein Klick, jederzeit änderbar):\n"
        f"{LINK}\n\n"
        "Vielen Dank\n{sender}",
    ),
    "fr": (
        "Pouvons-nous savoir quand vous ouvrez nos e-mails ?",
        "Bonjour {first_name},\n\n"
        "Certains de nos e-mails peuvent nous indiquer quand ils sont ouverts. "
        "Nous ne le faisons qu'avec votre accord.\n\n"
        "Indiquez-nous votre choix ici (un clic, modifiable à tout moment) :\n"
        f"{LINK}\n\n"
        "Merci,\n{sender}",
    ),
}


def default_text(contact: Contact, sender: User) -> tuple[str, str]:
    """The subject and body offered, in the contact's language where the
    public page speaks it."""
    subject, body = DEFAULTS.get(language_of(contact), DEFAULTS["en"])
    return subject, body.format(first_name=contact.first_name, sender=sender.display_name)


def consent_request_send(*, contact: Contact, sender: User, subject: str, body: str) -> Email:
    """Queue the request through the sender's mailbox (emails.services, the
    send task after commit). The caller checked that the sender has a
    mailbox and the contact an address, and that the body holds LINK."""
    with transaction.atomic():
        email = email_create(
            organization=contact.organization,
            sender=sender,
            subject=subject,
            body_text=body.replace(LINK, preference_url(contact.pk)),
            to=[contact.email],
            track=False,
            never_tracked=NotTrackedReason.CONSENT_REQUEST,
        )
        consent_asked(contact=contact, actor=sender)
    return email
