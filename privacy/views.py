"""The pages of a person's rights, for the organization's users: erasing a
contact and exporting its data (admins: onepage.permissions), and asking it for
consent to open tracking through the rep's own mailbox. The recipient's own
page is privacy.public."""

import json

from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from contacts.access import get_contact_for_user
from contacts.models import Contact
from emails.mailboxes import mailbox_of
from emails.views.email import say_send_outcome
from onepage.permissions import admins_only, may_erase_contacts, may_export_contacts

from .consent_request import consent_request_send, default_text
from .erasure import contact_erase, erasure_summary
from .export import contact_export
from .forms import ConsentRequestForm


def _admins_only(request: HttpRequest, contact: Contact, reason: str) -> HttpResponse:
    return admins_only(request, reason=reason, back_url=reverse("contacts:detail", args=[contact.pk]))


@require_http_methods(["GET", "POST"])
def contact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Deleting is erasing: the contact, its activity and consent history,
    its opens, and its address on the emails it received (privacy.erasure).
    Admins only: a rep gets the admins-only page, and nothing is erased."""
    # The contact first: another organization's is a 404, for a rep too.
    contact = get_contact_for_user(request, pk)
    if not may_erase_contacts(request.membership):
        return _admins_only(request, contact, f"Only an admin can erase {contact.full_name}.")
    if request.method == "POST":
        name = contact.full_name
        contact_erase(contact=contact, actor=request.user)
        messages.success(request, f"{name} was deleted and their data erased.")
        return redirect("contacts:list")
    summary = erasure_summary(contact)
    return render(request, "privacy/contact_confirm_delete.html", {"contact": contact, "summary": summary})


@require_GET
def contact_export_download(request: HttpRequest, pk: int) -> HttpResponse:
    """All data held about the contact, as a JSON file (admins only)."""
    contact = get_contact_for_user(request, pk)
    if not may_export_contacts(request.membership):
        return _admins_only(request, contact, f"Only an admin can export {contact.full_name}'s data.")
    document = contact_export(contact)
    response = HttpResponse(
        json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    filename = f"contact-{contact.pk}-{timezone.localdate():%Y-%m-%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store, private"
    return response


@require_http_methods(["GET", "POST"])
def consent_request(request: HttpRequest, contact_pk: int) -> HttpResponse:
    """A confirmation page with the editable text, then the email goes
    through the rep's own mailbox (privacy.consent_request)."""
    contact = get_contact_for_user(request, contact_pk)
    mailbox = mailbox_of(user=request.user, organization=request.organization)
    problem = ""
    if mailbox is None:
        problem = "no_mailbox"
    elif not contact.email:
        problem = "no_address"
    subject, body = default_text(contact, request.user)
    form = ConsentRequestForm(request.POST or None, initial={"subject": subject, "body": body})
    if request.method == "POST" and not problem and form.is_valid():
        email = consent_request_send(
            contact=contact, sender=request.user, subject=form.cleaned_data["subject"], body=form.cleaned_data["body"]
        )
        say_send_outcome(request, email, failed="Sending failed", queued="Consent request queued for sending.")
        return redirect("contacts:detail", pk=contact.pk)
    status = 400 if request.method == "POST" else 200
    context = {"contact": contact, "form": form, "mailbox": mailbox, "problem": problem}
    return render(request, "privacy/consent_request.html", context, status=status)
