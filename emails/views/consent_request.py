"""Ask a contact for consent to open tracking (the button on the contact's
page): a confirmation page with the editable text, then the email goes
through the rep's own mailbox (emails.consent_request)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from contacts.models import Contact

from ..consent_request import consent_request_send, default_text
from ..forms import ConsentRequestForm
from ..mailboxes import mailbox_of
from .email import say_send_outcome


@require_http_methods(["GET", "POST"])
def consent_request(request: HttpRequest, contact_pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact.objects.filter(organization=request.organization), pk=contact_pk)
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
    return render(request, "emails/consent_request.html", context, status=status)
