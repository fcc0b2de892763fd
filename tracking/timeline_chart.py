"""The email's opens over time (the email page): from the send to now, one
row per recipient tracked by name with each person's opens as marks and the
automatic fetches drawn apart, on an axis in the viewer's time zone. Here
the numbers and the geometry; templates/tracking/opens_over_time.html draws
them as SVG (no script) with the table behind it.

Aggregate (total-only) opens have no recipient: one row naming nobody, with
their counts only (the email's counters less its recipients'), never times.
An old email's axis ends at its last fetch instead of now (OLD_AFTER)."""

import datetime as dt
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR

from emails.models import Email, EmailRecipient

from .models import COUNTED, Verdict
from .report_words import AUTOMATIC_WORDS, automatic_fetches, opened_times
from .reports import recent_opens_by_recipient
from .time_axis import Tick, ticks, x_of

# At most this many marks a recipient (the most recent), and fewer when many
# recipients were fetched (about MARKS_IN_ALL in all, never under
# MARKS_AT_LEAST each): the page stays fast (a mark is a shape and a table row).
MARKS_PER_RECIPIENT = 200
MARKS_IN_ALL, MARKS_AT_LEAST = 1000, 25
# Past this age an email's axis ends at its last fetch, not at now.
OLD_AFTER = dt.timedelta(days=14)
TOTAL_ONLY_ROW = "In the email's total only"
ROW_HEIGHT, TOP = 40, 4
NAME_FITS = 38  # characters of a row's name across the picture


@dataclass(frozen=True)
class Mark:
    at: dt.datetime
    verdict: str
    x: float
    when: str  # in the viewer's time zone
    title: str  # on hover: who, what, when

    @property
    def corner(self) -> float:
        """An automatic fetch's square, centred on x."""
        return round(self.x - 4, 1)

    @property
    def automatic(self) -> bool:
        return self.verdict not in COUNTED

    @property
    def kind(self) -> str:
        if self.automatic:
            return f"Automatic: {AUTOMATIC_WORDS[self.verdict]}"
        return Verdict(self.verdict).label


@dataclass
class Row:
    name: str
    y: float
    marks: list[Mark] = field(default_factory=list)  # oldest first
    open_count: int = 0
    automatic_count: int = 0
    summary: str = ""
    # The total-only row: counts, no marks, nobody's name.
    counts: str = ""

    @property
    def short_name(self) -> str:
        """The name as the picture's width holds it (the table has it whole)."""
        return self.name if len(self.name) <= NAME_FITS else f"{self.name[: NAME_FITS - 1]}…"

    @property
    def track_y(self) -> float:
        return self.y + 28

    @property
    def drawn_last(self) -> list[Mark]:
        """The automatic fetches first, so a person's open is drawn over them."""
        return sorted(self.marks, key=lambda m: not m.automatic)

    @property
    def more(self) -> str:
        fetches = self.open_count + self.automatic_count
        if self.counts or fetches <= len(self.marks):
            return ""
        return f"{self.name}: the {len(self.marks)} most recent of {fetches} are shown."


@dataclass
class OpensChart:
    start: dt.datetime
    end: dt.datetime
    ends_now: bool
    rows: list[Row]
    ticks: list[Tick]
    total_only: Row | None
    start_words: str

    @property
    def until(self) -> str:
        return "now" if self.ends_now else "the last fetch"

    @property
    def height(self) -> int:
        return self.axis_y + 24

    @property
    def axis_y(self) -> int:
        return TOP + len(self.rows) * ROW_HEIGHT + 6

    @property
    def label(self) -> str:
        """The picture in words (its aria-label)."""
        rows = "; ".join(r.summary for r in self.rows) if self.rows else "nothing to show"
        return f"Opens over time, from the send to {self.until}: {rows}."


