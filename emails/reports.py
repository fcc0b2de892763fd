"""Open reports: the queries behind the Email page folders, the contact
timeline's Email tab and the open report panel.

Every list reads the denormalized counters on Email/EmailRecipient; the 10
most recent opens of a whole page of emails come in one query
(`attach_open_reports`), never one per email or recipient.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from onepage.models import Organization, User
from tracking.models import OpenEvent
from tracking.policy import Reason, reason_label

from .models import Email, EmailRecipient

RECENT_OPENS_SHOWN = 10


class Folder(models.TextChoices):
    SENT = "sent", "Sent"
    OPEN_TRACKING = "open-tracking", "Open tracking"
    FAILED = "failed", "Failed"
    QUEUED = "queued", "Queued"


@dataclass(frozen=True)
class OpenFilters:
    """The Open tracking folder's filters, already validated."""

    opened: str = ""  # "", "today" or "week"
    more_than: int | None = None

    @property
    def active(self) -> bool:
        return bool(self.opened or self.more_than is not None)


def emails_in_scope(*, organization: Organization, sender: User | None) -> QuerySet[Email]:
    """The organization's emails, of one sender or (sender=None) of everyone."""
    emails = Email.objects.filter(organization=organization)
    if sender is not None:
        emails = emails.filter(sender=sender)
    return emails


def folder_emails(scope: QuerySet[Email], folder: str) -> QuerySet[Email]:
    if folder == Folder.OPEN_TRACKING:
        # The condition repeats the partial index's, so the planner can walk
        # email_open_tracking_idx in order and stop after one page.
        return scope.filter(track_opens=True, last_opened_at__isnull=False).order_by("-last_opened_at", "-pk")
    if folder == Folder.FAILED:
        return scope.filter(status=Email.Status.FAILED).order_by("-created_at", "-pk")
    if folder == Folder.QUEUED:
        return scope.filter(status__in=[Email.Status.QUEUED, Email.Status.SENDING]).order_by("-created_at", "-pk")
    return scope.filter(status=Email.Status.SENT).order_by("-created_at", "-pk")


def folder_badges(scope: QuerySet[Email]) -> dict[str, int]:
    """How many emails are failed and queued (the Queued folder is only shown
    while it holds something). One query on the status index; the big
    folders are not counted, so the side menu costs the same at any size."""
    counts: dict[str, int] = defaultdict(int)
    rows = (
        scope.filter(status__in=[Email.Status.FAILED, Email.Status.QUEUED, Email.Status.SENDING])
        .order_by()
        .values("status")
        .annotate(n=Count("pk"))
    )
    for row in rows:
        folder = Folder.FAILED if row["status"] == Email.Status.FAILED else Folder.QUEUED
        counts[folder] += row["n"]
    return dict(counts)


def search_emails(emails: QuerySet[Email], q: str) -> QuerySet[Email]:
    """Every word must match the subject or one recipient's address or
    contact name."""
    for word in q.split():
        recipient_matches = EmailRecipient.objects.filter(email=OuterRef("pk")).filter(
            Q(address__icontains=word) | Q(contact__first_name__icontains=word) | Q(contact__last_name__icontains=word)
        )
        emails = emails.filter(Q(subject__icontains=word) | Exists(recipient_matches))
    return emails


def filter_opens(emails: QuerySet[Email], filters: OpenFilters, *, now: dt.datetime | None = None) -> QuerySet[Email]:
    """Opened today / this week are measured in the viewer's time zone (the
    active one), the week starting on Monday."""
    local_now = timezone.localtime(now or timezone.now())
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    if filters.opened == "today":
        emails = emails.filter(last_opened_at__gte=midnight)
    elif filters.opened == "week":
        emails = emails.filter(last_opened_at__gte=midnight - dt.timedelta(days=midnight.weekday()))
    if filters.more_than is not None:
        emails = emails.filter(open_count__gt=filters.more_than)
    return emails


def parse_open_filters(params: Any) -> OpenFilters:
    """Unknown values are ignored rather than refused: these come from links."""
    opened = params.get("opened", "")
    if opened not in ("today", "week"):
        opened = ""
    try:
        more_than = int(params.get("more_than", ""))
    except ValueError:
        more_than = None
    if more_than is not None and not 0 <= more_than <= 1_000_000:
        more_than = None
    return OpenFilters(opened=opened, more_than=more_than)


# --- Paging without COUNT ---------------------------------------------------


@dataclass
class Slice:
    """A page of a list without counting the whole list: fetching one row
    more than shown tells whether there is a next page. The folders grow to
    hundreds of thousands of emails; a COUNT(*) would cost more than the page."""

    object_list: list[Any]
    number: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.object_list else 0

    @property
    def end_index(self) -> int:
        return self.start_index + len(self.object_list) - 1 if self.object_list else 0


MAX_PAGE = 10_000


def page_number(raw: str | None) -> int:
    try:
        number = int(raw or 1)
    except ValueError:
        return 1
    return min(max(number, 1), MAX_PAGE)


def slice_page(queryset: QuerySet, *, number: int, per_page: int) -> Slice:
    start = (number - 1) * per_page
    rows = list(queryset[start : start + per_page + 1])
    return Slice(object_list=rows[:per_page], number=number, per_page=per_page, has_next=len(rows) > per_page)


# --- The open report ----------------------------------------------------------


