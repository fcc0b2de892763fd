"""The outreach chart's shapes (templates/alerts/outreach_chart.html draws
them as SVG, no JavaScript): per week, a light bar for the share of tracked
emails fetched at all (what a naive tracker calls opened) with a dark bar
inside it for the share a person opened, so the light part above the dark
one is the machines' gap; and the replied share as a line of dots. The
numbers are in the table beside it (alerts.outreach_tables)."""

import datetime as dt
from dataclasses import dataclass

from onepage.svg import Scale, ticks

from .outreach import Outreach, Tally
from .outreach_tables import percent

# Narrow, so that its labels stay legible once scaled down to a phone.
WIDTH, HEIGHT = 480, 216
LEFT, RIGHT, TOP, BOTTOM = 48, 472, 12, 184
# About 4 week labels whatever the period.
LABELS = 4


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    fetched_y: float
    opened_y: float
    fetched_height: float
    opened_height: float
    replied: tuple[float, float] | None
    title: str


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    grid: list[tuple[float, str]]  # y and its label: 0%, 50%, 100%
    labels: list[tuple[float, str]]  # x and the week's date
    replied_points: str  # the polyline through the replied shares
    summary: str  # the text alternative
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = RIGHT
    bottom: int = BOTTOM


def _rate(part: int, tally: Tally) -> float:
    return part / tally.sent if tally.sent else 0.0


def _short(day: dt.date) -> str:
    return f"{day.day} {day:%b}"


def chart(numbers: Outreach, *, who: str) -> Chart:
    weeks = numbers.weeks
    slot = (RIGHT - LEFT) / len(weeks)
    y = Scale(0, 1, BOTTOM, TOP)
    bars = []
    for n, (day, t) in enumerate(weeks):
        x = LEFT + n * slot
        replied = (round(x + slot / 2, 1), round(y(_rate(t.replied, t)), 1)) if t.sent else None
        title = (
            f"Week of {_short(day)}: {t.sent} tracked emails; fetched {percent(t.fetched, t.sent)}, "
            f"opened by a person {percent(t.opened, t.sent)}, replied {percent(t.replied, t.sent)}"
            if t.sent
            else f"Week of {_short(day)}: no tracked email sent"
        )
        bars.append(
            Bar(
                x=round(x + slot * 0.1, 1),
                width=round(slot * 0.8, 1),
                fetched_y=round(y(_rate(t.fetched, t)), 1),
                opened_y=round(y(_rate(t.opened, t)), 1),
                fetched_height=round(BOTTOM - y(_rate(t.fetched, t)), 1),
                opened_height=round(BOTTOM - y(_rate(t.opened, t)), 1),
                replied=replied,
                title=title,
            )
        )
    every = max(1, round(len(weeks) / LABELS))
    labels = [(round(LEFT + (n + 0.5) * slot, 1), _short(weeks[n][0])) for n in ticks(len(weeks), every)]
    total = numbers.total
    if total.sent:
        summary = (
            f"Chart of {who} tracked emails over {len(weeks)} weeks from {_short(weeks[0][0])}: "
            f"{total.sent} sent; fetched at all {percent(total.fetched, total.sent)} "
            f"(what a naive tracker calls opened), opened by a person {percent(total.opened, total.sent)}, "
            f"replied {percent(total.replied, total.sent)}. The table below has each week's numbers."
        )
    else:
        summary = f"Chart of {who} tracked emails over {len(weeks)} weeks: none sent."
    return Chart(
        bars=bars,
        grid=[(y(v), f"{round(v * 100)}%") for v in (0, 0.5, 1)],
        labels=labels,
        replied_points=" ".join(f"{b.replied[0]},{b.replied[1]}" for b in bars if b.replied),
        summary=summary,
    )
