"""The open report: per email (or per contact on its timeline) whether,
how often and when it was opened, with each recipient's 10 most recent
opens (the words are tracking.report_words). Its template tag is `open_reports`, its
includes templates/tracking/includes/eye.html and open_report.html.

Lists attach the reports of a whole page in one query
(`attach_open_reports`), never one per email or recipient.
"""

import datetime as dt
import functools
import operator
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db.models import F, Window
from django.db.models.functions import RowNumber

from emails.models import Email, EmailConfiguration, EmailRecipient
from onepage.models import Organization

from .models import COUNTED, OpenEvent
from .report_words import AUTOMATIC_WORDS, automatic_fetches, counted, opened_times, privacy_only

RECENT_OPENS_SHOWN = 10


class RecentOpen(NamedTuple):
    at: dt.datetime
    verdict: str

    @property
    def automatic(self) -> bool:
        return self.verdict not in COUNTED

    @property
    def kind(self) -> str:
        """The words of an automatic fetch's kind ("" for a person's open)."""
        return AUTOMATIC_WORDS.get(self.verdict, "")


@dataclass
class RecipientReport:
    recipient: EmailRecipient
    # Newest first, at most RECENT_OPENS_SHOWN, automatic fetches included.
    recent: list[RecentOpen] = field(default_factory=list)
    # The organization counts automatic fetches as opens (EmailConfiguration).
    count_machine_opens: bool = False

    @property
    def recent_opens(self) -> list[dt.datetime]:
        return [o.at for o in self.recent]

    @property
    def name(self) -> str:
        contact = self.recipient.contact
        return contact.full_name if contact is not None else self.recipient.address

    @property
    def fetches(self) -> int:
        return self.recipient.open_count + self.recipient.automatic_count

    @property
    def shown_count(self) -> int:
        r = self.recipient
        return counted(r.open_count, r.automatic_count, count_machine_opens=self.count_machine_opens)

    @property
    def privacy_only(self) -> bool:
        return privacy_only(self.recipient)

    @property
    def more_than_shown(self) -> bool:
        return self.fetches > len(self.recent)

    @property
    def notice(self) -> str:
        """Past RECENT_OPENS_SHOWN: how many there were, and how many are shown."""
        auto = self.recipient.automatic_count
        parts = [opened_times(self.recipient.open_count)] if self.recipient.open_count else []
        parts += [automatic_fetches(auto)] if auto else []
        return f"{' and '.join(parts)}; the {len(self.recent)} most recent are shown"

    @property
    def show_seconds(self) -> bool:
        """Whether two of the opens shown fall in the same minute: then the
        minute alone would show the same time twice."""
        minutes = [at.replace(second=0, microsecond=0) for at in self.recent_opens]
        return len(set(minutes)) < len(minutes)


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
    automatic_count: int = 0
    automatic_kinds: int = 0
    count_machine_opens: bool = False
    # Every tracked copy it sums is tracked in aggregate (TrackingMode.
    # AGGREGATE): opens in the email's total, nobody's name on them.
    aggregate_only: bool = False
    # A contact's summary (their own rows) rather than the email's.
    per_contact: bool = False
    # For a contact's summary: the email's own counters (its total).
    email_open_count: int = 0
    email_automatic_count: int = 0

    @property
    def shown_count(self) -> int:
        return counted(self.open_count, self.automatic_count, count_machine_opens=self.count_machine_opens)

    @property
    def email_total(self) -> int:
        """The email's total as the reports count it: what an aggregate
        contact's opens are part of."""
        return counted(self.email_open_count, self.email_automatic_count, count_machine_opens=self.count_machine_opens)

    @classmethod
    def of_email(cls, email: Email, recipients: Sequence[EmailRecipient] = ()) -> "OpenSummary":
        return cls(
            aggregate_only=_aggregate_only(recipients),
            track_opens=email.track_opens,
            open_count=email.open_count,
            first_opened_at=email.first_opened_at,
            last_opened_at=email.last_opened_at,
            source=email.source,
            status=email.status,
            not_tracked_reason=email.not_tracked_reason,
            automatic_count=email.automatic_count,
            automatic_kinds=email.automatic_kinds,
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
            aggregate_only=_aggregate_only(recipients),
            per_contact=True,
            email_open_count=email.open_count,
            email_automatic_count=email.automatic_count,
            track_opens=email.track_opens and bool(tracked),
            open_count=sum(r.open_count for r in recipients),
            first_opened_at=min(first) if first else None,
            last_opened_at=max(last) if last else None,
            source=email.source,
            status=email.status,
            not_tracked_reason=reason,
            automatic_count=sum(r.automatic_count for r in recipients),
            automatic_kinds=functools.reduce(operator.or_, (r.automatic_kinds for r in recipients), 0),
        )


