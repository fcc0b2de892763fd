"""Notifications lost between a batch's commit and its after-commit listener
(a recorder killed in between, a listener that failed): made again from the
opens themselves, every REPAIR_INTERVAL by beat.

The repair hands alerts.creation.notify the recent people's opens that no
first-open or came-back notification tells of (the others are told of, or
in a digest line, or not wanted), each with the recipient's counted open
before it. notify is idempotent for them: a first open or a comeback is one
row per hit key (a replay does nothing), and a digest line's count is
counted again from its day's opens, never added to. So a repair that finds
nothing lost changes nothing, and one that finds a lost open makes exactly
the notification the listener would have made."""

from datetime import datetime, timedelta

from django.db.models import Exists, F, OuterRef, Subquery
from django.utils import timezone

from tracking.models import COUNTED, OpenEvent
from tracking.recorded import Recorded

from .creation import notify
from .models import Notification

# How far back the repair looks: longer than any pause of the recorder a
# restart would not cover, and cheap (the opens' time index).
REPAIR_WINDOW = timedelta(hours=6)
BATCH = 2000


def repair_notifications(*, now: datetime | None = None, window: timedelta = REPAIR_WINDOW) -> int:
    """Tell of the window's opens whose notifications were lost. Returns how
    many opens were handed to notify (told again or found already told)."""
    now = now or timezone.now()
    told = Notification.objects.filter(open=OuterRef("hit_key")).exclude(kind=Notification.Kind.DIGEST)
    before = (
        OpenEvent.objects.filter(
            recipient=OuterRef("recipient"), verdict__in=COUNTED, opened_at__lt=OuterRef("opened_at")
        )
        .order_by("-opened_at")
        .values("opened_at")[:1]
    )
    opens = (
        OpenEvent.objects.filter(
            opened_at__gte=now - window,
            opened_at__lte=now,
            verdict__in=COUNTED,
            recipient__isnull=False,
            hit_key__isnull=False,
        )
        .exclude(Exists(told))
        .annotate(
            organization_id=F("email__organization_id"),
            sender_id=F("email__sender_id"),
            previous=Subquery(before),
        )
        .order_by("pk")
        .values_list(
            "pk",
            "hit_key",
            "recipient_id",
            "email_id",
            "organization_id",
            "sender_id",
            "opened_at",
            "verdict",
            "previous",
        )
    )
    handed, last = 0, 0
    while True:
        rows = list(opens.filter(pk__gt=last)[:BATCH])
        if not rows:
            return handed
        last = rows[-1][0]
        notify([Recorded(*row[1:]) for row in rows])
        handed += len(rows)
