"""Template helpers of the open reports: the eye icon's words and count, and
the report of one email (see tracking/includes/eye.html and open_report.html)."""

from django import template

from emails.models import Email
from tracking import report_words, reports

register = template.Library()

FILTERS = (
    "eye_title",
    "eye_count",
    "eye_state",
    "eye_label",
    "eye_explained",
    "opened_times",
    "automatic_title",
    "automatic_fetches",
)
for _name in FILTERS:
    register.filter(_name, getattr(report_words, _name))


@register.simple_tag
def open_report_for(email: Email) -> reports.OpenReport:
    """The email's open report: the one a list attached in bulk, or loaded
    now for a page that shows a single email."""
    return reports.open_report_for(email)
