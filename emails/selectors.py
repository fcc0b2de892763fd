"""What the emails pages list, as querysets: the folders of the Email page
(with their search and filters) and a contact's newest emails for its
timeline. Lists read the counters on Email/EmailRecipient; the open reports
of a page come from emails.reports in one more query."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from contacts.models import Contact
from onepage.models import Organization, User
from onepage.search import unaccented

from . import reports
from .models import Email, EmailRecipient


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
    # By the time it went out, which is what the folder shows (a retried
    # email goes out long after it was written).
    # Replies synced from the inbox are on the contacts' timelines, not here.
    return scope.filter(status=Email.Status.SENT, direction=Email.Direction.OUTGOING).order_by("-sent_at", "-pk")


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
    contact name, accents and case aside."""
    for word in unaccented(q).split():
        recipient_matches = EmailRecipient.objects.filter(email=OuterRef("pk")).filter(
            Q(address__unaccent__icontains=word)
            | Q(contact__first_name__unaccent__icontains=word)
            | Q(contact__last_name__unaccent__icontains=word)
        )
        emails = emails.filter(Q(subject__unaccent__icontains=word) | Exists(recipient_matches))
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


# --- For the contact's timeline (contacts.timeline) ---


def contact_emails(contact: Contact, *, limit: int) -> list[Email]:
    """The contact's `limit` newest emails in its organization, newest first,
    each with its open report as this contact's (`email.open_report`: the
    summary and the contact's rows; their recent opens load on demand).

    In the order of the emails' own time: created_at, which the IMAP sync
    sets to an imported message's Date (a client-sent email or a reply
    synced today may have been written last week)."""
    # The email's time is read per recipient row (a scalar subquery on the
    # primary key), not by a join: PostgreSQL would hash-join the whole
    # organization's emails (a sequential scan, 45 ms at 100,000 emails)
    # where the contact's own rows take 1,000 primary-key lookups at most.
    created_at = Subquery(Email.objects.filter(pk=OuterRef("email_id")).order_by().values("created_at")[:1])
    newest_ids = (
        EmailRecipient.objects.filter(contact=contact)
        .annotate(email_created_at=created_at)
        .order_by("-email_created_at", "-email_id")
        .values("email_id")
        .distinct()[:limit]
    )
    emails = list(
        Email.objects.filter(organization_id=contact.organization_id, pk__in=newest_ids)
        .select_related("sender", reports.CONFIGURATION)
        .prefetch_related(reports.recipients_prefetch(contact_id=contact.pk))
        .order_by("-created_at", "-pk")
    )
    reports.attach_open_reports(emails, per_contact=True, recent=False)
    return emails


def sending_figures(organization: Organization) -> list[tuple[str, int]]:
    """The organization's emails waiting or failed, for Settings -> System:
    one grouped query on the status index."""
    counts = dict(
        Email.objects.filter(
            organization=organization, status__in=[Email.Status.QUEUED, Email.Status.SENDING, Email.Status.FAILED]
        )
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    return [
        ("Queued", counts.get(Email.Status.QUEUED, 0)),
        ("Sending", counts.get(Email.Status.SENDING, 0)),
        ("Failed", counts.get(Email.Status.FAILED, 0)),
    ]


def contact_rows(contact: Contact) -> QuerySet[EmailRecipient]:
    """The recipient rows about a contact: linked to it, or holding its
    address (typed in by hand, or synced before the contact existed)."""
    linked = Q(contact=contact)
    if contact.email:
        linked |= Q(address__iexact=contact.email)
    return EmailRecipient.objects.filter(linked, email__organization_id=contact.organization_id)