@dataclass
class RecipientReport:
    recipient: EmailRecipient
    # Newest first, at most RECENT_OPENS_SHOWN.
    recent_opens: list[dt.datetime] = field(default_factory=list)

    @property
    def name(self) -> str:
        contact = self.recipient.contact
        return contact.full_name if contact is not None else self.recipient.address

    @property
    def more_than_shown(self) -> bool:
        return self.recipient.open_count > len(self.recent_opens)


@dataclass
class OpenSummary:
    """What the eye icon and the report header show. For an email it copies
    the email's counters; on a contact's timeline it sums that contact's own
    recipient rows, so the eye says whether *this contact* opened."""

    track_opens: bool
    open_count: int
    first_opened_at: dt.datetime | None
    last_opened_at: dt.datetime | None
    source: str
    status: str
    not_tracked_reason: str

    @classmethod
    def of_email(cls, email: Email) -> "OpenSummary":
        return cls(
            track_opens=email.track_opens,
            open_count=email.open_count,
            first_opened_at=email.first_opened_at,
            last_opened_at=email.last_opened_at,
            source=email.source,
            status=email.status,
            not_tracked_reason=email.not_tracked_reason,
        )

    @classmethod
    def of_recipients(cls, email: Email, recipients: Sequence[EmailRecipient]) -> "OpenSummary":
        if not recipients:
            return cls.of_email(email)
        tracked = [r for r in recipients if r.track_opens]
        first = [r.first_opened_at for r in recipients if r.first_opened_at]
        last = [r.last_opened_at for r in recipients if r.last_opened_at]
        if not email.track_opens:
            reason = email.not_tracked_reason
        else:
            reason = "" if tracked else recipients[0].not_tracked_reason
        return cls(
            track_opens=email.track_opens and bool(tracked),
            open_count=sum(r.open_count for r in recipients),
            first_opened_at=min(first) if first else None,
            last_opened_at=max(last) if last else None,
            source=email.source,
            status=email.status,
            not_tracked_reason=reason,
        )


@dataclass
class OpenReport:
    summary: OpenSummary
    recipients: list[RecipientReport]

    @property
    def opened(self) -> bool:
        return self.summary.open_count > 0


def eye_title(item: Any) -> str:
    """The eye icon's tooltip. `item` is an Email, an EmailRecipient or an
    OpenSummary: anything with the counters and track_opens."""
    count = getattr(item, "open_count", 0) or 0
    if count:
        return opened_times(count)
    if getattr(item, "source", "") == Email.Source.CLIENT:
        return Reason.CLIENT.label
    if not getattr(item, "track_opens", False):
        reason = getattr(item, "not_tracked_reason", "")
        label = reason_label(reason)
        return f"Not tracked: {label[0].lower()}{label[1:]}" if label else "Not tracked"
    status = getattr(item, "status", Email.Status.SENT)
    if status == Email.Status.FAILED:
        return "Not sent"
    if status in (Email.Status.QUEUED, Email.Status.SENDING):
        return "Not sent yet"
    return "Not opened yet"


def opened_times(count: int) -> str:
    return "Opened once" if count == 1 else f"Opened {count} times"


def recent_opens_by_recipient(recipient_ids: Iterable[int], *, limit: int = RECENT_OPENS_SHOWN) -> dict[int, list]:
    """The `limit` most recent opens of each recipient, in one query: a
    window numbers each recipient's opens newest first (walking the
    (recipient, -opened_at) index) and the outer query keeps the first ones."""
    ids = list(set(recipient_ids))
    if not ids:
        return {}
    rows = (
        OpenEvent.objects.filter(recipient_id__in=ids)
        .annotate(
            rank=Window(RowNumber(), partition_by=[F("recipient_id")], order_by=[F("opened_at").desc(), F("pk").desc()])
        )
        .filter(rank__lte=limit)
        .order_by("recipient_id", "rank")
        .values_list("recipient_id", "opened_at")
    )
    opens: dict[int, list] = defaultdict(list)
    for recipient_id, opened_at in rows:
        opens[recipient_id].append(opened_at)
    return opens


def recipients_prefetch(*, contact_id: int | None = None, to_attr: str = "report_recipients") -> Prefetch:
    recipients = EmailRecipient.objects.select_related("contact").order_by("pk")
    if contact_id is not None:
        recipients = recipients.filter(contact_id=contact_id)
    return Prefetch("recipients", queryset=recipients, to_attr=to_attr)


def attach_open_reports(emails: Sequence[Email], *, per_contact: bool = False) -> None:
    """Set `email.open_report` on each email. The emails must come with the
    `report_recipients` prefetch (recipients_prefetch); this adds exactly one
    query for all their recent opens. per_contact: the prefetch was limited
    to one contact, and the summary is that contact's."""
    recipient_ids = [r.pk for email in emails for r in email.report_recipients if r.open_count]
    opens = recent_opens_by_recipient(recipient_ids)
    for email in emails:
        recipients = email.report_recipients
        summary = OpenSummary.of_recipients(email, recipients) if per_contact else OpenSummary.of_email(email)
        email.open_report = OpenReport(
            summary=summary,
            recipients=[RecipientReport(recipient=r, recent_opens=opens.get(r.pk, [])) for r in recipients],
        )


def open_report_for(email: Email) -> OpenReport:
    """The report of one email, loading what is missing (two queries): for
    the email's own page."""
    report = getattr(email, "open_report", None)
    if report is not None:
        return report
    if not hasattr(email, "report_recipients"):
        email.report_recipients = list(EmailRecipient.objects.filter(email=email).select_related("contact"))
    attach_open_reports([email])
    return email.open_report
