"""The team's outreach (Reports): per week and per rep, the tracked emails
sent, the share a person opened, the share a naive tracker would call
opened (any fetch of the pixel), the share replied, and the median time from
the send to a person's first open (the middle email's band of
onepage.durations).

Everything is counted per email, and read from the rollup the emails keep
(emails.models.OutreachWeek, one row per sender and week: emails.rollup):
an email is opened by a person when any of its recipients opened it (the
opens counted in the email's total only included, so aggregate recipients
count here and are never named), fetched when its pixel was loaded at all,
replied when the mailbox sync found a reply. The gap between the two rates
is the emails only machines fetched, each kind of automatic fetch named
with how many of them it touched.

A week starts on Monday in the organization's time zone (the rollup's
weeks), so everyone in the team sees the same weeks; an email belongs to
the week it was sent in. Three queries, over at most a row per sender and
week of the period, whatever the emails and opens (bench/outreach.py)."""

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.db.models import Count, Sum
from django.utils import timezone

from emails.models import OutreachWeek
from emails.outreach_week import COLUMNS, FIRST_OPEN
from onepage.durations import median_band
from onepage.models import Organization, User
from tracking.models import AUTOMATIC_BITS, Verdict

PERIODS = (4, 12, 52)
DEFAULT_WEEKS = 12


@dataclass(frozen=True)
class Tally:
    sent: int
    fetched: int
    opened: int
    replied: int
    # The band (onepage.durations.BANDS) of the middle wait to a first open.
    to_first_open: int | None

    def share(self, part: int) -> float | None:
        return part / self.sent if self.sent else None


EMPTY = Tally(0, 0, 0, 0, None)


# Where each column of COLUMNS is in a row of sums.
AT = {name: i for i, name in enumerate(COLUMNS)}
BANDS_AT = slice(AT[FIRST_OPEN[0]], AT[FIRST_OPEN[-1]] + 1)


def _sums(rows: list[tuple]) -> tuple:
    """Column by column (in C: a year of a big team is hundreds of rows)."""
    return tuple(map(sum, zip(*rows, strict=True))) if rows else (0,) * len(COLUMNS)


def _tally(sums: tuple) -> Tally:
    band = median_band(sums[BANDS_AT])
    return Tally(sums[AT["sent"]], sums[AT["fetched"]], sums[AT["opened"]], sums[AT["replied"]], band)


@dataclass(frozen=True)
class Gap:
    """A kind of automatic fetch and the emails it touched among those only machines fetched."""

    label: str
    emails: int


@dataclass(frozen=True)
class Outreach:
    weeks: list[tuple[dt.date, Tally]]  # every week of the period, oldest first
    reps: list[tuple[User, Tally]]  # each sender over the period
    rep_weeks: list[tuple[dt.date, User, Tally]]  # each sender's weeks with tracked emails, latest first
    rep_week_count: int  # all of them (rep_weeks may hold only the latest)
    total: Tally
    fetches: int  # every load of the pixel
    automatic: int  # the loads that were no person's open
    gap: list[Gap]  # the kinds behind the emails only machines fetched, most first
    zone: str  # the organization's: the weeks' time zone

    @property
    def machines_only(self) -> int:
        return self.total.fetched - self.total.opened


def period_start(weeks: int, zone: zoneinfo.ZoneInfo, *, now: dt.datetime | None = None) -> dt.date:
    """The Monday `weeks - 1` weeks before this week's, in `zone`."""
    today = timezone.localdate(now or timezone.now(), zone)
    return today - dt.timedelta(days=today.weekday(), weeks=weeks - 1)


def outreach(
    *,
    organization: Organization,
    members: dict[int, User],
    sender: User | None,
    weeks: int,
    rep_weeks: int | None = None,
    now: dt.datetime | None = None,
) -> Outreach:
    """The period's numbers; `members` by id name the senders (a sender no
    longer a member is looked up, one query more). `rep_weeks`: only the
    latest that many of each rep's weeks (the page); None for every one
    (the CSV). Three queries over the period's rows, summed in the
    database: the weeks, the reps (and how many weeks each has), the
    latest rep-weeks."""
    first = period_start(weeks, zoneinfo.ZoneInfo(organization.time_zone), now=now)
    rows = OutreachWeek.objects.filter(organization=organization, week__gte=first, sent__gt=0).order_by()
    if sender is not None:
        rows = rows.filter(sender=sender)
    sums = {name: Sum(name) for name in COLUMNS}
    # Sums of big integers come back as decimals from PostgreSQL: ints here.
    by_week = {w: (*map(int, v),) for w, *v in rows.values("week").annotate(**sums).values_list("week", *COLUMNS)}
    per_rep = rows.values("sender").annotate(weeks=Count("pk"), **sums).values_list("sender", "weeks", *COLUMNS)
    by_rep = {pk: (n, (*map(int, values),)) for pk, n, *values in per_rep}
    # Every week of a rep is a row: the rows of the latest weeks, enough to
    # hold `rep_weeks` of them and their whole last week (a week has at
    # most a row per rep).
    latest = rows.order_by("-week")
    if rep_weeks is not None:
        latest = latest[: rep_weeks + len(by_rep)]
    rep_week_rows = list(latest.values_list("week", "sender_id", *COLUMNS))
    if missing := by_rep.keys() - members.keys():
        members = {**members, **User.objects.in_bulk(missing)}
    reps = sorted(((members[pk], _tally(v)) for pk, (_, v) in by_rep.items()), key=lambda rt: _name_key(rt[0]))
    each = sorted(
        ((week, members[pk], values) for week, pk, *values in rep_week_rows),
        key=lambda r: (-r[0].toordinal(), _name_key(r[1])),
    )[:rep_weeks]
    total = _sums([values for _, values in by_rep.values()])
    gap = [Gap(Verdict(v).label, total[AT[f"machines_only_{bit}"]]) for v, bit in AUTOMATIC_BITS.items()]
    return Outreach(
        weeks=[(day, _tally(by_week[day]) if day in by_week else EMPTY) for day in _mondays(first, weeks)],
        reps=reps,
        rep_weeks=[(week, user, _tally(values)) for week, user, values in each],
        rep_week_count=sum(n for n, _ in by_rep.values()),
        total=_tally(total),
        fetches=total[AT["fetches"]],
        automatic=total[AT["automatic"]],
        gap=sorted((g for g in gap if g.emails), key=lambda g: -g.emails),
        zone=organization.time_zone,
    )


def _mondays(first: dt.date, weeks: int) -> list[dt.date]:
    return [first + dt.timedelta(weeks=n) for n in range(weeks)]


def _name_key(user: User) -> tuple:
    return (user.get_full_name().lower() or user.username.lower(), user.pk)