def _aggregate_only(recipients: Sequence[EmailRecipient]) -> bool:
    tracked = [r for r in recipients if r.track_opens]
    return bool(tracked) and all(r.aggregate_only for r in tracked)


@dataclass
class OpenReport:
    summary: OpenSummary
    recipients: list[RecipientReport]

    @property
    def count_machine_opens(self) -> bool:
        return self.summary.count_machine_opens

    @property
    def shown_count(self) -> int:
        return self.summary.shown_count

    @property
    def opened(self) -> bool:
        return self.shown_count > 0

    @property
    def privacy_only(self) -> bool:
        return privacy_only(self.summary)


def recent_opens_by_recipient(recipient_ids: Iterable[int], *, limit: int = RECENT_OPENS_SHOWN) -> dict[int, list]:
    """The `limit` most recent opens (RecentOpen: when, and the verdict;
    automatic fetches included) of each recipient, in one query: a
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
        .values_list("recipient_id", "opened_at", "verdict")
    )
    opens: dict[int, list] = defaultdict(list)
    for recipient_id, opened_at, verdict in rows:
        opens[recipient_id].append(RecentOpen(opened_at, verdict))
    return opens


def attach_open_reports(emails: Sequence[Email], *, per_contact: bool = False, recent: bool = True) -> None:
    """Set `email.open_report` on each email. The emails must come with the
    `report_recipients` prefetch (emails.reports.recipients_prefetch); this adds exactly one
    query for all their recent opens (none with recent=False: a list whose
    reports load on demand, where the recipients alone are shown). per_contact:
    the prefetch was limited to one contact, and the summary is that contact's."""
    recipient_ids = (
        [r.pk for email in emails for r in email.report_recipients if r.open_count or r.automatic_count]
        if recent
        else []
    )
    opens = recent_opens_by_recipient(recipient_ids)
    counting = _counts_machine_opens(emails)
    for email in emails:
        recipients = email.report_recipients
        summary = (
            OpenSummary.of_recipients(email, recipients) if per_contact else OpenSummary.of_email(email, recipients)
        )
        machine = counting.get(email.organization_id, False)
        summary.count_machine_opens = machine
        email.open_report = OpenReport(
            summary=summary,
            recipients=[
                RecipientReport(recipient=r, recent=opens.get(r.pk, []), count_machine_opens=machine)
                for r in recipients
            ],
        )


def _counts_machine_opens(emails: Sequence[Email]) -> dict[int, bool]:
    """Each organization's "Count automatic fetches as opens", wanted only
    when a report has automatic fetches to show: from the emails when they
    came with it (lists load it with them: CONFIGURATION), else one query."""
    organizations = {
        e.organization_id for e in emails if e.automatic_count or any(r.automatic_count for r in e.report_recipients)
    }
    counting = {}
    for email in emails:
        if email.organization_id in organizations and Email.organization.is_cached(email):
            organization = email.organization
            if Organization.email_configuration.is_cached(organization):
                config = getattr(organization, "email_configuration", None)
                counting[email.organization_id] = bool(config and config.count_machine_opens)
    missing = organizations - counting.keys()
    if missing:
        rows = EmailConfiguration.objects.filter(organization_id__in=missing).values_list(
            "organization_id", "count_machine_opens"
        )
        counting.update(dict.fromkeys(missing, False) | dict(rows))
    return counting


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
