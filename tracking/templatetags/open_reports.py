"""Template helpers of the open reports: the eye icon's tooltip and the
report of one email (see tracking/includes/eye.html and open_report.html)."""

from typing import Any

from django import template

from emails.models import Email
from tracking import reports

register = template.Library()


@register.filter
def eye_title(item: Any) -> str:
    return reports.eye_title(item)


@register.filter
def eye_count(item: Any) -> int:
    return reports.eye_count(item)


@register.filter
def opened_times(count: int) -> str:
    return reports.opened_times(count)


@register.filter
def automatic_title(item: Any) -> str:
    return reports.automatic_title(item)


@register.filter
def automatic_fetches(count: int) -> str:
    return reports.automatic_fetches(count)


@register.simple_tag
def open_report_for(email: Email) -> reports.OpenReport:
    """The email's open report: the one a list attached in bulk, or loaded
    now for a page that shows a single email."""
    return reports.open_report_for(email)
