"""/dev/outbox/: what the development mailbox delivered, shown as each
recipient would see it. DEBUG only. Scoped like the folders: the viewer's
own copies by default, a teammate's or everyone's on request
(emails.access), never another organization's (emails.outbox reads the
organization's folder only).

The message page frames the delivered HTML, pixel included, so opening a
message here counts as its recipient opening it: that is the point."""

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_sameorigin

from .. import selectors
from ..access import chosen_sender, teammates
from ..models import Email
from ..outbox import OutboxMessage, outbox_message, outbox_messages, sent_by

MESSAGES_PER_PAGE = 50

# The delivered HTML is someone's email: no scripts, no forms, nothing but
# images (the pixel) and inline styles. The iframe's sandbox says the same.
RAW_CSP = "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; sandbox allow-popups"


def _require_debug() -> None:
    if not settings.DEBUG:
        raise Http404("The development outbox exists only in development.")


def _get_message_for_user(request: HttpRequest, key: str) -> OutboxMessage:
    _require_debug()
    message = outbox_message(request.organization.pk, key)
    if message is None:
        raise Http404("No such message.")
    return message


def outbox_list(request: HttpRequest) -> HttpResponse:
    _require_debug()
    members = teammates(request)
    sender, sender_value = chosen_sender(request, members)
    messages = outbox_messages(request.organization.pk)
    if sender is not None:
        # A copy is its email's sender's; copies of no email only under Everyone.
        ids = {m.email_id for m in messages if m.email_id is not None}
        scope = selectors.emails_in_scope(organization=request.organization, sender=sender)
        messages = sent_by(messages, set(scope.filter(pk__in=ids).values_list("pk", flat=True)))
    page = Paginator(messages, MESSAGES_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "teammates": members,
        "sender": sender,
        "sender_value": sender_value,
        "viewing_own": sender == request.user,
    }
    return render(request, "emails/outbox_list.html", context)


def outbox_detail(request: HttpRequest, key: str) -> HttpResponse:
    message = _get_message_for_user(request, key)
    email = None
    if message.email_id:
        email = Email.objects.filter(organization=request.organization, pk=message.email_id).first()
    return render(
        request,
        "emails/outbox_detail.html",
        {"message": message, "email": email, "text": message.part("text/plain")},
    )


@xframe_options_sameorigin
def outbox_raw(request: HttpRequest, key: str) -> HttpResponse:
    message = _get_message_for_user(request, key)
    response = HttpResponse(message.part("text/html"), content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = RAW_CSP
    response["Cache-Control"] = "no-store"
    return response
