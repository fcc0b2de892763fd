"""The open-recording pipeline: pixel view -> Redis stream -> batch insert.

With Redis configured the pixel view only appends the open to a stream (one
round trip, no database), and `drain_opens`, run by Celery beat, moves the
stream into OpenEvent in batches. Without Redis, or when Redis does not
answer, the open is written directly. Either way one writer, `write_opens`,
inserts the events and recomputes the counters from them, so the counters
always agree with the OpenEvent table.
"""

import functools
import logging
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import Count, IntegerField, Max, Min, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from emails.models import Email, EmailRecipient

from .models import OpenEvent
from .policy import may_record_open

logger = logging.getLogger(__name__)

# A dead or overloaded Redis must cost the pixel view little: fail fast, fall
# back to the database, and leave Redis alone for a few seconds so that during
# an outage each pixel does not wait for the timeout again.
REDIS_TIMEOUT = 0.5
REDIS_RETRY_AFTER = 5.0
_redis_down_until: dict[str, float] = {}


def forget_redis_outages() -> None:
    """Try Redis again at the next open instead of waiting out the pause."""
    _redis_down_until.clear()


GROUP = "recorders"
# A consumer that has held entries this long without acknowledging them is
# taken to have crashed: its entries are handed to the next drain.
RECLAIM_IDLE_MS = 60_000


@dataclass(frozen=True)
class Open:
    recipient_id: int
    opened_at: datetime
    # The stream entry id; None when written directly.
    stream_id: str | None = None


@functools.cache
def redis_client(url: str) -> redis.Redis:
    """The client of the open stream's Redis: one (and so one connection
    pool) per process and URL."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=REDIS_TIMEOUT,
        socket_timeout=REDIS_TIMEOUT,
        decode_responses=True,
    )


def record_open(*, recipient_id: int, opened_at: datetime) -> None:
    """Record that a recipient's pixel was fetched. Never raises: the pixel
    must be served whatever happens here."""
    url = settings.REDIS_URL
    if url and time.monotonic() >= _redis_down_until.get(url, 0):
        try:
            redis_client(url).xadd(
                settings.OPEN_STREAM,
                {"recipient": recipient_id, "at": opened_at.isoformat()},
                maxlen=settings.OPEN_STREAM_MAXLEN,
                approximate=True,
            )
            return
        except redis.RedisError as exc:
            _redis_down_until[url] = time.monotonic() + REDIS_RETRY_AFTER
            logger.warning("Open stream unavailable (%s): writing opens directly for %gs", exc, REDIS_RETRY_AFTER)
    try:
        write_opens(opens=[Open(recipient_id=recipient_id, opened_at=opened_at)])
    except Exception:
        logger.exception("Could not record the open of recipient %s", recipient_id)


def write_opens(*, opens: Sequence[Open]) -> int:
    """Insert the opens the policy allows and recompute the counters of every
    recipient and email they touch, in one transaction. Opens of unknown
    recipients, and stream entries already inserted, are skipped. Returns how
    many opens were newly recorded."""
    recipient_ids = {o.recipient_id for o in opens}
    with transaction.atomic():
        # Locking the emails serializes writers that touch the same email, so
        # two batches recomputing its counters at once cannot lose an open.
        recipients = {
            r.pk: r
            for r in EmailRecipient.objects.select_related("email__organization")
            .select_for_update(of=("email",))
            .filter(pk__in=recipient_ids)
            .order_by("email_id", "pk")
        }
        allowed = {
            pk
            for pk, r in recipients.items()
            if may_record_open(email=r.email, organization=r.email.organization, recipient=r)
        }
        stream_ids = [o.stream_id for o in opens if o.stream_id and o.recipient_id in allowed]
        seen = set(OpenEvent.objects.filter(stream_id__in=stream_ids).values_list("stream_id", flat=True))
        new = [
            OpenEvent(
                recipient_id=o.recipient_id,
                email_id=recipients[o.recipient_id].email_id,
                opened_at=o.opened_at,
                stream_id=o.stream_id,
            )
            for o in opens
            if o.recipient_id in allowed and (o.stream_id is None or o.stream_id not in seen)
        ]
        if not new:
            return 0
        # ignore_conflicts: a stream entry inserted by a concurrent drain
        # since the check above still counts once.
        OpenEvent.objects.bulk_create(new, ignore_conflicts=True)
        touched_recipients = {e.recipient_id for e in new}
        touched_emails = {e.email_id for e in new}
        EmailRecipient.objects.filter(pk__in=touched_recipients).update(**_counters("recipient"))
        Email.objects.filter(pk__in=touched_emails).update(**_counters("email"))
    return len(new)


def _counters(field: str) -> dict:
    """open_count, first_opened_at and last_opened_at of each row, computed
    from its OpenEvents in the UPDATE itself (one statement per table)."""
    events = OpenEvent.objects.filter(**{field: OuterRef("pk")}).order_by().values(field)
    return {
        "open_count": Coalesce(
            Subquery(events.annotate(n=Count("pk")).values("n"), output_field=IntegerField()), Value(0)
        ),
        "first_opened_at": Subquery(events.annotate(first=Min("opened_at")).values("first")),
        "last_opened_at": Subquery(events.annotate(last=Max("opened_at")).values("last")),
    }


def drain_opens(
    *,
    batch_size: int | None = None,
    max_batches: int = 20,
    reclaim_idle_ms: int = RECLAIM_IDLE_MS,
) -> int:
    """Move opens from the Redis stream into the database, batch by batch,
    until the stream is empty or `max_batches` were written. Returns how many
    opens were recorded.

    Entries are acknowledged (and deleted) only after their batch committed,
    so entries of a batch that failed, or of a worker that died, stay
    pending and are claimed again by a later drain once idle for
    `reclaim_idle_ms`; the unique stream id keeps them from counting twice.
    Call it outside any transaction: the Celery task does."""
    if not settings.REDIS_URL:
        return 0
    client = redis_client(settings.REDIS_URL)
    stream = settings.OPEN_STREAM
    batch_size = batch_size or settings.OPEN_BATCH_SIZE
    consumer = f"{socket.gethostname()}-{os.getpid()}"
    try:
        client.xgroup_create(stream, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise

    recorded = 0
    for _ in range(max_batches):
        _, entries, _ = client.xautoclaim(stream, GROUP, consumer, min_idle_time=reclaim_idle_ms, count=batch_size)
        if not entries:
            response = client.xreadgroup(GROUP, consumer, {stream: ">"}, count=batch_size)
            entries = response[0][1] if response else []
        if not entries:
            break
        with transaction.atomic(durable=True):
            recorded += write_opens(opens=opens_from_entries(entries))
        ids = [entry_id for entry_id, _ in entries]
        with client.pipeline(transaction=False) as pipe:
            pipe.xack(stream, GROUP, *ids)
            pipe.xdel(stream, *ids)
            pipe.execute()
    return recorded


def opens_from_entries(entries: list[tuple[str, dict[str, str] | None]]) -> list[Open]:
    """The opens that stream entries carry; unreadable entries are logged and
    skipped."""
    opens = []
    for entry_id, fields in entries:
        try:
            opens.append(
                Open(
                    recipient_id=int(fields["recipient"]),
                    opened_at=datetime.fromisoformat(fields["at"]),
                    stream_id=entry_id,
                )
            )
        except (TypeError, KeyError, ValueError):
            # Acknowledged with its batch: an entry we cannot read would
            # otherwise come back forever.
            logger.warning("Dropping unreadable open stream entry %s: %r", entry_id, fields)
    return opens
