"""`{% mute_button email %}`: the email page's Mute alerts / Unmute button,
for the email's sender only (only the sender is told of its opens). One
query, for the sender's own emails only."""

from django import template

from alerts.models import EmailMute
from emails.access import may_send_as

register = template.Library()


@register.inclusion_tag("alerts/mute_button.html", takes_context=True)
def mute_button(context: template.Context, email) -> dict:
    request = context["request"]
    user = request.user
    # The sender: whom the opens are told to (alerts.creation).
    mine = email.direction != "incoming" and may_send_as(user, email)
    muted = mine and EmailMute.objects.filter(user=user, email=email).exists()
    return {"email": email, "mine": mine, "muted": muted, "csrf_token": context.get("csrf_token")}
