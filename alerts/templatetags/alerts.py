"""`{% mute_button email %}`: the email page's Mute alerts / Unmute button,
for those told of its opens (alerts.muting: the sender, an admin following
the sender). One query for the sender's own emails, two for a follower's."""

from django import template

from alerts.models import EmailMute
from alerts.muting import may_mute

register = template.Library()


@register.inclusion_tag("alerts/mute_button.html", takes_context=True)
def mute_button(context: template.Context, email) -> dict:
    request = context["request"]
    user = request.user
    mine = email.direction != "incoming" and may_mute(user, request.membership, email)
    muted = mine and EmailMute.objects.filter(user=user, email=email).exists()
    return {"email": email, "mine": mine, "muted": muted, "csrf_token": context.get("csrf_token")}
