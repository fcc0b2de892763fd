"""The charts' shared helpers: a count's shade, a value's place, an axis's labels."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from onepage.svg import SHADES, Scale, shade, ticks


@pytest.mark.parametrize(
    ("count", "top", "step"), [(0, 9, 0), (1, 9, 1), (3, 12, 1), (4, 12, 2), (9, 12, 3), (12, 12, 4), (20, 12, 4)]
)
def test_a_count_gets_a_step_darker_as_it_nears_the_top(count, top, step):
    assert shade(count, top) == step


def test_nothing_to_shade_on_an_empty_chart():
    assert shade(0, 0) == 0 and shade(3, 0) == 0


def test_a_scale_runs_either_way_round():
    assert Scale(0, 24, 36, 372)(12) == 204
    assert Scale(0, 10, 100, 0)(2.5) == 75  # an SVG's y grows downwards
    assert Scale(5, 5, 7, 9)(5) == 7


def test_ticks_label_every_nth_slot():
    assert ticks(24, 6) == [0, 6, 12, 18]
    assert ticks(7, 0) == list(range(7))


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted([_luminance(a), _luminance(b)], reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_every_shade_stands_out_from_white_and_from_the_empty_step():
    css = (Path(settings.BASE_DIR) / "static" / "css" / "onepage.css").read_text()
    fills = dict(re.findall(r"\.shade-(\d) \{ fill: (#[0-9a-f]{6}); \}", css))
    assert sorted(fills) == [str(n) for n in range(SHADES + 1)]
    for step in range(1, SHADES + 1):
        assert _contrast(fills[str(step)], "#ffffff") >= 3
        assert _contrast(fills[str(step)], fills["0"]) >= 3
