"""A notification in words, for the bell's panel: who ("Bea Buyer", or the
address the rep wrote to), what ("opened", "opened again after 3 days",
"opened 4 more times today"), and, for a followed teammate's email, whose
it was ("sent by Sam Seller")."""

from datetime import date, timedelta

from django.utils import timezone
from django.utils.dateformat import format as date_format

from .models import Notification

Kind = Notification.Kind


def recipient_name(notification: Notification) -> str:
    contact = notification.recipient.contact
    if contact is not None and contact.full_name:
        return contact.full_name
    return notification.recipient.address


def quiet_words(quiet: timedelta) -> str:
    """3 days, 1 day, 26 hours, 1 hour."""
    if quiet.days >= 1:
        return f"{quiet.days} day{'s' if quiet.days != 1 else ''}"
    hours = max(1, int(quiet.total_seconds() // 3600))
    return f"{hours} hour{'s' if hours != 1 else ''}"


def _on(day: date | None) -> str:
    today = timezone.localdate()
    if day is None or day == today:
        return "today"
    if day == today - timedelta(days=1):
        return "yesterday"
    return f"on {date_format(day, 'j M')}"


def kind_words(notification: Notification) -> str:
    if notification.kind == Kind.CAME_BACK and notification.quiet_for is not None:
        return f"opened again after {quiet_words(notification.quiet_for)}"
    if notification.kind == Kind.DIGEST:
        n = notification.count
        more = "once more" if n == 1 else f"{n} more times"
        return f"opened {more} {_on(notification.day)}"
    return "opened"


def sender_words(notification: Notification) -> str:
    """The words "sent by Sam Seller" when the user was told as a follower
    (the email and its sender loaded with the notification); "" for their
    own email."""
    if notification.email.sender.pk == notification.user_id:
        return ""
    return f"sent by {notification.email.sender.display_name}"
