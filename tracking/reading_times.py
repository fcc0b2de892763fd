"""A contact's reading times, for the contact page (contacts.reading_times,
filled from TrackingConfig.ready): when their opens by name fall in the
week, in the viewing rep's time zone, and how long after a send they first
open.

Only a person's opens count (COUNTED: human and proxy), and only those on
this contact's own recipient rows: opens tracked in aggregate have no
recipient and never appear; a contact not tracked by name (refused, no
consent, total only) gets no grid, and the reason. One query, grouped in the
database: its rows do not grow with the opens (bench/contact_grid.py).

"Usually reads" (with ENOUGH opens or more) is two windows found apart: the
fewest consecutive days, Monday to Sunday, that hold at least three
quarters of the opens, and the fewest consecutive hours, 0 to 23, that hold
at least three quarters of them; a tie goes to the window holding more
opens, then the earlier. (Half was too little: someone who reads Tuesday to
Thursday alike was said to read Tuesday to Wednesday.)"""

import datetime as dt
import math
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import CharField, Count, DateTimeField, F, Min, Value
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay

from contacts.models import Contact
from emails.models import EmailConfiguration, EmailRecipient
from emails.policy import contact_decision
from emails.tracking_words import TOTAL_ONLY
from onepage import durations
from onepage.models import Organization
from onepage.svg import Scale, shade, ticks

from .models import COUNTED, OpenEvent
from .report_words import AUTOMATIC_WORDS

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
HOURS = 24
ENOUGH = 5
# The share of the opens "usually" holds.
USUALLY = 0.75
# The grid's drawing, in viewBox units: day names on the left, hours on top.
LEFT, TOP, PITCH, GAP = 36, 16, 14, 2
HOUR_LABELS_EVERY = 3
DASH = "\N{EN DASH}"


@dataclass(frozen=True)
class Cell:
    day: int
    hour: int
    count: int
    shade: int
    x: int
    y: int

    @property
    def day_name(self) -> str:
        return DAYS[self.day]

    @property
    def title(self) -> str:
        opens = "1 open" if self.count == 1 else f"{self.count} opens"
        return f"{DAYS[self.day]} {self.hour}:00{DASH}{self.hour + 1}:00: {opens}"


@dataclass
class ReadingTimes:
    name: str
    zone: str
    # 7 x 24: opens by weekday (Monday first) and hour, in `zone`.
    grid: list[list[int]] = field(default_factory=lambda: empty_grid())
    # The kinds of automatic fetches, in words (shown when nothing counted).
    automatic: list[str] = field(default_factory=list)
    # Each opened email's wait from its send to its first counted open.
    first_open_waits: list[dt.timedelta] = field(default_factory=list)
    # Why there is no grid (not tracked by name); "" when there is one.
    not_shown: str = ""

    @property
    def total(self) -> int:
        return sum(map(sum, self.grid))

    @property
    def pattern(self) -> str:
        """Says "Usually reads Tuesday to Thursday, 8 to 10" (with an en
        dash between the hours), or nothing under ENOUGH opens."""
        if self.total < ENOUGH:
            return ""
        first_day, last_day = smallest_window([sum(row) for row in self.grid], self.total)
        first_hour, last_hour = smallest_window([sum(col) for col in zip(*self.grid, strict=True)], self.total)
        days = DAYS[first_day] if first_day == last_day else f"{DAYS[first_day]} to {DAYS[last_day]}"
        if (first_day, last_day) == (0, 6):
            days = "any day"
        hours = "at any hour" if (first_hour, last_hour) == (0, HOURS - 1) else f"{first_hour}{DASH}{last_hour + 1}"
        return f"Usually reads {days}, {hours}"

    @property
    def not_enough(self) -> str:
        return f"Not enough opens yet to tell when they read ({self.total} of {ENOUGH})"

    @property
    def automatic_only(self) -> str:
        if self.total or not self.automatic:
            return ""
        kinds = ", ".join(self.automatic)
        kinds = kinds[0].upper() + kinds[1:]
        return f"Only automatic fetches so far: {kinds}: they say nothing about when {self.name} reads"

    @property
    def median_words(self) -> str:
        return durations.median_words(self.first_open_waits)

    @property
    def summary(self) -> str:
        """The chart's text alternative."""
        opens = "1 open" if self.total == 1 else f"{self.total} opens"
        said = self.pattern or self.automatic_only or "no pattern yet"
        return f"{self.name}'s opens by weekday and hour ({self.zone}): {opens}; {said}"

    @property
    def opened_cells(self) -> list[Cell]:
        """The table behind the grid: its cells with opens, Monday first."""
        return [cell for cell in self.cells if cell.count]

    @property
    def cells(self) -> list[Cell]:
        top = max(map(max, self.grid))
        x, y = Scale(0, HOURS, LEFT, LEFT + HOURS * PITCH), Scale(0, len(DAYS), TOP, TOP + len(DAYS) * PITCH)
        return [
            Cell(day, hour, count, shade(count, top), round(x(hour)), round(y(day)))
            for day, row in enumerate(self.grid)
            for hour, count in enumerate(row)
        ]

    @property
    def day_labels(self) -> list[tuple[str, int]]:
        y = Scale(0, len(DAYS), TOP, TOP + len(DAYS) * PITCH)
        return [(name[:3], round(y(day) + (PITCH - GAP) / 2)) for day, name in enumerate(DAYS)]

    @property
    def hour_labels(self) -> list[tuple[int, int]]:
        x = Scale(0, HOURS, LEFT, LEFT + HOURS * PITCH)
        return [(hour, round(x(hour))) for hour in ticks(HOURS, HOUR_LABELS_EVERY)]

    left, top, pitch, cell_size = LEFT, TOP, PITCH, PITCH - GAP
    grid_width, grid_height = HOURS * PITCH, len(DAYS) * PITCH
    view_width, view_height = LEFT + grid_width, TOP + grid_height


