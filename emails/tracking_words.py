"""The words for how an email's copies are tracked, from the decisions stored
on it and its recipients (emails.policy made them at send time): the email
page's Tracking row, and the composer's Track line before sending. One set of
words, so that the pages and the composer never disagree."""

from collections.abc import Sequence

from .models import Email, EmailRecipient, NotTrackedReason, TrackingMode

TOTAL_ONLY = "Opens counted in the email's total only"


def mode_counts(modes: Sequence[str]) -> dict[str, int]:
    return {mode: sum(1 for m in modes if m == mode) for mode in TrackingMode.values}


def _recipients(n: int) -> str:
    return "1 recipient" if n == 1 else f"{n} recipients"


def modes_in_words(modes: Sequence[str]) -> str:
    """How copies with these tracking modes are tracked, at least one being
    tracked: "Opens tracked by name", TOTAL_ONLY, or how many of each."""
    counts = mode_counts(modes)
    identified, aggregate, off = (counts[m] for m in TrackingMode.values)
    if not aggregate and not off:
        return "Opens tracked by name"
    if not identified and not off:
        return TOTAL_ONLY
    parts = [f"{_recipients(identified)} by name"] if identified else []
    parts += [f"{aggregate if parts else _recipients(aggregate)} in the email's total only"] if aggregate else []
    parts += [f"{off} not tracked"] if off else []
    return f"Opens tracked: {', '.join(parts)}"


def email_tracking(email: Email, recipients: Sequence[EmailRecipient]) -> str:
    """The email page's Tracking row."""
    if not email.track_opens:
        label = NotTrackedReason.in_sentence(email.not_tracked_reason)
        return f"Not tracked: {label}" if label else "Not tracked"
    # An erased recipient's copy says nothing about how the others are tracked.
    modes = [r.tracking_mode for r in recipients if not r.erased]
    if not any(m != TrackingMode.OFF for m in modes):
        return "Opens tracked"
    return modes_in_words(modes)
