"""What the open counters of recipients and emails should hold, worked out
here and written by emails (emails.counters, which owns those rows): a
person's opens (verdict human or proxy: open_count, first_opened_at,
last_opened_at) and the other fetches apart (automatic_count,
automatic_kinds).

The writer inserts a batch (`insert_events`: ON CONFLICT DO NOTHING
RETURNING, one statement whatever the history) and adds what it inserted
(`add_to_counters`: one UPDATE per table), in one transaction. `recount` is
the one recount, from the events (O(history)): after opens were deleted
(tracking.erasure) and for `manage.py recount_opens`; `disagreeing` lists
the counters that differ from the events.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

from django.db import connection
from django.db.models import Count, Exists, Max, Min, OuterRef

from emails import rollup
from emails.counters import Tally, add_opens, reset_opens
from emails.models import Email, EmailRecipient
from onepage import pgarrays

from .models import AUTOMATIC_BITS, COUNTED, OpenEvent, Verdict

# The counter columns, in a Tally's order.
COUNTER_FIELDS = ("open_count", "first_opened_at", "last_opened_at", "automatic_count", "automatic_kinds")


class Event(NamedTuple):
    """An open as the writer inserts it (a named tuple, as Recorded)."""

    # None for an aggregate open: the email's total only.
    recipient_id: int | None
    email_id: int
    opened_at: datetime
    key: str | None
    verdict: str = Verdict.HUMAN


def insert_events(events: Sequence[Event]) -> list[Event]:
    """Insert the events whose hit key is not stored yet; returns those
    inserted. Keys must be unique within `events`."""
    if not events:
        return []
    fields = [OpenEvent._meta.get_field(name) for name in ("recipient", "email", "opened_at", "hit_key", "verdict")]
    if connection.vendor == "postgresql":
        return _insert(events, fields)
    inserted: list[Event] = []
    step = max(1, connection.ops.bulk_batch_size(fields, events) or len(events))
    for start in range(0, len(events), step):
        inserted += _insert(events[start : start + step], fields)
    return inserted


def _insert(events: Sequence[Event], fields: list) -> list[Event]:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    if connection.vendor == "postgresql":
        # One array per column, whatever the batch's size: five parameters
        # instead of five per event, and no VALUES list to parse (issue 23),
        # each one literal (onepage.pgarrays).
        rows = "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[], %s::text[], %s::text[])"
        recipients, emails, times, keys, verdicts = zip(
            *((e.recipient_id, e.email_id, e.opened_at, e.key, e.verdict) for e in events), strict=True
        )
        params = [pgarrays.ints(recipients), pgarrays.ints(emails), pgarrays.times(times)]
        params += [pgarrays.texts(keys), pgarrays.texts(verdicts)]
    else:
        prep = fields[2].get_db_prep_value
        rows = "VALUES " + ", ".join(["(%s, %s, %s, %s, %s)"] * len(events))
        params = [
            v for e in events for v in (e.recipient_id, e.email_id, prep(e.opened_at, connection), e.key, e.verdict)
        ]
    # Only quoted names of our own model and placeholders go into the text.
    sql = (
        f"INSERT INTO {quote(OpenEvent._meta.db_table)} ({columns}) {rows} "
        f"ON CONFLICT ({quote(fields[3].column)}) DO NOTHING RETURNING {quote(fields[3].column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        written = {key for (key,) in cursor.fetchall()}
    # A NULL key never conflicts: keyless events are always inserted.
    return [e for e in events if e.key is None or e.key in written]


# One group of events: (email, recipient or None, verdict, how many, first, last).
Group = tuple[int, int | None, str, int, datetime, datetime]


def _tallies(groups: Iterable[Group]) -> tuple[dict[int, Tally], dict[int, Tally]]:
    """The tallies of recipients and of emails: the one rule of what counts
    as a person's open and what is an automatic fetch."""
    rows: tuple[dict[int, list], dict[int, list]] = ({}, {})
    for email_id, recipient_id, verdict, n, first, last in groups:
        for tallies, pk in ((rows[0], recipient_id), (rows[1], email_id)):
            if pk is None:
                continue
            t = tallies.get(pk)
            if t is None:
                t = tallies[pk] = [0, None, None, 0, 0]
            if verdict in COUNTED:
                t[0] += n
                t[1] = first if t[1] is None else min(t[1], first)
                t[2] = last if t[2] is None else max(t[2], last)
            else:
                t[3] += n
                t[4] |= AUTOMATIC_BITS[verdict]
    recipients, emails = ({pk: Tally(*t) for pk, t in tallies.items()} for tallies in rows)
    return recipients, emails


def add_to_counters(events: Iterable[Event]) -> None:
    """Add the events to their recipients' and emails' counters."""
    recipients, emails = _tallies((e.email_id, e.recipient_id, e.verdict, 1, e.opened_at, e.opened_at) for e in events)
    add_opens(recipients=recipients, emails=emails)


def _tallies_from_events(email_ids) -> tuple[dict[int, Tally], dict[int, Tally]]:
    """The tallies of these emails (ids, or a query of them) from their events:
    one grouped query."""
    groups = (
        OpenEvent.objects.filter(email_id__in=email_ids)
        .order_by()
        .values_list("email_id", "recipient_id", "verdict")
        .annotate(n=Count("pk"), first=Min("opened_at"), last=Max("opened_at"))
    )
    return _tallies(groups)


def recount(*, email_ids: Sequence[int]) -> None:
    """Set the counters of these emails and all their recipients from their
    events. The caller holds the emails' locks (as tracking.erasure does)."""
    recipients, emails = _tallies_from_events(email_ids)
    reset_opens(email_ids=email_ids)
    add_opens(recipients=recipients, emails=emails)


def disagreeing(*, email_ids: Sequence[int] | None = None) -> list[tuple[str, object]]:
    """(table, id) of every counter that differs from its events, and
    ("open without its recipient", id) of every open `without_recipient`;
    over the whole database (no email_ids), also ("outreach week", (organization,
    sender, week)) of every row of the team's rollup that differs from the
    emails (emails.rollup)."""
    emails = Email.objects.order_by("pk")
    if email_ids is not None:
        emails = emails.filter(pk__in=email_ids)
    scope = emails.values("pk")
    recipients = EmailRecipient.objects.filter(email_id__in=scope).order_by("pk")
    expected_recipients, expected_emails = _tallies_from_events(scope)
    wrong = []
    for label, rows, expected in (("email", emails, expected_emails), ("recipient", recipients, expected_recipients)):
        for pk, *counters in rows.values_list("pk", *COUNTER_FIELDS):
            if Tally(*counters) != expected.get(pk, Tally()):
                wrong.append((label, pk))
    wrong += [("open without its recipient", pk) for pk in without_recipient(scope)]
    if email_ids is None:
        wrong += [("outreach week", key) for key in rollup.disagreeing()]
    return wrong


def without_recipient(email_ids) -> list[int]:
    """The opens of these emails (ids, or a query of them) whose recipient
    row is gone: none, as long as recipients go only with their emails
    (OpenEvent.recipient has no database constraint to say so)."""
    gone = ~Exists(EmailRecipient.objects.filter(pk=OuterRef("recipient_id")))
    opens = OpenEvent.objects.filter(email_id__in=email_ids, recipient_id__isnull=False).filter(gone)
    return list(opens.order_by("pk").values_list("pk", flat=True))
