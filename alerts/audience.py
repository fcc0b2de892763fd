"""Who is told of an open: the email's sender, and the admins who follow
the sender ("Also tell me about", AlertSettings.follows), each unless they
muted the email. Never across organizations: the sender only while a
member of the email's organization, a follower only while an admin of it;
never twice (a follower of their own emails is told as the sender, once).

Loaded for a whole batch in three queries whatever its size: the senders
(with their settings and organizations), their followers (the same), the
mutes of all of them among the batch's emails."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from onepage.models import Membership, User
from onepage.permissions import is_admin
from tracking.recorded import Recorded

from .models import AlertSettings, EmailMute

Follow = AlertSettings.follows.through


@dataclass(frozen=True)
class Audience:
    users: dict[int, User]
    # A sender's followers, by the sender's id.
    followers: dict[int, list[int]]
    # (user id, email id) muted.
    muted: frozenset[tuple[int, int]]

    def of(self, r: Recorded) -> Iterator[User]:
        """The users to tell of this open."""
        sender = self.users.get(r.sender_id)
        if sender is not None and _member_of(sender, r.organization_id) and not self._muted(sender, r):
            yield sender
        for pk in self.followers.get(r.sender_id, ()):
            follower = self.users[pk]
            if pk != r.sender_id and _admin_of(follower, r.organization_id) and not self._muted(follower, r):
                yield follower

    def _muted(self, user: User, r: Recorded) -> bool:
        return (user.pk, r.email_id) in self.muted


def _member_of(user: User, organization_id: int) -> bool:
    membership = getattr(user, "membership", None)
    return membership is not None and membership.organization_id == organization_id


def _admin_of(user: User, organization_id: int) -> bool:
    return _member_of(user, organization_id) and is_admin(user.membership)


def audience_of(opens: Sequence[Recorded]) -> Audience:
    senders = {r.sender_id for r in opens}
    users = {
        u.pk: u
        for u in User.objects.filter(pk__in=senders, is_active=True).select_related(
            "membership__organization", "alert_settings"
        )
    }
    followers: dict[int, list[int]] = {}
    follows = Follow.objects.filter(
        user_id__in=senders,
        alertsettings__user__is_active=True,
        alertsettings__user__membership__role=Membership.Role.ADMIN,
    ).select_related("alertsettings__user__membership__organization")
    for row in follows:
        # The follower's settings come along (select_related caches the
        # one-to-one both ways); a follower who also sent keeps one object.
        follower = users.setdefault(row.alertsettings.user_id, row.alertsettings.user)
        followers.setdefault(row.user_id, []).append(follower.pk)
    muted = frozenset(
        EmailMute.objects.filter(user_id__in=users, email_id__in={r.email_id for r in opens}).values_list(
            "user_id", "email_id"
        )
    )
    return Audience(users=users, followers=followers, muted=muted)
