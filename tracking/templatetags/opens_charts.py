"""The email page's opens over time (tracking.timeline_chart), drawn by
templates/tracking/opens_over_time.html."""

from django import template
from django.utils import timezone

from emails.models import Email, EmailRecipient
from tracking import timeline_chart

register = template.Library()


@register.simple_tag
def opens_over_time(email: Email) -> timeline_chart.OpensChart | None:
    """In the viewer's time zone (activated for the request by
    onepage.middleware from User.zone's rule)."""
    recipients = getattr(email, "report_recipients", None)
    if recipients is None:
        recipients = list(EmailRecipient.objects.filter(email=email).select_related("contact").order_by("pk"))
    return timeline_chart.opens_over_time(email, recipients, now=timezone.now(), zone=timezone.get_current_timezone())
