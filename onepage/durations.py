"""The time from a send to its first open, in words: one rule for every page
that says it ("Median time to first open: 2 to 4 hours", with an en dash, on a contact's
reading times and in Reports).

A wait is told by its band (BANDS: under a minute, 1 to 5 minutes, ...,
over 4 weeks), not to the minute. So a team's median can be kept by a
rollup as counts per band (emails.models.OutreachWeek), summed over any
weeks and reps, and still name the same band as the waits themselves: the
median is the middle wait's band (the lower of the two middle waits when
their number is even), and a wait's band never goes down as it grows."""

import datetime as dt
from collections.abc import Iterable, Sequence

MINUTE, HOUR, DAY = 60, 3600, 86400
DASH = "\N{EN DASH}"
# (upper bound in seconds, exclusive; words), shortest first; the last band has no bound.
BANDS: tuple[tuple[int | None, str], ...] = (
    (MINUTE, "under a minute"),
    (5 * MINUTE, f"1{DASH}5 minutes"),
    (15 * MINUTE, f"5{DASH}15 minutes"),
    (30 * MINUTE, f"15{DASH}30 minutes"),
    (HOUR, f"30{DASH}60 minutes"),
    (2 * HOUR, f"1{DASH}2 hours"),
    (4 * HOUR, f"2{DASH}4 hours"),
    (8 * HOUR, f"4{DASH}8 hours"),
    (12 * HOUR, f"8{DASH}12 hours"),
    (DAY, f"12{DASH}24 hours"),
    (2 * DAY, f"1{DASH}2 days"),
    (3 * DAY, f"2{DASH}3 days"),
    (7 * DAY, f"3{DASH}7 days"),
    (14 * DAY, f"1{DASH}2 weeks"),
    (28 * DAY, f"2{DASH}4 weeks"),
    (None, "over 4 weeks"),
)


def band_of(wait: dt.timedelta) -> int:
    """The index in BANDS of a wait (a negative one, a clock's skew, is the first)."""
    seconds = wait.total_seconds()
    return next(i for i, (bound, _) in enumerate(BANDS) if bound is None or seconds < bound)


def band_words(band: int) -> str:
    return BANDS[band][1]


def median_band(counts: Sequence[int]) -> int | None:
    """The middle wait's band, from how many waits each band holds (in
    BANDS' order); None when there is none."""
    total = sum(counts)
    if not total:
        return None
    seen = 0
    for band, n in enumerate(counts):
        seen += n
        if 2 * seen >= total:
            return band
    raise AssertionError("unreachable: the counts add up to their total")


def median_words(waits: Iterable[dt.timedelta]) -> str:
    """The median of these waits in words; empty when there is none."""
    counts = [0] * len(BANDS)
    for wait in waits:
        counts[band_of(wait)] += 1
    band = median_band(counts)
    return "" if band is None else band_words(band)
