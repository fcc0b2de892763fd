"""A contact's activity timeline: its Email tab (every email to the contact,
from any teammate) and the All tab, which interleaves those emails with the
contact's own activity by time.

Both tabs show the newest `shown` items and cost a fixed number of queries
whatever that number is: emails, their recipients for this contact, and on
the All tab the activities. Each email's open report (its recent opens) loads
when it is opened (emails:open_report), not with the page.

The emails come from emails, which sits above contacts: EmailsConfig.ready
provides them (`provide_emails`), the way each app plugs its checks into
onepage.health.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .models import Contact, ContactActivity

# (contact, *, limit) -> its `limit` newest emails, newest first, each with
# its open report as this contact's.
EmailLoader = Callable[..., list[Any]]
_emails: list[EmailLoader] = []


def provide_emails(load: EmailLoader) -> None:
    _emails[:] = [load]


def _contact_emails(contact: Contact, *, limit: int) -> list[Any]:
    (load,) = _emails
    return load(contact, limit=limit)


STEP = 20
MAX_SHOWN = 500


def shown_count(raw: str | None) -> int:
    """How many items to show: a multiple of STEP, grown by "Show more"."""
    try:
        shown = int(raw or STEP)
    except ValueError:
        return STEP
    return min(max(STEP, shown - shown % STEP), MAX_SHOWN)


@dataclass(frozen=True)
class Item:
    at: dt.datetime
    # An Email (provide_emails), with its open report.
    email: Any = None
    activity: ContactActivity | None = None


def email_tab(contact: Contact, *, shown: int) -> tuple[list[Any], bool]:
    emails = _contact_emails(contact, limit=shown + 1)
    return emails[:shown], len(emails) > shown


def all_tab(contact: Contact, *, shown: int) -> tuple[list[Item], bool]:
    emails = _contact_emails(contact, limit=shown + 1)
    activities = list(contact.activities.select_related("actor")[: shown + 1])
    items = [Item(at=e.created_at, email=e) for e in emails] + [Item(at=a.at, activity=a) for a in activities]
    items.sort(key=lambda item: item.at, reverse=True)
    return items[:shown], len(items) > shown
