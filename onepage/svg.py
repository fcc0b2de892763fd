"""Small helpers for the charts the pages draw as server-rendered SVG: no
JavaScript, so the CSP stays as it is. A chart's template draws the shapes
(in a viewBox, so it scales down to a 390 px screen); these say which shade
a count gets, where a value sits along an axis and which slots of an axis
get a label, so that every chart shades and labels alike.

- `shade(count, top)`: the step, 0 to SHADES, of a count on a scale whose
  darkest step is `top`. Write it as class="shade-N": static/css/onepage.css
  (the "Charts" block) colours .shade-0 as empty and every step above it at
  3:1 or more against the card's white and against the empty step (WCAG
  1.4.11), darker as the count grows.
- `Scale`: a value's position along an axis, linearly.
- `ticks(count, every)`: the slots of an axis of `count` slots that get a
  label (every `every`-th from the first), e.g. hours 0, 6, 12, 18.

Every chart also says what it shows in words (role="img" with an aria-label
and a <title>) and puts its numbers in a table inside a <details> ("Show as
table"), which opens without JavaScript. See templates/tracking/includes/
reading_times.html for one drawn this way."""

import math
from dataclasses import dataclass

SHADES = 4


def shade(count: int, top: int) -> int:
    """0 for nothing; else 1 (the lightest) to SHADES (`top` or more)."""
    if count <= 0 or top <= 0:
        return 0
    return min(SHADES, max(1, math.ceil(count / top * SHADES)))


@dataclass(frozen=True)
class Scale:
    """Maps values from `low`..`high` to positions `start`..`end` (either
    way round: an SVG's y grows downwards)."""

    low: float
    high: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        if self.high == self.low:
            return self.start
        return self.start + (value - self.low) / (self.high - self.low) * (self.end - self.start)


def ticks(count: int, every: int) -> list[int]:
    return list(range(0, count, max(1, every)))
