"""The open counters of recipients and emails (open_count, first_opened_at,
last_opened_at), kept equal to their OpenEvents.

The writer adds what it inserted: `insert_events` inserts a batch, skipping
hit keys already stored (ON CONFLICT DO NOTHING RETURNING: one statement,
whatever the history), and `add_to_counters` adds those events to the
counters (count + n, first = least, last = greatest) in one UPDATE per table.
Both run in the writer's transaction, so an event and its count commit
together. `recount` recomputes counters from the events (O(history)), for
`manage.py recount_opens` and tests; `disagreeing` lists counters that differ
from the events.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import (
    Count,
    IntegerField,
    Max,
    Min,
    Model,
    OuterRef,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from emails.models import Email, EmailRecipient

from .models import OpenEvent


@dataclass(frozen=True)
class Event:
    # None for an aggregate open: the email's total only.
    recipient_id: int | None
    email_id: int
    opened_at: datetime
    key: str | None


def insert_events(events: Sequence[Event]) -> list[Event]:
    """Insert the events whose hit key is not stored yet; returns those
    inserted. Keys must be unique within `events`."""
    inserted: list[Event] = []
    fields = [OpenEvent._meta.get_field(name) for name in ("recipient", "email", "opened_at", "hit_key")]
    step = max(1, connection.ops.bulk_batch_size(fields, events) or len(events))
    for start in range(0, len(events), step):
        inserted += _insert(events[start : start + step], fields)
    return inserted


def _insert(events: Sequence[Event], fields: list) -> list[Event]:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    opened_at = fields[2]
    params: list = []
    for e in events:
        params += [e.recipient_id, e.email_id, opened_at.get_db_prep_value(e.opened_at, connection), e.key]
    values = ", ".join(["(%s, %s, %s, %s)"] * len(events))
    # Only quoted names of our own model and placeholders go into the text.
    sql = (
        f"INSERT INTO {quote(OpenEvent._meta.db_table)} ({columns}) VALUES {values} "  # noqa: S608
        f"ON CONFLICT ({quote(fields[3].column)}) DO NOTHING RETURNING {quote(fields[3].column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        written = {key for (key,) in cursor.fetchall()}
    # A NULL key never conflicts: keyless events are always inserted.
    return [e for e in events if e.key is None or e.key in written]


def add_to_counters(events: Iterable[Event]) -> None:
    """Add the events to their recipients' and emails' counters."""
    events = list(events)
    identified = [e for e in events if e.recipient_id is not None]
    _add(EmailRecipient, _summaries(identified, lambda e: e.recipient_id))
    _add(Email, _summaries(events, lambda e: e.email_id))


def _summaries(events: list[Event], key) -> dict[int, tuple[int, datetime, datetime]]:
    summary: dict[int, tuple[int, datetime, datetime]] = {}
    for e in events:
        n, first, last = summary.get(key(e), (0, e.opened_at, e.opened_at))
        summary[key(e)] = (n + 1, min(first, e.opened_at), max(last, e.opened_at))
    return summary


def _add(model: type[Model], summary: dict[int, tuple[int, datetime, datetime]]) -> None:
    """One UPDATE: each row's count, first and last moved by its own summary
    (raw SQL: building the same from ORM expressions cost more than the
    statement itself, on the direct path's every open)."""
    if not summary:
        return
    quote, table = connection.ops.quote_name, model._meta.db_table
    field = model._meta.get_field("first_opened_at")
    params: list = []
    for pk, (n, first, last) in summary.items():
        params += [pk, n, field.get_db_prep_value(first, connection), field.get_db_prep_value(last, connection)]
    if connection.vendor == "postgresql":
        row, least, greatest = "(%s, %s, %s::timestamptz, %s::timestamptz)", "LEAST", "GREATEST"
    else:
        # SQLite's two-argument min/max are NULL when the counter is still
        # NULL (never opened), hence the coalesce below on both databases.
        row, least, greatest = "(%s, %s, %s, %s)", "min", "max"
    sql = (
        f"WITH v(id, n, f, l) AS (VALUES {', '.join([row] * len(summary))}) "  # noqa: S608
        f"UPDATE {quote(table)} SET open_count = open_count + v.n, "
        f"first_opened_at = coalesce({least}(first_opened_at, v.f), v.f), "
        f"last_opened_at = coalesce({greatest}(last_opened_at, v.l), v.l) "
        f"FROM v WHERE {quote(table)}.id = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _from_events(field: str) -> dict:
    """open_count, first_opened_at and last_opened_at of each row, computed
    from its OpenEvents in the UPDATE itself."""
    events = OpenEvent.objects.filter(**{field: OuterRef("pk")}).order_by().values(field)
    return {
        "open_count": Coalesce(
            Subquery(events.annotate(n=Count("pk")).values("n"), output_field=IntegerField()), Value(0)
        ),
        "first_opened_at": Subquery(events.annotate(first=Min("opened_at")).values("first")),
        "last_opened_at": Subquery(events.annotate(last=Max("opened_at")).values("last")),
    }


def recount(*, email_ids: Sequence[int]) -> None:
    """Recompute the counters of these emails and their recipients from
    their events. The caller holds the emails' locks (see recount_opens)."""
    EmailRecipient.objects.filter(email_id__in=email_ids).update(**_from_events("recipient"))
    Email.objects.filter(pk__in=email_ids).update(**_from_events("email"))


def disagreeing(*, email_ids: Sequence[int] | None = None) -> list[tuple[str, int]]:
    """(table, id) of every counter that differs from its events."""
    wrong = []
    for label, model, field in (("email", Email, "email"), ("recipient", EmailRecipient, "recipient")):
        rows = model.objects.order_by()
        if email_ids is not None:
            rows = rows.filter(**({"pk__in": email_ids} if model is Email else {"email_id__in": email_ids}))
        expected = {f"expected_{name}": value for name, value in _from_events(field).items()}
        for row in rows.annotate(**expected).values():
            if any(row[name[len("expected_") :]] != row[name] for name in expected):
                wrong.append((label, row["id"]))
    return wrong
