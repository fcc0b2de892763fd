"""The bell: the unread count (polled every 5 s by the top bar, or pushed
to it by alerts.live through alerts.stream_views), the panel of the latest
notifications, marking them read, and muting an email.

Every lookup is the viewer's own: another user's notification (a
colleague's, another organization's) is a 404, and only those told of an
email's opens mute it (its sender, an admin following the sender); anyone
else's email, another organization's, is a 404 here too."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from emails.models import Email

from . import live
from .browser import fresh_for_the_browser
from .models import EmailMute, Notification
from .muting import may_mute
from .words import kind_words, recipient_name, sender_words

PANEL_SIZE = 10


def unread_count(request: HttpRequest) -> int:
    """One COUNT on the unread index (notification_unread_idx)."""
    return Notification.objects.filter(user=request.user, read_at__isnull=True).count()


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _panel_context(request: HttpRequest) -> dict:
    """The latest notifications with their email and recipient (one query),
    and which of their emails are muted (one query)."""
    latest = list(
        Notification.objects.filter(user=request.user)
        .select_related("email__sender", "recipient__contact")
        .order_by("-last_opened_at", "-pk")[:PANEL_SIZE]
    )
    muted = set()
    if latest:
        muted = set(
            EmailMute.objects.filter(user=request.user, email_id__in={n.email_id for n in latest}).values_list(
                "email_id", flat=True
            )
        )
    items = [
        {
            "n": n,
            "who": recipient_name(n),
            "what": kind_words(n),
            "whose": sender_words(n),
            "muted": n.email_id in muted,
        }
        for n in latest
    ]
    return {"items": items, "any_unread": any(n.read_at is None for n in latest)}


@require_GET
def count(request: HttpRequest) -> HttpResponse:
    """The bell's count; with ?browser=1 (sent by the page's script only
    where the browser allows notifications), also what to show there."""
    context = {"unread": unread_count(request)}
    if request.GET.get("browser") == "1":
        context["fresh"] = fresh_for_the_browser([request.user.pk]).get(request.user.pk, [])
    return render(request, "alerts/count.html", context)


@require_GET
def panel(request: HttpRequest) -> HttpResponse:
    template = "alerts/panel.html" if _is_htmx(request) else "alerts/panel_page.html"
    return render(request, template, _panel_context(request))


@require_GET
def open_notification(request: HttpRequest, pk: int) -> HttpResponse:
    """The notification's link: mark it read, then show its email."""
    notification = get_object_or_404(Notification, pk=pk, user=request.user, organization=request.organization)
    if notification.read_at is None:
        Notification.objects.filter(pk=notification.pk).update(read_at=timezone.now())
        live.publish_counts([request.user.pk])
    return redirect("emails:detail", pk=notification.email_id)


@require_POST
def read_all(request: HttpRequest) -> HttpResponse:
    if Notification.objects.filter(user=request.user, read_at__isnull=True).update(read_at=timezone.now()):
        live.publish_counts([request.user.pk])
    if _is_htmx(request):
        # The panel again, and the count (now none) out of band.
        return render(request, "alerts/panel.html", {**_panel_context(request), "count_oob": True})
    return redirect("alerts:panel")


@require_POST
def mute(request: HttpRequest, pk: int) -> HttpResponse:
    """Mute (action=mute) or unmute (action=unmute) the alerts of an email
    the viewer is told of (their own, a followed teammate's)."""
    email = get_object_or_404(Email, pk=pk, organization=request.organization)
    if not may_mute(request.user, request.membership, email):
        raise Http404("No such email of yours.")
    action = request.POST.get("action")
    if action == "mute":
        EmailMute.objects.get_or_create(user=request.user, email=email)
        said = "Alerts muted for this email: you will not be told of its opens."
    elif action == "unmute":
        EmailMute.objects.filter(user=request.user, email=email).delete()
        said = "Alerts on for this email again."
    else:
        return HttpResponseBadRequest("Say mute or unmute.", content_type="text/plain")
    if _is_htmx(request):
        return render(request, "alerts/panel.html", _panel_context(request))
    messages.success(request, said)
    return redirect(reverse("emails:detail", args=[email.pk]))
