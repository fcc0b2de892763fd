"""What a browser notification shows, for the poll's ?browser=1 answer and
the live channel's messages alike: the newest unread notifications made in
the last few minutes, for users who turned browser notifications on. The
page's script shows each once (by its id)."""

from collections.abc import Iterable

from django.utils import timezone

from .models import Notification
from .words import kind_words, recipient_name, sender_words

# At most this many at a time, of notifications this new (a tab opened
# later still shows what it missed meanwhile, once).
BROWSER_SIZE = 5
BROWSER_FRESH = timezone.timedelta(minutes=10)


def fresh_for_the_browser(user_ids: Iterable[int]) -> dict[int, list[dict]]:
    """Each user's fresh items, newest first (one query: the opt-in is a
    condition of it)."""
    ids = list(user_ids)
    fresh = (
        Notification.objects.filter(
            user_id__in=ids,
            read_at__isnull=True,
            created_at__gte=timezone.now() - BROWSER_FRESH,
            user__alert_settings__browser=True,
        )
        .select_related("email__sender", "recipient__contact")
        .order_by("-pk")
    )
    if len(ids) == 1:
        fresh = fresh[:BROWSER_SIZE]
    items: dict[int, list[dict]] = {}
    for n in fresh:
        mine = items.setdefault(n.user_id, [])
        if len(mine) < BROWSER_SIZE:
            mine.append(in_the_browser(n))
    return items


def in_the_browser(n: Notification) -> dict:
    """Title "Bea Buyer opened again after 3 days", body "Spring order"
    (and "(sent by Sam Seller)" for a followed teammate's email)."""
    subject = n.email.subject or "(no subject)"
    whose = sender_words(n)
    return {
        "n": n,
        "title": f"{recipient_name(n)} {kind_words(n)}",
        "body": f"{subject} ({whose})" if whose else subject,
    }
