"""The tables of the team's outreach (alerts.outreach), as the page shows
them and as their CSV files hold them: the same cells, from here only. In
the CSV a share's cell ("41% (12)") is two columns, the count and the
percentage."""

import datetime as dt
import html
from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from onepage.durations import band_words
from onepage.models import User

from .outreach import Outreach, Tally

TABLES = {
    "weeks": "Week by week",
    "reps": "By rep",
    "rep-weeks": "Each rep, week by week",
}
# A share of no email, the median of none.
NOTHING = "\N{EN DASH}"
MEASURES = ("Tracked emails", "Fetched at all", "Opened by a person", "Replied", "Median to first open")


def percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else NOTHING


def share(part: int, whole: int) -> str:
    return f"{percent(part, whole)} ({part})" if whole else NOTHING


def duration(band: int | None) -> str:
    """The median's cell: its band in onepage.durations' words, a dash for none."""
    return NOTHING if band is None else band_words(band)


def week_label(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def rep_name(user: User) -> str:
    return user.get_full_name() or user.username


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    head: list[str]
    rows: list[list[str]]
    # Rows left out (the page shows the latest rep-weeks; the CSV holds them all).
    hidden: int = 0

    @property
    def body_html(self) -> SafeString:
        """The rows, each cell with its column's name (a phone shows them one
        under another), every value escaped. Built here, not by the
        template's loops or format_html per cell: a big team's tables are
        hundreds of cells, and those were most of the page's time
        (bench/outreach.py)."""
        if not self.rows:
            return format_html('<tr><td colspan="{}">No tracked email sent in these weeks.</td></tr>', len(self.head))
        opens = [f'<td data-label="{html.escape(name)}">' for name in self.head]
        rows = (
            "".join(o + html.escape(cell) + "</td>" for o, cell in zip(opens, row, strict=True)) for row in self.rows
        )
        return mark_safe("<tr>" + "</tr><tr>".join(rows) + "</tr>")  # noqa: S308 - every value escaped above

    def csv_rows(self) -> list[list[str]]:
        """The rows with each share split into its count and percentage."""
        head: list[str] = []
        for name in self.head:
            head += [name, f"{name} %"] if name in SHARES else [name]
        rows = []
        for row in self.rows:
            cells: list[str] = []
            for name, cell in zip(self.head, row, strict=True):
                if name in SHARES:
                    pct, _, count = cell.partition(" ")
                    cells += [count.strip("()"), pct] if cell != NOTHING else ["", ""]
                else:
                    cells.append(cell)
            rows.append(cells)
        return [head, *rows]


SHARES = frozenset(MEASURES[1:4])


def _cells(tally: Tally) -> list[str]:
    return [
        str(tally.sent),
        share(tally.fetched, tally.sent),
        share(tally.opened, tally.sent),
        share(tally.replied, tally.sent),
        duration(tally.to_first_open),
    ]


def tables(numbers: Outreach) -> dict[str, Table]:
    return {
        "weeks": Table(
            "weeks", TABLES["weeks"], ["Week of", *MEASURES], [[week_label(d), *_cells(t)] for d, t in numbers.weeks]
        ),
        "reps": Table("reps", TABLES["reps"], ["Rep", *MEASURES], [[rep_name(u), *_cells(t)] for u, t in numbers.reps]),
        "rep-weeks": Table(
            "rep-weeks",
            TABLES["rep-weeks"],
            ["Week of", "Rep", *MEASURES],
            [[week_label(d), rep_name(u), *_cells(t)] for d, u, t in numbers.rep_weeks],
            hidden=numbers.rep_week_count - len(numbers.rep_weeks),
        ),
    }
