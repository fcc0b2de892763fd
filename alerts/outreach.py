"""The team's outreach (Reports): per week and per rep, the tracked emails
sent, the share a person opened, the share a naive tracker would call
opened (any fetch of the pixel), the share replied, and the median time from
the send to a person's first open.

Everything is counted per email, from the counters the one writer keeps
equal to the events (emails.models.OpenCounters): an email is opened by a
person when any of its recipients opened it (open_count: tracking.models.
COUNTED, the opens counted in the email's total only included, so
aggregate recipients count here and are never named), fetched when its
pixel was loaded at all (a person's open or an automatic fetch), replied
when the mailbox sync found a reply (Email.replied_at). Per email, not per
recipient: an aggregate recipient's opens name no recipient row.

The gap between the two rates is the emails only machines fetched; each
kind of automatic fetch is named with how many of them it touched
(automatic_kinds, a bit per kind). A week starts on Monday in the viewer's
time zone, and an email belongs to the week it was sent in.

Fast whatever the organization's size: a few grouped queries over the
period's sent emails (email_sent_idx, email_sender_sent_idx), never over the
opens; five queries a page whatever the weeks and reps."""

import datetime as dt
import statistics
import zoneinfo
from dataclasses import dataclass

from django.db.models import Count, DurationField, F, Q, QuerySet, Sum
from django.db.models.aggregates import Aggregate
from django.db.models.functions import TruncWeek
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from emails.models import Email
from onepage.models import Organization, User
from tracking.models import AUTOMATIC_BITS, Verdict

PERIODS = (4, 12, 52)
DEFAULT_WEEKS = 12


class _SqliteMedian:
    """MEDIAN for SQLite (development and tests); PostgreSQL has percentile_cont."""

    def __init__(self) -> None:
        self.values: list = []

    def step(self, value) -> None:
        if value is not None:
            self.values.append(value)

    def finalize(self):
        return statistics.median(self.values) if self.values else None


class Median(Aggregate):
    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()

    def as_sqlite(self, compiler, connection, **extra):
        connection.ensure_connection()
        connection.connection.create_aggregate("ONEPAGE_MEDIAN", 1, _SqliteMedian)
        return super().as_sql(compiler, connection, function="ONEPAGE_MEDIAN", template="%(function)s(%(expressions)s)")


@dataclass(frozen=True)
class Tally:
    sent: int
    fetched: int
    opened: int
    replied: int
    to_first_open: dt.timedelta | None

    def share(self, part: int) -> float | None:
        return part / self.sent if self.sent else None


EMPTY = Tally(0, 0, 0, 0, None)


def _measures() -> dict:
    return {
        "sent": Count("pk"),
        "fetched": Count("pk", filter=Q(open_count__gt=0) | Q(automatic_count__gt=0)),
        "opened": Count("pk", filter=Q(open_count__gt=0)),
        "replied": Count("pk", filter=Q(replied_at__isnull=False)),
        "to_first_open": Median(F("first_opened_at") - F("sent_at"), output_field=DurationField()),
    }


def _tally(row: dict) -> Tally:
    return Tally(row["sent"], row["fetched"], row["opened"], row["replied"], row["to_first_open"])


@dataclass(frozen=True)
class Gap:
    """A kind of automatic fetch and the emails it touched among those only machines fetched."""

    label: str
    emails: int


@dataclass(frozen=True)
class Outreach:
    weeks: list[tuple[dt.date, Tally]]  # every week of the period, oldest first
    reps: list[tuple[User, Tally]]  # each sender over the period
    rep_weeks: list[tuple[dt.date, User, Tally]]  # each sender's weeks with tracked emails
    total: Tally
    fetches: int  # every load of the pixel
    automatic: int  # the loads that were no person's open
    gap: list[Gap]  # the kinds behind the emails only machines fetched, most first

    @property
    def machines_only(self) -> int:
        return self.total.fetched - self.total.opened


def period_start(weeks: int, zone: zoneinfo.ZoneInfo, *, now: dt.datetime | None = None) -> dt.date:
    """The Monday `weeks - 1` weeks before this week's, in `zone`."""
    today = timezone.localdate(now or timezone.now(), zone)
    return today - dt.timedelta(days=today.weekday(), weeks=weeks - 1)


def tracked_sent(*, organization: Organization, sender: User | None, since: dt.datetime) -> QuerySet[Email]:
    emails = Email.objects.filter(
        organization=organization,
        status=Email.Status.SENT,
        direction=Email.Direction.OUTGOING,
        track_opens=True,
        sent_at__gte=since,
    )
    return emails if sender is None else emails.filter(sender=sender)


def outreach(
    *,
    organization: Organization,
    members: dict[int, User],
    sender: User | None,
    weeks: int,
    zone: zoneinfo.ZoneInfo,
    now: dt.datetime | None = None,
) -> Outreach:
    """The period's numbers; `members` by id name the senders (a sender no
    longer a member is looked up, one query more)."""
    first = period_start(weeks, zone, now=now)
    since = dt.datetime.combine(first, dt.time(), tzinfo=zone)
    emails = tracked_sent(organization=organization, sender=sender, since=since).order_by()
    by_week = emails.annotate(week=TruncWeek("sent_at", tzinfo=zone))
    counted = {row["week"].date(): _tally(row) for row in by_week.values("week").annotate(**_measures())}
    days = [first + dt.timedelta(weeks=n) for n in range(weeks)]
    per_rep = list(emails.values("sender").annotate(**_measures()))
    if missing := {r["sender"] for r in per_rep} - members.keys():
        members = {**members, **User.objects.in_bulk(missing)}
    reps = sorted(((members[r["sender"]], _tally(r)) for r in per_rep), key=lambda rt: _name_key(rt[0]))
    rep_weeks = [
        (row["week"].date(), members[row["sender"]], _tally(row))
        for row in by_week.values("week", "sender").annotate(**_measures())
    ]
    rep_weeks.sort(key=lambda r: (-r[0].toordinal(), _name_key(r[1])))
    kinds = {
        f"gap_{bit}": Count(
            "pk", filter=Q(open_count=0, automatic_count__gt=0) & Q(GreaterThan(F("automatic_kinds").bitand(bit), 0))
        )
        for bit in AUTOMATIC_BITS.values()
    }
    total = emails.aggregate(
        **_measures(), fetches=Sum(F("open_count") + F("automatic_count")), automatic=Sum("automatic_count"), **kinds
    )
    gap = [Gap(Verdict(v).label, total[f"gap_{bit}"]) for v, bit in AUTOMATIC_BITS.items() if total[f"gap_{bit}"]]
    return Outreach(
        weeks=[(day, counted.get(day, EMPTY)) for day in days],
        reps=reps,
        rep_weeks=rep_weeks,
        total=_tally(total),
        fetches=total["fetches"] or 0,
        automatic=total["automatic"] or 0,
        gap=sorted(gap, key=lambda g: -g.emails),
    )


def _name_key(user: User) -> tuple:
    return (user.get_full_name().lower() or user.username.lower(), user.pk)