def after_send(delta: dt.timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return "1 minute" if minutes == 1 else f"{minutes} minutes"
    if minutes < 48 * 60:
        return "1 hour" if minutes < 120 else f"{minutes // 60} hours"
    return f"{minutes // (24 * 60)} days"


def _bounds(email: Email, marks: Sequence[dt.datetime], now: dt.datetime) -> tuple[dt.datetime, dt.datetime, bool]:
    start = min([email.sent_at, *marks])
    if now - start <= OLD_AFTER:
        return start, max(now, start + dt.timedelta(hours=1)), True
    last = max([*marks, *[t for t in (email.last_opened_at,) if t]], default=start)
    margin = max(dt.timedelta(hours=1), (last - start) / 20)
    return start, min(now, last + margin), False


def _summary(r: EmailRecipient, name: str, sent_at: dt.datetime) -> str:
    if r.open_count and r.last_opened_at:
        last = after_send(r.last_opened_at - sent_at)
        words = f"{name} {opened_times(r.open_count).lower()}, last {last} after the send"
    else:
        words = f"{name}: no opens yet"
    return f"{words}; {automatic_fetches(r.automatic_count)}" if r.automatic_count else words


def _counts(opens: int, automatic: int) -> str:
    parts = ["1 open" if opens == 1 else f"{opens} opens"]
    return ", ".join(parts + ([automatic_fetches(automatic)] if automatic else []))


def _clock(zone: zoneinfo.ZoneInfo) -> Callable[[dt.datetime], str]:
    """A time as dateformat's "D j M Y, H:i" says it ("Tue 3 Mar 2026, 09:14"), for hundreds of
    marks: dateformat's own day and month names, looked up once."""
    days = [str(WEEKDAYS_ABBR[d]) for d in range(7)]
    months = {m: str(MONTHS_3[m]).title() for m in range(1, 13)}

    def when(at: dt.datetime) -> str:
        t = at.astimezone(zone)
        return f"{days[t.weekday()]} {t.day} {months[t.month]} {t.year}, {t:%H:%M}"

    return when


def _mark(name: str, at: dt.datetime, verdict: str, start: dt.datetime, end: dt.datetime, when: str) -> Mark:
    if verdict in COUNTED:
        how = "" if verdict == Verdict.HUMAN else " through the mail provider's image proxy"
        title = f"{name} opened{how}, {when}"
    else:
        title = f"{name}: automatic fetch ({AUTOMATIC_WORDS[verdict]}), {when}"
    return Mark(at, verdict, x_of(at, start, end), when, title)


def _named(r: EmailRecipient) -> bool:
    """Tracked by name, or holding opens recorded by name; never an erased copy."""
    return not r.erased and ((r.track_opens and not r.aggregate_only) or bool(r.open_count or r.automatic_count))


def opens_over_time(
    email: Email, recipients: Sequence[EmailRecipient], *, now: dt.datetime, zone: zoneinfo.ZoneInfo
) -> OpensChart | None:
    """The chart of an email that was fetched at all (one query, for the
    marks), else None."""
    if email.sent_at is None or not (email.open_count or email.automatic_count):
        return None
    named = [r for r in recipients if _named(r)]
    ids = [r.pk for r in named if r.open_count or r.automatic_count]
    limit = min(MARKS_PER_RECIPIENT, max(MARKS_AT_LEAST, MARKS_IN_ALL // max(1, len(ids))))
    fetched = recent_opens_by_recipient(ids, limit=limit)
    when = _clock(zone)
    start, end, ends_now = _bounds(email, [o.at for opens in fetched.values() for o in opens], now)
    rows = []
    for r in named:
        name = r.contact.full_name if r.contact is not None else r.address
        row = Row(name, TOP + len(rows) * ROW_HEIGHT, open_count=r.open_count, automatic_count=r.automatic_count)
        row.summary = _summary(r, name, email.sent_at)
        row.marks = [_mark(name, o.at, o.verdict, start, end, when(o.at)) for o in reversed(fetched.get(r.pk, []))]
        rows.append(row)
    total_only = None
    opens = email.open_count - sum(r.open_count for r in recipients)
    automatic = email.automatic_count - sum(r.automatic_count for r in recipients)
    if opens or automatic or any(r.track_opens and r.aggregate_only for r in recipients):
        total_only = Row(TOTAL_ONLY_ROW, TOP + len(rows) * ROW_HEIGHT, open_count=opens, automatic_count=automatic)
        total_only.counts = _counts(opens, automatic)
        total_only.summary = f"{TOTAL_ONLY_ROW}: {total_only.counts}"
        rows.append(total_only)
    return OpensChart(
        start=start,
        end=end,
        ends_now=ends_now,
        rows=rows,
        ticks=ticks(start, end, zone),
        total_only=total_only,
        start_words=when(email.sent_at),
    )
