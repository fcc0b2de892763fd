"""The bell's live channel, publishing half: when a user's unread count
changes (notify made notifications, they read one or all, opens were
deleted and their notifications with them), each user concerned gets one
small JSON message on a Redis pub/sub channel of their own, which their
open streams (alerts.stream_views) forward to the page:

    {"unread": 3, "fresh": [{"id": 7, "title": "...", "body": "...", "url": "/alerts/7/open/"}]}

"fresh" only for a user who turned browser notifications on (the same
items the poll's ?browser=1 answers). The counts of all the users concerned
cost one grouped query, their fresh items one more (only when one of them
opted in). Without Redis nothing is published: the bell polls. A Redis
that fails costs a warning, never the caller's work (the notifications are
committed already; the next poll or change tells the page)."""

import functools
import json
import logging
from collections.abc import Iterable

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse

from onepage import redis_url
from onepage.models import User

from .browser import fresh_for_the_browser
from .models import Notification

logger = logging.getLogger(__name__)
REDIS_TIMEOUT = 0.5


@functools.cache
def _client(url: str) -> redis.Redis:
    return redis_url.client(url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT)


def channel(user_id: int, url: str | None = None) -> str:
    """The user's channel. Redis pub/sub ignores the database number, so
    it is part of the name: two sites sharing one Redis (databases 0 and 1)
    never hear each other's users."""
    url = url or settings.REDIS_URL
    db = _client(url).connection_pool.connection_kwargs.get("db", 0)
    return f"onepage:alerts:{db}:{user_id}"


def messages_for(user_ids: Iterable[int]) -> dict[int, dict]:
    """Each user's message: their unread count, and their fresh items when
    they opted in to browser notifications."""
    ids = set(user_ids)
    # A count per user on the unread index (notification_unread_idx), not
    # a join through all their notifications, read ones included.
    unread = (
        Notification.objects.filter(user=OuterRef("pk"), read_at__isnull=True)
        .order_by()
        .values("user")
        .annotate(n=Count("*"))
        .values("n")
    )
    rows = list(
        User.objects.filter(pk__in=ids)
        .annotate(unread=Coalesce(Subquery(unread), 0))
        .values_list("pk", "unread", "alert_settings__browser")
    )
    messages = {pk: {"unread": unread} for pk, unread, _ in rows}
    opted_in = [pk for pk, _, browser in rows if browser]
    if opted_in:
        fresh = fresh_for_the_browser(opted_in)
        for pk in opted_in:
            messages[pk]["fresh"] = [
                {"id": item["n"].pk, "title": item["title"], "body": item["body"],
                 "url": reverse("alerts:open", args=[item["n"].pk])}
                for item in fresh.get(pk, [])
            ]  # fmt: skip
    return messages


def publish_after_deletion(opens: QuerySet) -> None:
    """tracking.erasure's listener, before opens are deleted (a contact
    erased, a withdrawal, the retention purge): the users whose unread
    notifications go with them hear their new count once the deletion
    commits, so an open page's bell does not keep counting what is gone.
    One query per batch of opens, and none without Redis."""
    if not settings.REDIS_URL:
        return
    # Without the model's ordering, which would make DISTINCT one row per notification.
    unread = Notification.objects.filter(open__in=opens, read_at__isnull=True).order_by()
    users = set(unread.values_list("user_id", flat=True).distinct())
    if users:
        transaction.on_commit(functools.partial(publish_counts, users), robust=True)


def publish_counts(user_ids: Iterable[int]) -> int:
    """Publish the users' new counts; returns how many messages went out."""
    url = settings.REDIS_URL
    ids = set(user_ids)
    if not url or not ids:
        return 0
    messages = messages_for(ids)
    try:
        with _client(url).pipeline(transaction=False) as pipe:
            for user_id, message in messages.items():
                pipe.publish(channel(user_id, url), json.dumps(message))
            pipe.execute()
    except redis.RedisError as exc:
        logger.warning("The bell's live channel is unavailable (%s): the pages poll", exc)
        return 0
    return len(messages)
