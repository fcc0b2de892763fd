"""{% time_element %} writes what the three `date` filters wrote."""

import datetime as dt
import zoneinfo

import pytest
from django.template import Context, Template
from django.utils import timezone

FILTERS = Template(
    "{% load humanize %}"
    "<time datetime=\"{{ at|date:'c' }}\" title=\"{{ at|date:'j M Y, H:i T' }}\">"
    "{% if text == 'natural' %}{{ at|naturaltime }}{% else %}{{ at|date:text }}{% endif %}</time>"
)
TAG = Template("{% load times %}{% time_element at text %}")

ZONES = ["UTC", "Europe/Dublin", "Asia/Kolkata", "America/St_Johns", "Australia/Lord_Howe", "Pacific/Kiritimati"]
TIMES = [
    dt.datetime(2026, 1, 5, 9, 7, 3, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC),  # Dublin's clocks go forward
    dt.datetime(2026, 12, 31, 23, 59, 59, 999, tzinfo=dt.UTC),
]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("text", ["j M Y, H:i", "j M, H:i", "natural", "D j M Y"])
def test_the_tag_writes_what_the_filters_wrote(zone, text):
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        for at in [*TIMES, timezone.now() - dt.timedelta(minutes=3)]:
            context = Context({"at": at, "text": text})
            assert TAG.render(context) == FILTERS.render(context), (zone, text, at)


def test_nothing_for_no_time():
    assert TAG.render(Context({"at": None, "text": "j M, H:i"})) == ""
