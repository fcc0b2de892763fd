"""The composer: writing an email to one or more people."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from contacts.access import get_contact_for_user
from onepage.permissions import may_change_settings

from .. import policy
from ..forms.compose import ComposeForm, addresses_typed
from ..mailboxes import mailbox_of
from ..models import EmailConfiguration, NotTrackedReason
from ..preview import Preview, preview
from ..services import email_create
from .email import say_send_outcome
from .mailbox import mailbox_required_redirect


@require_http_methods(["GET", "POST"])
def compose(request: HttpRequest) -> HttpResponse:
    mailbox = mailbox_of(user=request.user, organization=request.organization)
    if mailbox is None:
        return mailbox_required_redirect(request, next_url=request.get_full_path())
    contact = get_contact_for_user(request, request.GET["contact"]) if request.GET.get("contact") else None

    # The toggle shows what the policy allows for this sender; the policy
    # decides again on save and at send time, whatever the form says.
    config = EmailConfiguration.objects.of(request.organization)
    decision = policy.sender_decision(organization=request.organization, sender=request.user, config=config)
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
        say_send_outcome(request, email, failed="Sending failed", queued="Queued for sending.")
        return redirect("emails:detail", pk=email.pk)

    return render(
        request,
        "emails/compose.html",
        {
            "form": form,
            "mailbox": mailbox,
            "contact": contact,
            "decision": decision,
            "preview": _preview(request, config, request.POST if form.is_bound else form.initial),
            "plan_has_tracking": decision.reason != NotTrackedReason.PLAN,
            "back_url": reverse("contacts:detail", args=[contact.pk]) if contact else reverse("emails:index"),
        },
    )


@require_POST
def compose_preview(request: HttpRequest) -> HttpResponse:
    """The composer's tracking preview for what is typed so far (htmx, as the
    rep types): per recipient, tracked by name, in the total only or not."""
    config = EmailConfiguration.objects.of(request.organization)
    return render(request, "emails/includes/track_preview.html", {"preview": _preview(request, config, request.POST)})


def _preview(request: HttpRequest, config: EmailConfiguration, data) -> Preview:
    # The toggle is on until the rep switches it off (an unchecked box is absent).
    toggle = data.get("track") is not None if data is request.POST else True
    return preview(
        organization=request.organization,
        sender=request.user,
        config=config,
        addresses=addresses_typed(data),
        toggle=toggle,
        admin=may_change_settings(request.membership),
    )
