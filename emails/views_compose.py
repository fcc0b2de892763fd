"""Writing an email, and the page of one sent email."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from contacts.models import Contact
from tracking import policy

from .forms import ComposeForm
from .models import Email, Mailbox
from .rendering import body_to_html
from .services import email_can_retry, email_create, email_retry
from .views_mailbox import mailbox_required_redirect


def _get_email_for_user(request: HttpRequest, pk: int) -> Email:
    # Another organization's email is a 404, never a hint that it exists.
    emails = Email.objects.filter(organization=request.organization).select_related("sender")
    return get_object_or_404(emails, pk=pk)


def _get_contact_for_user(request: HttpRequest, raw_pk: str) -> Contact:
    if not raw_pk.isdigit():
        raise Http404("No such contact.")
    return get_object_or_404(Contact.objects.filter(organization=request.organization), pk=int(raw_pk))


@require_http_methods(["GET", "POST"])
def compose(request: HttpRequest) -> HttpResponse:
    mailbox = Mailbox.objects.filter(user=request.user, organization=request.organization).first()
    if mailbox is None:
        return mailbox_required_redirect(request, next_url=request.get_full_path())
    contact = _get_contact_for_user(request, request.GET["contact"]) if request.GET.get("contact") else None

    # The toggle shows what the policy allows for this sender; the policy
    # decides again on save and at send time, whatever the form says.
    decision = policy.sender_decision(
        organization=request.organization, sender=request.user, config=request.email_config
    )
    initial = {"to": contact.email} if contact and contact.email else {}
    form = ComposeForm(request.POST or None, initial=initial)
    if not decision.track:
        # Nothing to switch: the form ignores whatever a crafted POST says.
        form.fields["track"].disabled = True
        form.fields["track"].initial = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        email = email_create(
            organization=request.organization,
            sender=request.user,
            subject=data["subject"],
            body_text=data["body"],
            to=data["to"],
            cc=data["cc"],
            bcc=data["bcc"],
            track=data["track"],
        )
        _say_outcome(request, email, failed="Sending failed", queued="Queued for sending.")
        return redirect("emails:detail", pk=email.pk)

    contact_decision = None
    if contact is not None and decision.track:
        contact_decision = policy.contact_decision(contact=contact, config=request.email_config)
    return render(
        request,
        "emails/compose.html",
        {
            "form": form,
            "mailbox": mailbox,
            "contact": contact,
            "decision": decision,
            "contact_decision": contact_decision,
            "plan_has_tracking": decision.reason != policy.Reason.PLAN,
            "back_url": reverse("contacts:detail", args=[contact.pk]) if contact else reverse("emails:index"),
        },
    )


def _say_outcome(request: HttpRequest, email: Email, *, failed: str, queued: str) -> None:
    # With eager tasks (the embedded default) the send already happened.
    email.refresh_from_db(fields=["status", "error"])
    if email.status == Email.Status.SENT:
        messages.success(request, "Sent.")
    elif email.status == Email.Status.FAILED:
        messages.error(request, f"{failed}: {email.error}")
    else:
        messages.success(request, queued)


def email_detail(request: HttpRequest, pk: int) -> HttpResponse:
    email = _get_email_for_user(request, pk)
    # Loaded once, for the details and for the open report.
    email.report_recipients = list(email.recipients.select_related("contact").order_by("pk"))
    return render(
        request,
        "emails/email_detail.html",
        {
            "email": email,
            "recipients": email.report_recipients,
            # Built from the text, as everywhere in the CRM: never the sent
            # HTML, which may carry a pixel.
            "body_html": body_to_html(email.body_text),
            "not_tracked_label": policy.reason_label(email.not_tracked_reason),
            "dev_outbox": settings.DEBUG,
            "can_retry": email_can_retry(email=email),
        },
    )


@require_POST
def email_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    email = _get_email_for_user(request, pk)
    if email_retry(email=email):
        _say_outcome(request, email, failed="Sending failed again", queued="Queued for sending again.")
    else:
        messages.info(request, "Only an email that failed, or whose sending was interrupted, can be retried.")
    return redirect("emails:detail", pk=email.pk)
