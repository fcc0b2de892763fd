"""What a daily email tells (alerts.daily): a user's day of people's opens,
by email and recipient, read in one query."""

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Exists, Max, OuterRef, Q

from onepage.models import User
from onepage.permissions import is_admin
from tracking.models import COUNTED, OpenEvent

from .models import AlertSettings, EmailMute


@dataclass
class Line:
    """One recipient's opens of one email; `who` is None for the opens
    counted in the email's total only (aggregate)."""

    who: str | None
    count: int
    last: str  # the last open's time, in the user's time zone


@dataclass
class EmailOpens:
    pk: int
    subject: str
    sender: str | None  # a followed teammate's email: whose it is
    latest: datetime
    lines: list[Line] = field(default_factory=list)
    url: str = ""


def _name(first: str | None, last: str | None) -> str:
    return f"{first or ''} {last or ''}".strip()


def day_opens(user: User, *, start: datetime, end: datetime, zone: zoneinfo.ZoneInfo) -> list[EmailOpens]:
    """The counted opens from `start` to `end` of the user's emails (and, for
    an admin, of the teammates they follow) in their organization, but for
    the emails they muted: the emails with the latest open first, each
    email's recipients likewise, its aggregate opens last."""
    senders = Q(email__sender_id=user.pk)
    if is_admin(user.membership):
        followed = AlertSettings.follows.through.objects.filter(alertsettings__user_id=user.pk).values("user_id")
        senders |= Q(email__sender_id__in=followed)
    rows = (
        OpenEvent.objects.filter(
            senders,
            email__organization_id=user.membership.organization_id,
            verdict__in=COUNTED,
            opened_at__gte=start,
            opened_at__lt=end,
        )
        .exclude(Exists(EmailMute.objects.filter(user_id=user.pk, email_id=OuterRef("email_id"))))
        .values(
            "email_id",
            "email__subject",
            "email__sender_id",
            "email__sender__first_name",
            "email__sender__last_name",
            "email__sender__username",
            "recipient_id",
            "recipient__address",
            "recipient__contact__first_name",
            "recipient__contact__last_name",
        )
        .annotate(n=Count("pk"), last=Max("opened_at"))
        .order_by("-last", "recipient_id")
    )
    emails: dict[int, EmailOpens] = {}
    aggregate: dict[int, Line] = {}
    for row in rows:
        email = emails.get(row["email_id"])
        if email is None:
            own = row["email__sender_id"] == user.pk
            sender = _name(row["email__sender__first_name"], row["email__sender__last_name"])
            email = emails[row["email_id"]] = EmailOpens(
                pk=row["email_id"],
                subject=row["email__subject"] or "(no subject)",
                sender=None if own else sender or row["email__sender__username"],
                latest=row["last"],
            )
        last = row["last"].astimezone(zone).strftime("%H:%M")
        if row["recipient_id"] is None:
            aggregate[email.pk] = Line(who=None, count=row["n"], last=last)
            continue
        who = _name(row["recipient__contact__first_name"], row["recipient__contact__last_name"])
        email.lines.append(Line(who=who or row["recipient__address"], count=row["n"], last=last))
    for pk, line in aggregate.items():
        emails[pk].lines.append(line)
    return list(emails.values())
