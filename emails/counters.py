"""The open counters of emails and recipients (OpenCounters), changed only
here. Tracking works out what changes (tracking.counters: a person's opens
and the automatic fetches apart) and calls these: the writer adds what it
recorded, the recount after a deletion sets them again. The team's rollup
(emails.rollup) gets the difference in the same transaction."""

from collections.abc import Iterable
from datetime import datetime
from functools import partial
from typing import NamedTuple

from django.db import connection
from django.db.models import Model

from onepage import pgarrays

from . import rollup
from .models import Email, EmailRecipient


class Tally(NamedTuple):
    """What to add to one row: people's opens (their count, first and last),
    automatic fetches (their count, their kinds' bits)."""

    opens: int = 0
    first: datetime | None = None
    last: datetime | None = None
    automatic: int = 0
    kinds: int = 0


def add_opens(*, recipients: dict[int, Tally], emails: dict[int, Tally]) -> None:
    """Add each tally to its row: one UPDATE per table (count + n, first =
    least, last = greatest, kinds OR-ed). Call it in the writer's
    transaction, with the emails locked."""
    _add(EmailRecipient, recipients)
    with rollup.changing(emails):
        _add(Email, emails)


def reset_opens(*, email_ids: Iterable[int]) -> None:
    """Zero the counters of these emails and of all their recipients, to be
    set again from their events (add_opens). Call with the emails locked."""
    email_ids = list(email_ids)
    zero = {"open_count": 0, "first_opened_at": None, "last_opened_at": None, "automatic_count": 0}
    EmailRecipient.objects.filter(email_id__in=email_ids).update(**zero, automatic_kinds=0)
    with rollup.changing(email_ids):
        Email.objects.filter(pk__in=email_ids).update(**zero, automatic_kinds=0)


def _add(model: type[Model], tallies: dict[int, Tally]) -> None:
    # Raw SQL: building the same from ORM expressions cost more than the
    # statement itself, on the direct path's every open.
    if not tallies:
        return
    quote, table = connection.ops.quote_name, model._meta.db_table
    if connection.vendor == "postgresql":
        # One array per column: six parameters whatever the batch's size, no
        # VALUES list to parse (issue 23), each one literal (onepage.pgarrays).
        rows, least, greatest = (
            "SELECT * FROM unnest(%s::bigint[], %s::int[], %s::timestamptz[], %s::timestamptz[], %s::int[], %s::int[])",
            "LEAST",
            "GREATEST",
        )
        opens, firsts, lasts, automatic, kinds = zip(*tallies.values(), strict=True)
        params = [*map(pgarrays.ints, (tallies, opens)), *map(pgarrays.times, (firsts, lasts))]
        params += map(pgarrays.ints, (automatic, kinds))
    else:
        # SQLite's two-argument min/max are NULL when either side is NULL
        # (never opened, or no person's open in this batch), hence the
        # coalesce below on both databases.
        rows, least, greatest = "VALUES " + ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(tallies)), "min", "max"
        prep = partial(model._meta.get_field("first_opened_at").get_db_prep_value, connection=connection)
        params = [
            v for pk, t in tallies.items() for v in (pk, t.opens, prep(t.first), prep(t.last), t.automatic, t.kinds)
        ]
    sql = (
        f"WITH v(id, n, f, l, a, k) AS ({rows}) "  # noqa: S608
        f"UPDATE {quote(table)} SET open_count = open_count + v.n, "
        f"first_opened_at = coalesce({least}(first_opened_at, v.f), first_opened_at, v.f), "
        f"last_opened_at = coalesce({greatest}(last_opened_at, v.l), last_opened_at, v.l), "
        f"automatic_count = automatic_count + v.a, automatic_kinds = automatic_kinds | v.k "
        f"FROM v WHERE {quote(table)}.id = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
