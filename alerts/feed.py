"""The activity feed: the recent opens of people, one line per email and
recipient ("Bea Buyer opened Spring order 3 times, last 10:42"), the line
whose last open is latest first; and a contact's latest open, for the
contacts list (filled into contacts.listing from AlertsConfig.ready).

A line is a recipient row with opens by name: its counters (open_count,
last_opened_at: tracking.models.COUNTED, a person's opens) say how many and
when. Opens counted in an email's total only (TrackingMode.AGGREGATE) have
no recipient: the feed, like the bell, lists opens by name only; the Open
tracking folder and the email's page count them in its total.

Fast whatever the organization's size: the emails are walked by their
latest open on an index (email_open_tracking_idx for everyone's,
email_sender_open_idx for one sender's) and only the first `walked` of them
are read with their recipients. A recipient's last open is never later than
its email's, so every line as late as the last walked email's last open is
in its place (lines opened in the very same microsecond may swap); when the
page needs lines past that (a deep page, emails opened in their total
only), more emails are walked and the query runs again. Two queries a page,
whatever the number of opens."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from emails.models import Email, EmailRecipient
from onepage.models import Organization, User
from onepage.paging import Slice

PER_PAGE = 25
# 5,000 lines: deeper than anyone reads a feed, and a crafted ?page= stays cheap.
MAX_PAGE = 200
# Emails walked first: this many per line a page needs (an email's last
# open may be a total-only one, later than its lines), then 4 times more.
WALK_PER_LINE = 4
# The periods offered, in days (None: all the opens kept).
PERIODS = {"7": ("Last 7 days", 7), "30": ("Last 30 days", 30), "all": ("All time", None)}
DEFAULT_PERIOD = "7"


@dataclass(frozen=True)
class Line:
    """One email and recipient: who, how many times, the last one when."""

    recipient: EmailRecipient

    @property
    def email(self) -> Email:
        return self.recipient.email

    @property
    def contact_id(self) -> int | None:
        return self.recipient.contact_id

    @property
    def name(self) -> str:
        contact = self.recipient.contact
        if contact is not None and contact.full_name:
            return contact.full_name
        return self.recipient.address

    @property
    def times(self) -> str:
        count = self.recipient.open_count
        return "once" if count == 1 else f"{count} times"

    @property
    def last(self) -> dt.datetime:
        return self.recipient.last_opened_at

    @property
    def today(self) -> bool:
        """Opened last today, in the viewer's time zone: the clock alone says when."""
        return timezone.localdate(self.last) == timezone.localdate()


def since_of(period: str, *, now: dt.datetime | None = None) -> dt.datetime | None:
    days = PERIODS[period][1]
    return None if days is None else (now or timezone.now()) - dt.timedelta(days=days)


def opened_emails(*, organization: Organization, sender: User | None, since: dt.datetime | None) -> QuerySet[Email]:
    """The emails with a person's open, the latest opened first."""
    emails = Email.objects.filter(organization=organization, last_opened_at__isnull=False)
    if sender is not None:
        emails = emails.filter(sender=sender)
    if since is not None:
        emails = emails.filter(last_opened_at__gte=since)
    return emails.order_by("-last_opened_at", "-pk")


def _lines(emails: QuerySet[Email], *, walked: int, since: dt.datetime | None, start: int, stop: int) -> list[Line]:
    rows = EmailRecipient.objects.filter(email__in=emails.values("pk")[:walked], last_opened_at__isnull=False)
    if since is not None:
        rows = rows.filter(last_opened_at__gte=since)
    rows = (
        rows.select_related("email", "email__sender", "contact")
        .defer("email__body_text", "email__body_html")
        .order_by("-last_opened_at", "-pk")
    )
    return [Line(r) for r in rows[start:stop]]


def feed_page(
    *, organization: Organization, sender: User | None, since: dt.datetime | None, number: int, per_page: int = PER_PAGE
) -> Slice:
    """Page `number` of the feed (one line more than shown: whether a next page exists)."""
    number = min(number, MAX_PAGE)
    start, stop = (number - 1) * per_page, number * per_page + 1
    emails = opened_emails(organization=organization, sender=sender, since=since)
    walked = stop * WALK_PER_LINE
    while True:
        # The last walked email's last open: no line left out is later.
        edge = list(emails.values_list("last_opened_at", flat=True)[walked - 1 : walked])
        lines = _lines(emails, walked=walked, since=since, start=start, stop=stop)
        if not edge or (len(lines) == stop - start and lines[-1].last >= edge[0]):
            break
        walked *= 4
    return Slice(object_list=lines[:per_page], number=number, per_page=per_page, has_next=len(lines) > per_page)


def with_last_opened(contacts: QuerySet) -> QuerySet:
    """Contacts with `last_opened_at`: their latest open by name over every
    email (None when never opened, or opened in an email's total only),
    one index probe each (recipient_contact_open_idx)."""
    latest = (
        EmailRecipient.objects.filter(contact=OuterRef("pk"), last_opened_at__isnull=False)
        .order_by("-last_opened_at")
        .values("last_opened_at")[:1]
    )
    return contacts.annotate(last_opened_at=Subquery(latest))
