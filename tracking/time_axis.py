"""A time axis drawn left to right in a chart's SVG (tracking.timeline_chart):
where a time sits, and at most MAX_TICKS ticks on the viewer's own hours,
days, Mondays or months (walked on the wall clock of their time zone, so a
tick is at a local hour whatever the offset or summer time), with labels
that name a day at its midnight."""

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.utils import dateformat

from onepage.svg import Scale

# The SVG's user units: the viewBox scales them to the page's width.
WIDTH, LEFT, RIGHT = 360, 10, 350
MAX_TICKS = 5


@dataclass(frozen=True)
class Tick:
    at: dt.datetime
    x: float
    label: str

    @property
    def anchor(self) -> str:
        """Labels near an edge stay inside the picture."""
        return "start" if self.x < LEFT + 20 else "end" if self.x > RIGHT - 20 else "middle"


def x_of(at: dt.datetime, start: dt.datetime, end: dt.datetime) -> float:
    seconds = Scale(0, (end - start).total_seconds(), LEFT, RIGHT)((at - start).total_seconds())
    return round(min(RIGHT, max(LEFT, seconds)), 1)


# The ticks' steps, finest first: (unit, how many).
STEPS = [("hour", n) for n in (1, 2, 3, 6, 12)] + [("day", 1), ("day", 2), ("week", 1), ("week", 2)]
STEPS += [("month", n) for n in (1, 3, 6, 12)]
LABELS = {"day": "D j", "week": "j M", "month": "M Y"}


def _walk(first: dt.datetime, last: dt.datetime, unit: str, n: int):
    """Wall-clock times of the viewer's zone (naive), on the step, from before
    `first` to `last`."""
    t = first.replace(minute=0, second=0, microsecond=0)
    t = t.replace(hour=t.hour - t.hour % n if unit == "hour" else 0)
    if unit == "week":
        t -= dt.timedelta(days=t.weekday())
    if unit == "month":
        t = t.replace(day=1, month=t.month - (t.month - 1) % n)
    while t <= last:
        yield t
        if unit == "month":
            months = t.month - 1 + n
            t = t.replace(year=t.year + months // 12, month=months % 12 + 1)
        else:
            t += dt.timedelta(hours=n) if unit == "hour" else dt.timedelta(days=n * (7 if unit == "week" else 1))


def ticks(start: dt.datetime, end: dt.datetime, zone: zoneinfo.ZoneInfo) -> list[Tick]:
    """At most MAX_TICKS ticks on local hours, days, Mondays or months."""
    first, last = start.astimezone(zone).replace(tzinfo=None), end.astimezone(zone).replace(tzinfo=None)
    found: list[dt.datetime] = []
    for unit, n in STEPS:
        found = sorted({t.replace(tzinfo=zone) for t in _walk(first, last, unit, n)})
        found = [t for t in found if start <= t <= end]
        if len(found) <= MAX_TICKS:
            break
    result = []
    for t in found:
        fmt = LABELS.get(unit) or ("D j" if (t.hour, t.minute) == (0, 0) else "H:i")
        result.append(Tick(t, x_of(t, start, end), dateformat.format(t, fmt)))
    return result
