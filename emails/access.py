"""Who may do what with an email inside its organization (the organization
itself is checked first, by the lookup: another organization's email is a
404). Every member may read every teammate's email (onepage.permissions);
only its sender may send it, again or to one recipient, because it goes out
From the sender through the sender's mailbox: nobody sends as someone else,
an admin included."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from onepage.models import User
from onepage.permissions import may_see_teammates_emails

from .models import Email

EVERYONE = "all"


def may_send_as(user: User, email: Email) -> bool:
    return email.sender_id == user.pk


# Retry and Resend both send the email again From its sender.
may_retry = may_send_as
may_resend = may_send_as


def only_the_sender(email: Email, action: str) -> str:
    """The refusal, in words: "Only Ada Admin can retry this email: ..."."""
    return f"Only {email.sender.display_name} can {action} this email: it goes out from their mailbox."


def not_the_sender(request: HttpRequest, email: Email, *, action: str) -> HttpResponse:
    """A teammate's Retry or Resend: a 403 page that says who can; nothing changed."""
    context = {"email": email, "reason": only_the_sender(email, action)}
    return render(request, "emails/sender_only.html", context, status=403)


def teammates(request: HttpRequest) -> list[User] | None:
    """The members whose emails the viewer may pick (None: only their own)."""
    if not may_see_teammates_emails(request.membership):
        return None
    return list(
        User.objects.filter(membership__organization=request.organization).order_by("first_name", "last_name", "pk")
    )


def chosen_sender(request: HttpRequest, members: list[User] | None) -> tuple[User | None, str]:
    """Whose emails a list shows, from `?sender=`: (the sender, or None for
    everyone; the picker's value). The viewer's own by default."""
    raw = request.GET.get("sender", "")
    if members is None or raw in ("", "me", str(request.user.pk)):
        return request.user, ""
    if raw == EVERYONE:
        return None, EVERYONE
    for user in members:
        if str(user.pk) == raw:
            return user, raw
    # Another organization's user, or nobody: never hint which.
    raise Http404("No such teammate.")
