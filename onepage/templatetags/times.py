"""`{% time_element at %}`: a <time> element formatted in Python, for lists.

It writes what the templates wrote with three `date` filters,

    <time datetime="{{ at|date:'c' }}" title="{{ at|date:'j M Y, H:i T' }}">{{ at|date:"j M Y, H:i" }}</time>

with the text in "j M Y, H:i" (the default), "j M, H:i", or "natural"
(humanize's naturaltime: "3 minutes ago"), in the viewer's time zone. The
list pages show two or three such times per row, and the `date` filter parses
its format string on every call: it was the largest part of their rendering.
onepage/tests/test_times.py checks the output against the filters.

`{% reltime at %}`: a relative time ("3 minutes ago", naturaltime's words)
that static/js/reltime.js keeps true without a reload,

    <time datetime="2026-03-05T09:17:30.248Z" data-relative title="5 Mar 2026, 14:47 IST">3 minutes ago</time>

the instant in UTC to the millisecond (what the script reads), the title in
the viewer's time zone. The words are naturaltime's for the instant to the
millisecond, so that the script, which has milliseconds, says the same.
onepage/tests/test_reltime.py and test_browser_reltime.py check both.
"""

import datetime as dt

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.template.defaultfilters import date as date_filter
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.html import format_html

register = template.Library()

_MONTHS = {n: str(name).title() for n, name in MONTHS_3.items()}


@register.simple_tag
def time_element(at: dt.datetime | None, text: str = "j M Y, H:i") -> str:
    if not isinstance(at, dt.datetime):
        return ""
    local = timezone.localtime(at) if timezone.is_aware(at) else at
    clock = f"{local.hour:02d}:{local.minute:02d}"
    day = f"{local.day} {_MONTHS[local.month]}"
    if local.tzinfo is not None:
        title = f"{day} {local.year}, {clock} {local.tzname()}"
    else:  # naive: the filter's own way
        title = date_filter(local, "j M Y, H:i T")
    if text == "j M Y, H:i":
        shown = f"{day} {local.year}, {clock}"
    elif text == "j M, H:i":
        shown = f"{day}, {clock}"
    elif text == "natural":
        shown = naturaltime(at)
    else:
        shown = date_filter(local, text)
    return format_html('<time datetime="{}" title="{}">{}</time>', local.isoformat(), title, shown)


@register.simple_tag
def reltime(at: dt.datetime | None) -> str:
    if not isinstance(at, dt.datetime):
        return ""
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    utc = at.astimezone(dt.UTC)
    utc = utc.replace(microsecond=utc.microsecond // 1000 * 1000)
    instant = f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"
    local = timezone.localtime(utc)
    title = f"{local.day} {_MONTHS[local.month]} {local.year}, {local.hour:02d}:{local.minute:02d} {local.tzname()}"
    return format_html('<time datetime="{}" data-relative title="{}">{}</time>', instant, title, naturaltime(utc))