def empty_grid() -> list[list[int]]:
    return [[0] * HOURS for _ in DAYS]


def smallest_window(counts: Sequence[int], total: int) -> tuple[int, int]:
    """The first and last index of the shortest run of consecutive slots
    holding at least USUALLY of `total`; on a tie, the fuller, then the earlier."""
    need = math.ceil(total * USUALLY)
    best: tuple[int, int, int] | None = None  # (length, -held, first)
    for first in range(len(counts)):
        held = 0
        for last in range(first, len(counts)):
            held += counts[last]
            if held >= need:
                candidate = (last - first + 1, -held, first)
                if best is None or candidate < best:
                    best = candidate
                break
    if best is None:
        return 0, len(counts) - 1
    length, _, first = best
    return first, first + length - 1


def first_open_waits(first_opens: dict[int, dt.datetime], sent: dict[int, dt.datetime | None]) -> list[dt.timedelta]:
    return [at - sent[email] for email, at in first_opens.items() if sent.get(email) is not None]


GRID, FIRSTS, MACHINES = 0, 1, 2


def _grouped(contact: Contact, zone: zoneinfo.ZoneInfo):
    """One UNION ALL: (GRID, ISO weekday, hour, opens) in `zone`; (FIRSTS, email, first open, its send, joined
    once per email from the recipient rows); (MACHINES, a kind of automatic fetch): at most 168 + emails + kinds."""
    mine = OpenEvent.objects.filter(recipient__contact=contact).order_by()
    counted = mine.filter(verdict__in=COUNTED)
    no_time, no_verdict = Value(None, DateTimeField()), Value("", CharField())
    columns = ("part", "a", "b", "n", "first", "sent", "kind")
    grid = (
        counted.annotate(a=ExtractIsoWeekDay("opened_at", tzinfo=zone), b=ExtractHour("opened_at", tzinfo=zone))
        .values("a", "b")
        .annotate(part=Value(GRID), n=Count("pk"), first=no_time, sent=no_time, kind=no_verdict)
        .values_list(*columns)
    )
    firsts = (
        EmailRecipient.objects.filter(contact=contact, opens__verdict__in=COUNTED)
        .order_by()
        .values("email_id", "email__sent_at")
        .annotate(part=Value(FIRSTS), a=F("email_id"), b=Value(0), n=Value(0), first=Min("opens__opened_at"))
        .annotate(sent=F("email__sent_at"), kind=no_verdict)
        .values_list(*columns)
    )
    machines = (
        mine.exclude(verdict__in=COUNTED)
        .values("verdict")
        .annotate(part=Value(MACHINES), a=Value(0), b=Value(0), n=Count("pk"), first=no_time, sent=no_time)
        .annotate(kind=F("verdict"))
        .values_list(*columns)
    )
    return grid.union(firsts, machines, all=True)


def reading_times(contact: Contact, *, zone: zoneinfo.ZoneInfo, organization: Organization) -> ReadingTimes:
    times = ReadingTimes(name=contact.first_name or contact.full_name, zone=str(zone))
    decision = contact_decision(contact=contact, config=EmailConfiguration.objects.of(organization))
    if not decision.track:
        # In the words of the Email tab's eye (tracking.report_words.eye_title).
        times.not_shown = f"Not tracked: {decision.in_sentence}."
        return times
    if decision.aggregate:
        times.not_shown = f"{TOTAL_ONLY}: nobody's name is on them, so they say nothing about when {times.name} reads."
        return times
    first_opens: dict[int, dt.datetime] = {}
    sent: dict[int, dt.datetime | None] = {}
    automatic = set()
    for part, a, b, count, first, sent_at, verdict in _grouped(contact, zone):
        if part == GRID:
            times.grid[a - 1][b] += count  # ISO weekday: Monday is 1
        elif part == FIRSTS:
            first_opens[a], sent[a] = first, sent_at
        else:
            automatic.add(verdict)
    times.automatic = [words for verdict, words in AUTOMATIC_WORDS.items() if verdict in automatic]
    times.first_open_waits = first_open_waits(first_opens, sent)
    return times
