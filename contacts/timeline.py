"""A contact's activity timeline: its Email tab (every email to the contact,
from any teammate) and the All tab, which interleaves those emails with the
contact's own activity by time.

Both tabs show the newest `shown` items and cost a fixed number of queries
whatever that number is: emails, their recipients for this contact, and on
the All tab the activities. Each email's open report (its recent opens) loads
when it is opened (emails:open_report), not with the page.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from emails import selectors

from .models import Contact, ContactActivity

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
    # An Email of emails.selectors.contact_emails, with its open report.
    email: Any = None
    activity: ContactActivity | None = None


def email_tab(contact: Contact, *, shown: int) -> tuple[list[Any], bool]:
    emails = selectors.contact_emails(contact, limit=shown + 1)
    page = emails[:shown]
    selectors.attach_contact_reports(page, recent=False)
    return page, len(emails) > shown


def all_tab(contact: Contact, *, shown: int) -> tuple[list[Item], bool]:
    emails = selectors.contact_emails(contact, limit=shown + 1)
    activities = list(contact.activities.select_related("actor")[: shown + 1])
    items = [Item(at=e.created_at, email=e) for e in emails] + [Item(at=a.at, activity=a) for a in activities]
    items.sort(key=lambda item: item.at, reverse=True)
    page = items[:shown]
    selectors.attach_contact_reports([item.email for item in page if item.email is not None], recent=False)
    return page, len(items) > shown
