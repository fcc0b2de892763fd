"""Who may mute an email's alerts: whoever is told of its opens
(alerts.audience): its sender, and an admin of its organization who follows
the sender. Written once for the mute view and the email page's button."""

from emails.access import may_send_as
from emails.models import Email
from onepage.models import Membership, User
from onepage.permissions import is_admin

from .models import AlertSettings

Follow = AlertSettings.follows.through


def may_mute(user: User, membership: Membership | None, email: Email) -> bool:
    if may_send_as(user, email):
        return True
    if not is_admin(membership) or membership.organization_id != email.organization_id:
        return False
    return Follow.objects.filter(alertsettings__user=user, user_id=email.sender_id).exists()
