"""A contact's activity timeline: its Email tab (every email to the contact,
from any teammate) and the All tab, which interleaves those emails with the
contact's own activity by time.

Both tabs show the newest `shown` items and cost a fixed number of queries
whatever that number is: emails, their recipients for this contact, the
recent opens of all of them (one window query), and on the All tab the
activities.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from emails import reports
from emails.models import Email, EmailRecipient

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
    email: Email | None = None
    activity: ContactActivity | None = None


def contact_emails(contact: Contact, *, limit: int) -> QuerySet[Email]:
    """The contact's `limit` newest emails in its organization, newest first,
    with the recipient rows of this contact prefetched for the open report.

    created_at is set on insert, so id order is time order: ordering by the
    email id lets the (contact, email) index hand over the newest `limit`
    without sorting every email the contact ever received."""
    newest_ids = (
        EmailRecipient.objects.filter(contact=contact).order_by("-email_id").values("email_id").distinct()[:limit]
    )
    return (
        Email.objects.filter(organization_id=contact.organization_id, pk__in=newest_ids)
        .select_related("sender")
        .prefetch_related(reports.recipients_prefetch(contact_id=contact.pk))
        .order_by("-pk")
    )


def _with_reports(emails: list[Email]) -> list[Email]:
    reports.attach_open_reports(emails, per_contact=True)
    return emails


def email_tab(contact: Contact, *, shown: int) -> tuple[list[Email], bool]:
    emails = list(contact_emails(contact, limit=shown + 1))
    return _with_reports(emails[:shown]), len(emails) > shown


def all_tab(contact: Contact, *, shown: int) -> tuple[list[Item], bool]:
    emails = list(contact_emails(contact, limit=shown + 1))
    activities = list(contact.activities.select_related("actor")[: shown + 1])
    items = [Item(at=e.created_at, email=e) for e in emails] + [Item(at=a.at, activity=a) for a in activities]
    items.sort(key=lambda item: item.at, reverse=True)
    page = items[:shown]
    _with_reports([item.email for item in page if item.email is not None])
    return page, len(items) > shown
