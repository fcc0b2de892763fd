"""The words of the open reports and of the eye icon: how many opens to
show (people's, or every fetch when the organization counts automatic ones),
what the eye's tooltip says, and the kinds of automatic fetches in words."""

from typing import Any

from emails.models import Email, NotTrackedReason
from emails.tracking_words import TOTAL_ONLY

from .models import AUTOMATIC_BITS, Verdict

PRIVACY_ONLY = "Apple Mail privacy protection: opens cannot be known"
# The kinds of automatic fetches, in the words of the tooltip.
AUTOMATIC_WORDS = {
    Verdict.PRIVACY_PREFETCH: "Apple Mail privacy protection",
    Verdict.SCANNER: "security scanner",
    Verdict.EARLY: "fetched on delivery",
    Verdict.REPEAT: "loaded again within seconds",
    Verdict.SELF: "your team's own browser",
}


def automatic_kinds(bits: int) -> list[str]:
    """The words of the kinds in a counter's automatic_kinds."""
    return [AUTOMATIC_WORDS[verdict] for verdict, bit in AUTOMATIC_BITS.items() if bits & bit]


def automatic_title(item: Any) -> str:
    """The tooltip of "+3 automatic fetches": which kinds they were."""
    kinds = automatic_kinds(getattr(item, "automatic_kinds", 0) or 0)
    return f"Not counted as opens: {', '.join(kinds)}" if kinds else ""


def automatic_fetches(count: int) -> str:
    return "1 automatic fetch" if count == 1 else f"{count} automatic fetches"


def counted(open_count: int, automatic_count: int, *, count_machine_opens: bool) -> int:
    """The one rule of the count a report and its eye show: people's opens,
    or every fetch when the organization counts automatic ones
    (EmailConfiguration.count_machine_opens)."""
    return open_count + automatic_count if count_machine_opens else open_count


def privacy_only(item: Any) -> bool:
    """Fetched only by Apple Mail Privacy Protection: whether the person read
    it cannot be known."""
    bits = getattr(item, "automatic_kinds", 0) or 0
    return not getattr(item, "open_count", 0) and bits == AUTOMATIC_BITS[Verdict.PRIVACY_PREFETCH]


def eye_count(item: Any) -> int:
    """The count the eye shows: a summary's shown_count (the report's own),
    else people's opens."""
    count = getattr(item, "shown_count", None)
    return count if count is not None else getattr(item, "open_count", 0) or 0


def _total_only(item: Any) -> bool:
    """Tracked in aggregate only, said of a recipient or a contact's summary
    (an email's own summary counts its total: it says "Opened once")."""
    return getattr(item, "aggregate_only", False) and getattr(item, "per_contact", True)


def eye_state(item: Any) -> str:
    """The eye's look: open with a count; "total" for a contact whose opens
    count in the email's total only (neither opened nor not by name); or
    crossed out (not tracked, or not opened)."""
    if eye_count(item):
        return "open"
    if _total_only(item) and getattr(item, "track_opens", False):
        return "total"
    return "off"


def eye_label(item: Any) -> str:
    """A few words beside an eye that shows no count (its title, when short;
    the reason, too long for beside it, is eye_explained's line)."""
    if eye_state(item) == "total":
        return "Total only"
    if not getattr(item, "track_opens", False) and getattr(item, "source", "") != Email.Source.CLIENT:
        return "Not tracked"
    return eye_title(item)


def eye_explained(item: Any) -> bool:
    """Whether an eye without a count has a reason worth a line of its own:
    counted in the total only, or not tracked for a reason."""
    return not eye_count(item) and eye_label(item) != eye_title(item)


def eye_title(item: Any) -> str:
    """The eye icon's tooltip. `item` is an Email, an EmailRecipient or an
    OpenSummary: anything with the counters and track_opens."""
    count = eye_count(item)
    if count:
        if getattr(item, "aggregate_only", False) and not _total_only(item):
            return f"{opened_times(count)} ({TOTAL_ONLY[0].lower()}{TOTAL_ONLY[1:]})"
        return opened_times(count)
    if privacy_only(item):
        return PRIVACY_ONLY
    if getattr(item, "source", "") == Email.Source.CLIENT:
        return NotTrackedReason.CLIENT.label
    if not getattr(item, "track_opens", False):
        reason = getattr(item, "not_tracked_reason", "")
        label = NotTrackedReason.in_sentence(reason)
        return f"Not tracked: {label}" if label else "Not tracked"
    status = getattr(item, "status", Email.Status.SENT)
    if status == Email.Status.FAILED:
        return "Not sent"
    if status in (Email.Status.QUEUED, Email.Status.SENDING):
        return "Not sent yet"
    if _total_only(item):
        total = getattr(item, "email_total", 0)
        return f"{TOTAL_ONLY}: {opened_times(total).lower()} in total" if total else TOTAL_ONLY
    return "Not opened yet"


def opened_times(count: int) -> str:
    return "Opened once" if count == 1 else f"Opened {count} times"
