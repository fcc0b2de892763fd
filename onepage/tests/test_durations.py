"""A wait to a first open in words: its band. Reports adds up bands from a
rollup, a contact's page from the waits themselves: both must name the
band of the middle wait."""

import datetime as dt
import random
import statistics

import pytest

from onepage.durations import BANDS, band_of, band_words, median_band, median_words

S = dt.timedelta(seconds=1)
M = dt.timedelta(minutes=1)
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("wait", "words"),
    [
        (-5 * M, "under a minute"),  # an open stamped before the send (two clocks)
        (59 * S, "under a minute"),
        (M, "1\N{EN DASH}5 minutes"),
        (59 * M + 59 * S, "30\N{EN DASH}60 minutes"),
        (H, "1\N{EN DASH}2 hours"),
        (3 * H + 59 * M, "2\N{EN DASH}4 hours"),
        (4 * H, "4\N{EN DASH}8 hours"),
        (23 * H, "12\N{EN DASH}24 hours"),
        (2 * D, "2\N{EN DASH}3 days"),
        (27 * D, "2\N{EN DASH}4 weeks"),
        (400 * D, "over 4 weeks"),
    ],
)
def test_a_wait_is_told_by_its_band(wait, words):
    assert band_words(band_of(wait)) == words


def test_a_longer_wait_never_falls_in_an_earlier_band():
    waits = [k * 17 * S for k in range(0, 200_000, 7)]
    bands = [band_of(w) for w in waits]
    assert bands == sorted(bands)
    assert set(bands) == set(range(len(BANDS)))


def test_the_median_is_the_middle_waits_band_whether_counted_by_band_or_from_the_waits():
    rng = random.Random(7)
    for size in (1, 2, 3, 4, 5, 10, 11, 57):
        for _ in range(40):
            waits = [dt.timedelta(seconds=rng.expovariate(1 / 20_000)) for _ in range(size)]
            counts = [0] * len(BANDS)
            for w in waits:
                counts[band_of(w)] += 1
            middle = statistics.median_low(waits)  # the lower of the two middle ones for an even count
            assert median_band(counts) == band_of(middle)
            assert median_words(waits) == band_words(band_of(middle))


def test_an_even_count_takes_the_lower_middle_wait():
    assert median_words([10 * M, 3 * H]) == "5\N{EN DASH}15 minutes"
    assert median_words([10 * M, 3 * H, 5 * H]) == "2\N{EN DASH}4 hours"


def test_no_wait_no_median():
    assert median_band([0] * len(BANDS)) is None
    assert median_words([]) == ""
