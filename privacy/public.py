"""The recipient's page to refuse (or allow) open tracking, reached from the
link in the footer of a tracked email (contacts.links). No login: the signed
token is the key. Viewing it changes nothing (link scanners fetch links);
the choice is a POST, and a choice already in force is not recorded again,
so a replayed request changes nothing."""

import logging

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from contacts.consent import consent_change
from contacts.links import read_token
from contacts.models import ConsentRecord, Contact

logger = logging.getLogger(__name__)

OpenTracking = Contact.OpenTracking
CHOICES = (OpenTracking.REFUSED, OpenTracking.ALLOWED)

# The page's words, in the recipient's language where their country says it.
WORDS = {
    "en": {
        "title": "Email open tracking",
        "sender": "The emails of {organization}",
        "question": "May we see when you open the emails we send you?",
        "refuse": "No, do not track my opens",
        "allow": "Yes, you may track my opens",
        "refused": "Done: your opens are no longer tracked.",
        "allowed": "Done: your opens may be tracked.",
        "current_refused": "Your choice now: not tracked.",
        "current_allowed": "Your choice now: tracked.",
        "current_not_asked": "You have not chosen yet.",
        "failed": "Sorry: your choice could not be saved just now, and nothing was changed. "
        "Please choose again in a few minutes.",
    },
    "de": {
        "title": "Öffnungsverfolgung von E-Mails",
        "sender": "Die E-Mails von {organization}",
        "question": "Dürfen wir sehen, wann Sie unsere E-Mails öffnen?",
        "refuse": "Nein, meine Öffnungen nicht erfassen",
        "allow": "Ja, meine Öffnungen dürfen erfasst werden",
        "refused": "Erledigt: Ihre Öffnungen werden nicht mehr erfasst.",
        "allowed": "Erledigt: Ihre Öffnungen dürfen erfasst werden.",
        "current_refused": "Ihre Wahl: nicht erfasst.",
        "current_allowed": "Ihre Wahl: erfasst.",
        "current_not_asked": "Sie haben noch nicht gewählt.",
        "failed": "Entschuldigung: Ihre Wahl konnte gerade nicht gespeichert werden, es wurde nichts geändert. "
        "Bitte wählen Sie in ein paar Minuten erneut.",
    },
    "fr": {
        "title": "Suivi de l'ouverture des e-mails",
        "sender": "Les e-mails de {organization}",
        "question": "Pouvons-nous savoir quand vous ouvrez nos e-mails ?",
        "refuse": "Non, ne suivez pas mes ouvertures",
        "allow": "Oui, vous pouvez suivre mes ouvertures",
        "refused": "C'est fait : vos ouvertures ne sont plus suivies.",
        "allowed": "C'est fait : vos ouvertures peuvent être suivies.",
        "current_refused": "Votre choix : pas de suivi.",
        "current_allowed": "Votre choix : suivi.",
        "current_not_asked": "Vous n'avez pas encore choisi.",
        "failed": "Désolés : votre choix n'a pas pu être enregistré pour le moment, rien n'a changé. "
        "Veuillez choisir à nouveau dans quelques minutes.",
    },
}
LANGUAGE_OF_COUNTRY = {"DE": "de", "AT": "de", "CH": "de", "LI": "de", "FR": "fr", "BE": "fr", "LU": "fr", "MC": "fr"}


def language_of(contact: Contact) -> str:
    """The language of the recipient's page (and of the consent request)."""
    return LANGUAGE_OF_COUNTRY.get(contact.country.code or "", "en")


@login_not_required
@require_http_methods(["GET", "POST"])
def preference(request: HttpRequest, token: str) -> HttpResponse:
    contact_id = read_token(token)
    if contact_id is None:
        # Before any query: a forged link costs the signature check only.
        return HttpResponse("Not found", status=404, content_type="text/plain")
    try:
        contact = Contact.objects.select_related("organization").filter(pk=contact_id).first()
    except DatabaseError:
        logger.exception("The preference page of contact %s could not read the database", contact_id)
        return _unavailable(request, "en")
    if contact is None:
        return HttpResponse("Not found", status=404, content_type="text/plain")
    language = language_of(contact)
    words = WORDS[language]
    done = ""
    if request.method == "POST":
        choice = request.POST.get("choice", "")
        if choice not in CHOICES:
            return HttpResponse("Bad request", status=400, content_type="text/plain")
        try:
            consent_change(
                contact_id=contact.pk,
                new=choice,
                method=ConsentRecord.Method.LINK,
                by_recipient=True,
                wording=f"{words['question']} [{words['refuse']}] [{words['allow']}] ({language})",
            )
            contact.refresh_from_db(fields=["open_tracking"])
        except DatabaseError:
            # Rolled back whole: no half-made choice. Say so, and offer the
            # buttons again, rather than a 500 the recipient may take for done.
            logger.exception("The choice %s of contact %s through their link could not be saved", choice, contact.pk)
            return _unavailable(request, language, current=words[f"current_{contact.open_tracking}"])
        done = words[choice]
    context = {
        "words": words,
        "language": language,
        "sender": words["sender"].format(organization=contact.organization.name),
        "done": done,
        "current": words[f"current_{contact.open_tracking}"],
    }
    return render(request, "privacy/public_preference.html", context)


def _unavailable(request: HttpRequest, language: str, *, current: str = "") -> HttpResponse:
    words = WORDS[language]
    context = {"words": words, "language": language, "failed": words["failed"], "current": current}
    response = render(request, "privacy/public_preference.html", context, status=503)
    response["Retry-After"] = "120"
    return response
