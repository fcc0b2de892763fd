"""The open counters of recipients and emails (open_count, first_opened_at,
last_opened_at: a person's opens, verdict human or proxy; automatic_count and
automatic_kinds: the other fetches), kept equal to their OpenEvents.

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
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    IntegerField,
    Max,
    Min,
    Model,
    OuterRef,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from emails.models import Email, EmailRecipient

from .models import AUTOMATIC_BITS, COUNTED_VERDICTS, OpenEvent, Verdict

COUNTED = COUNTED_VERDICTS


@dataclass(frozen=True)
class Event:
    # None for an aggregate open: the email's total only.
    recipient_id: int | None
    email_id: int
    opened_at: datetime
    key: str | None
    verdict: str = Verdict.HUMAN


def insert_events(events: Sequence[Event]) -> list[Event]:
    """Insert the events whose hit key is not stored yet; returns those
    inserted. Keys must be unique within `events`."""
    inserted: list[Event] = []
    fields = [OpenEvent._meta.get_field(name) for name in ("recipient", "email", "opened_at", "hit_key", "verdict")]
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
        params += [e.recipient_id, e.email_id, opened_at.get_db_prep_value(e.opened_at, connection), e.key, e.verdict]
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(events))
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


def _summaries(events: list[Event], key) -> dict[int, tuple]:
    """Per row: (people's opens, first, last, automatic fetches, their kinds' bits)."""
    summary: dict[int, tuple] = {}
    for e in events:
        n, first, last, auto, kinds = summary.get(key(e), (0, None, None, 0, 0))
        if e.verdict in COUNTED:
            first = e.opened_at if first is None else min(first, e.opened_at)
            last = e.opened_at if last is None else max(last, e.opened_at)
            n += 1
        else:
            auto += 1
            kinds |= AUTOMATIC_BITS[e.verdict]
        summary[key(e)] = (n, first, last, auto, kinds)
    return summary


def _add(model: type[Model], summary: dict[int, tuple]) -> None:
    """One UPDATE: each row's count, first and last moved by its own summary
    (raw SQL: building the same from ORM expressions cost more than the
    statement itself, on the direct path's every open)."""
    if not summary:
        return
    quote, table = connection.ops.quote_name, model._meta.db_table
    field = model._meta.get_field("first_opened_at")
    params: list = []
    for pk, (n, first, last, auto, kinds) in summary.items():
        params += [
            pk,
            n,
            field.get_db_prep_value(first, connection),
            field.get_db_prep_value(last, connection),
            auto,
            kinds,
        ]
    if connection.vendor == "postgresql":
        row, least, greatest = "(%s, %s, %s::timestamptz, %s::timestamptz, %s, %s::int)", "LEAST", "GREATEST"
    else:
        # SQLite's two-argument min/max are NULL when either side is NULL
        # (never opened, or no person's open in this batch), hence the
        # coalesce below on both databases.
        row, least, greatest = "(%s, %s, %s, %s, %s, %s)", "min", "max"
    sql = (
        f"WITH v(id, n, f, l, a, k) AS (VALUES {', '.join([row] * len(summary))}) "  # noqa: S608
        f"UPDATE {quote(table)} SET open_count = open_count + v.n, "
        f"first_opened_at = coalesce({least}(first_opened_at, v.f), first_opened_at, v.f), "
        f"last_opened_at = coalesce({greatest}(last_opened_at, v.l), last_opened_at, v.l), "
        f"automatic_count = automatic_count + v.a, automatic_kinds = automatic_kinds | v.k "
        f"FROM v WHERE {quote(table)}.id = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _from_events(field: str) -> dict:
    """The counters of each row, computed from its OpenEvents in the UPDATE
    itself: people's opens (human, proxy) and automatic fetches apart."""
    events = OpenEvent.objects.filter(**{field: OuterRef("pk")}).order_by().values(field)
    people = events.filter(verdict__in=COUNTED)
    automatic = events.exclude(verdict__in=COUNTED)
    kinds = sum(
        (
            Case(When(Exists(automatic.filter(verdict=verdict)), then=Value(bit)), default=Value(0))
            for verdict, bit in AUTOMATIC_BITS.items()
        ),
        Value(0),
    )
    return {
        "open_count": Coalesce(
            Subquery(people.annotate(n=Count("pk")).values("n"), output_field=IntegerField()), Value(0)
        ),
        "first_opened_at": Subquery(people.annotate(first=Min("opened_at")).values("first")),
        "last_opened_at": Subquery(people.annotate(last=Max("opened_at")).values("last")),
        "automatic_count": Coalesce(
            Subquery(automatic.annotate(n=Count("pk")).values("n"), output_field=IntegerField()), Value(0)
        ),
        "automatic_kinds": ExpressionWrapper(kinds, output_field=IntegerField()),
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
