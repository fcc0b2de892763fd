"""The activity feed: the recent opens of people, one line per email and
recipient ("Bea Buyer opened Spring order 3 times, last 10:42"), the line
whose last open is latest first; and a contact's latest open, for the
contacts list (filled into contacts.last_opened from AlertsConfig.ready).

A line by name is a recipient row with a person's opens: its counters
(open_count, last_opened_at: tracking.models.COUNTED) say how many and when,
as the email's page does. Opens counted in an email's total only
(TrackingMode.AGGREGATE) have no recipient: as on the email's page, its
folder row and the daily email, they are not hidden but named nobody's, one
line per email ("Spring order: 2 opens counted in the email's total only").

Fast whatever the organization's size: the emails are walked by their
latest open on an index (email_open_tracking_idx for everyone's,
email_sender_open_idx for one sender's) and only the first `walked` of them
are read. Every line's last open is its email's or earlier, and each email
has a line at its own last open, so the page's lines are among the first
emails walked; should the counters be ahead of the lines (opens being
deleted), more emails are walked and the queries run again. Three queries a
page, whatever the number of opens."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from emails.models import Email, EmailRecipient
from emails.tracking_words import TOTAL_ONLY
from onepage.models import Organization, User
from onepage.paging import Slice
from tracking.models import COUNTED

PER_PAGE = 25
# 5,000 lines: deeper than anyone reads a feed, and a crafted ?page= stays cheap.
MAX_PAGE = 200
# Emails walked beyond the lines a page needs, before walking 4 times more.
SLACK = 10
# The periods offered, in days (None: all the opens kept).
PERIODS = {"7": ("Last 7 days", 7), "30": ("Last 30 days", 30), "all": ("All time", None)}
DEFAULT_PERIOD = "7"
# "2 opens counted in the email's total only": the words of the email's page.
TOTAL_ONLY_WORDS = TOTAL_ONLY.removeprefix("Opens ")


@dataclass(frozen=True)
class Line:
    """One email and recipient (None: the opens in the email's total only):
    how many times, the last one when."""

    email: Email
    recipient: EmailRecipient | None
    count: int
    last: dt.datetime

    @property
    def contact_id(self) -> int | None:
        return self.recipient.contact_id if self.recipient is not None else None

    @property
    def name(self) -> str:
        if self.recipient is None:
            return ""
        contact = self.recipient.contact
        if contact is not None and contact.full_name:
            return contact.full_name
        return self.recipient.address

    @property
    def times(self) -> str:
        if self.recipient is None:
            opens = "1 open" if self.count == 1 else f"{self.count} opens"
            return f"{opens} {TOTAL_ONLY_WORDS}"
        return "once" if self.count == 1 else f"{self.count} times"

    @property
    def today(self) -> bool:
        """Opened last today, in the viewer's time zone: the clock alone says when."""
        return timezone.localdate(self.last) == timezone.localdate()

    def key(self) -> tuple:
        return (self.last, self.email.pk, self.recipient.pk if self.recipient else 0)


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


def _lines(walk: QuerySet[Email], *, since: dt.datetime | None, stop: int) -> list[Line]:
    """The `stop` latest lines of the walked emails: by name (their recipient
    rows), and in the total only (their opens without a recipient)."""
    named = EmailRecipient.objects.filter(email__in=walk, last_opened_at__isnull=False)
    counted = Q(opens__recipient__isnull=True, opens__verdict__in=COUNTED)
    total_only = Email.objects.filter(pk__in=walk).annotate(
        n=Count("opens", filter=counted), last=Max("opens__opened_at", filter=counted)
    )
    total_only = total_only.filter(n__gt=0)
    if since is not None:
        named = named.filter(last_opened_at__gte=since)
        total_only = total_only.filter(last__gte=since)
    named = named.select_related("email", "email__sender", "contact").defer("email__body_text", "email__body_html")
    lines = [Line(r.email, r, r.open_count, r.last_opened_at) for r in named.order_by("-last_opened_at", "-pk")[:stop]]
    total_only = total_only.select_related("sender").defer("body_text", "body_html").order_by("-last")[:stop]
    lines += [Line(e, None, e.n, e.last) for e in total_only]
    return sorted(lines, key=Line.key, reverse=True)[:stop]


def feed_page(
    *, organization: Organization, sender: User | None, since: dt.datetime | None, number: int, per_page: int = PER_PAGE
) -> Slice:
    """Page `number` of the feed (one line more than shown: whether a next page exists)."""
    number = min(number, MAX_PAGE)
    start, stop = (number - 1) * per_page, number * per_page + 1
    emails = opened_emails(organization=organization, sender=sender, since=since)
    walked = stop + SLACK
    while True:
        # The last walked email's last open: no line left out is later.
        edge = list(emails.values_list("last_opened_at", flat=True)[walked - 1 : walked])
        lines = _lines(emails.values("pk")[:walked], since=since, stop=stop)
        if not edge or (len(lines) == stop and lines[-1].last >= edge[0]):
            break
        walked *= 4
    lines = lines[start:]
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
