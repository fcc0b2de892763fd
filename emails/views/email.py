"""The page of one email, its Retry button, and resending a copy whose
delivery is uncertain. Every member sees the page; only the sender retries
or resends (emails.access)."""

from django.conf import settings
from django.contrib import messages
from django.db.models import BooleanField, ExpressionWrapper
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from ..access import may_resend, may_retry, not_the_sender
from ..models import Email, retryable
from ..outbox import outbox_holds
from ..rendering import body_to_html
from ..reports import attach_open_reports
from ..services import email_retry, recipient_resend
from ..tracking_words import email_tracking


def _get_email_for_user(request: HttpRequest, pk: int, *, with_retry: bool = False) -> Email:
    # Another organization's email is a 404, never a hint that it exists.
    emails = Email.objects.filter(organization=request.organization).select_related("sender")
    if with_retry:
        # The Retry button follows the retry's own rule, read in the same query.
        emails = emails.annotate(can_retry=ExpressionWrapper(retryable(), output_field=BooleanField()))
    return get_object_or_404(emails, pk=pk)


def say_send_outcome(request: HttpRequest, email: Email, *, failed: str, queued: str) -> None:
    """Tell the user how the send went. With eager tasks (the embedded
    default) it already happened; otherwise it is queued."""
    email.refresh_from_db(fields=["status", "error"])
    if email.status == Email.Status.SENT:
        messages.success(request, "Sent.")
    elif email.status == Email.Status.FAILED:
        messages.error(request, f"{failed}: {email.error}")
    else:
        messages.success(request, queued)


def email_detail(request: HttpRequest, pk: int) -> HttpResponse:
    email = _get_email_for_user(request, pk, with_retry=True)
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
            "tracking": email_tracking(email, email.report_recipients),
            # Only a delivered email has copies in the development outbox.
            "dev_outbox": settings.DEBUG and outbox_holds(email.organization_id, email.pk),
            "can_retry": email.can_retry,
            "may_retry": may_retry(request.user, email),
            "uncertain": [r for r in email.report_recipients if r.delivery_uncertain],
            # A copy is resent by a send of its email: not while one is queued or running.
            "can_resend": email.status in (Email.Status.SENT, Email.Status.FAILED),
            "may_resend": may_resend(request.user, email),
        },
    )


@require_GET
def email_open_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The open report of one email alone: what the folders' eye and the
    timeline's "Open report" load (htmx) when opened, instead of rendering
    every row's report with the page. With `?contact=`, the contact's own
    report, as their timeline shows it."""
    email = _get_email_for_user(request, pk)
    raw = request.GET.get("contact")
    if raw is not None:
        if not (raw.isascii() and raw.isdigit()):
            raise Http404("No such contact.")
        # Another organization's contact, or one not on this email: a 404.
        email.report_recipients = list(
            email.recipients.filter(contact_id=int(raw), contact__organization=request.organization)
            .select_related("contact")
            .order_by("pk")
        )
        if not email.report_recipients:
            raise Http404("No such contact on this email.")
        attach_open_reports([email], per_contact=True)
    return render(request, "tracking/includes/open_report.html", {"email": email})


@require_POST
def email_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    email = _get_email_for_user(request, pk)
    if not may_retry(request.user, email):
        return not_the_sender(request, email, action="retry")
    if email_retry(email=email):
        say_send_outcome(request, email, failed="Sending failed again", queued="Queued for sending again.")
    else:
        messages.info(request, "Only an email that failed, or whose sending was interrupted, can be retried.")
    return redirect("emails:detail", pk=email.pk)


@require_POST
def recipient_resend_view(request: HttpRequest, pk: int, recipient_pk: int) -> HttpResponse:
    email = _get_email_for_user(request, pk)
    # Scoped to the email, itself scoped to the organization: another
    # organization's recipient is a 404 like its email.
    recipient = get_object_or_404(email.recipients, pk=recipient_pk)
    if not may_resend(request.user, email):
        return not_the_sender(request, email, action="resend")
    if recipient_resend(email=email, recipient_id=recipient.pk):
        say_send_outcome(request, email, failed="Sending failed", queued=f"Resending to {recipient.address}.")
    else:
        messages.info(request, "Only a copy whose delivery is uncertain can be resent, once the email is not sending.")
    return redirect("emails:detail", pk=email.pk)
