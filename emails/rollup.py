"""Keeps emails.models.OutreachWeek equal to the emails: one rule of what an
email adds to its week (`contribution`), applied as a difference whenever
something it reads changes, in the same transaction.

Every change to an email that the rollup reads (its status, send time,
reply, open counters) goes through `changing(email_ids)`: it locks the
emails and reads what they add, lets the change happen, reads again and
adds the difference to the rows (one upsert, `col = col + difference`).
Differences commute, so two writers of one week never lose each other's;
the emails are locked first, then the rows in key order, as every writer
does, so they never wait on each other in a cycle.

`rebuild` sets the rows again from the emails (`manage.py recount_opens`,
an organization's new time zone, the demo); `disagreeing` lists the rows
that differ from them."""

import datetime as dt
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import NamedTuple

from django.db import connection, transaction

from onepage.durations import band_of
from onepage.ids import among

from .models import Email
from .outreach_week import COLUMNS, FIRST_OPEN, KIND_BITS, MACHINES_ONLY, OutreachWeek

# (organization, sender, week)
Key = tuple[int, int, dt.date]


class Facts(NamedTuple):
    """What the rollup reads of an email."""

    pk: int
    organization_id: int
    sender_id: int
    time_zone: str
    status: str
    direction: str
    track_opens: bool
    sent_at: dt.datetime | None
    replied_at: dt.datetime | None
    open_count: int
    first_opened_at: dt.datetime | None
    automatic_count: int
    automatic_kinds: int


FIELDS = tuple(f if f != "time_zone" else "organization__time_zone" for f in Facts._fields)


def key(facts: Facts) -> Key | None:
    """The email's row: its sender and the Monday of its send in its
    organization's zone; None for an email Reports does not count (not a
    tracked email that was sent)."""
    counted = (
        facts.status == Email.Status.SENT
        and facts.direction == Email.Direction.OUTGOING
        and facts.track_opens
        and facts.sent_at is not None
    )
    if not counted:
        return None
    day = facts.sent_at.astimezone(zoneinfo.ZoneInfo(facts.time_zone)).date()
    return facts.organization_id, facts.sender_id, day - dt.timedelta(days=day.weekday())


def contribution(facts: Facts) -> Counter:
    """What one counted email adds to its row."""
    opened, automatic = facts.open_count > 0, facts.automatic_count > 0
    adds = Counter(
        sent=1,
        fetched=int(opened or automatic),
        opened=int(opened),
        replied=int(facts.replied_at is not None),
        fetches=facts.open_count + facts.automatic_count,
        automatic=facts.automatic_count,
    )
    if automatic and not opened:
        adds.update(name for bit, name in zip(KIND_BITS, MACHINES_ONLY, strict=True) if facts.automatic_kinds & bit)
    if opened and facts.first_opened_at is not None:
        adds[FIRST_OPEN[band_of(facts.first_opened_at - facts.sent_at)]] += 1
    return adds


def _facts(email_ids: list[int], *, lock: bool) -> dict[int, Facts]:
    emails = Email.objects.filter(pk__in=among(email_ids)).order_by("pk")
    if lock:
        emails = emails.select_for_update(of=("self",))
    return {row[0]: Facts(*row) for row in emails.values_list(*FIELDS)}


def _add(totals: dict[Key, Counter], facts: Facts, sign: int) -> None:
    if (k := key(facts)) is not None:
        row = totals[k]
        for name, n in contribution(facts).items():
            row[name] += sign * n


@contextmanager
def changing(email_ids: Iterable[int]) -> Iterator[None]:
    """Around a change to these emails, inside a transaction: their rows
    get the difference it made."""
    ids = sorted(set(email_ids))
    if not ids:
        yield
        return
    # No savepoint: a caller's transaction (the open writer's) is enough.
    with transaction.atomic(savepoint=False):
        before = _facts(ids, lock=True)
        yield
        after = _facts(ids, lock=False)
        difference: dict[Key, Counter] = defaultdict(Counter)
        for facts in before.values():
            _add(difference, facts, -1)
        for facts in after.values():
            _add(difference, facts, +1)
        add_to_rows(difference)


def created(email_ids: Iterable[int]) -> None:
    """Count emails made already sent (a mailbox's imported copies), in
    the transaction that made them."""
    difference: dict[Key, Counter] = defaultdict(Counter)
    for facts in _facts(sorted(set(email_ids)), lock=False).values():
        _add(difference, facts, +1)
    add_to_rows(difference)


def add_to_rows(difference: dict[Key, Counter]) -> None:
    """Add each difference to its row (made when missing): one statement."""
    rows = [(k, d) for k, d in sorted(difference.items()) if any(d.values())]
    if not rows:
        return
    quote, table = connection.ops.quote_name, OutreachWeek._meta.db_table
    week = OutreachWeek._meta.get_field("week")
    columns = ["organization_id", "sender_id", "week", *COLUMNS]
    params: list = []
    for (org, sender, day), d in rows:
        params += [org, sender, week.get_db_prep_value(day, connection), *(d[c] for c in COLUMNS)]
    values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
    added = ", ".join(f"{quote(c)} = {quote(table)}.{quote(c)} + excluded.{quote(c)}" for c in COLUMNS)
    # Only quoted names of our own model and placeholders go into the text.
    sql = (
        f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) VALUES {values} "  # noqa: S608
        f"ON CONFLICT (organization_id, sender_id, week) DO UPDATE SET {added}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def expected(*, organization_ids: Iterable[int] | None = None) -> dict[Key, Counter]:
    """The rows as the emails say they should be (O(emails))."""
    emails = Email.objects.filter(status=Email.Status.SENT, track_opens=True).order_by()
    if organization_ids is not None:
        emails = emails.filter(organization_id__in=list(organization_ids))
    totals: dict[Key, Counter] = defaultdict(Counter)
    for row in emails.values_list(*FIELDS).iterator(chunk_size=5000):
        _add(totals, Facts(*row), +1)
    return totals


def _stored(*, organization_ids: Iterable[int] | None) -> dict[Key, Counter]:
    rows = OutreachWeek.objects.order_by()
    if organization_ids is not None:
        rows = rows.filter(organization_id__in=list(organization_ids))
    return {
        (r[0], r[1], r[2]): Counter({c: n for c, n in zip(COLUMNS, r[3:], strict=True) if n})
        for r in rows.values_list("organization_id", "sender_id", "week", *COLUMNS)
    }


def disagreeing(*, organization_ids: Iterable[int] | None = None) -> list[Key]:
    """The rows that differ from the emails."""
    organization_ids = None if organization_ids is None else list(organization_ids)
    want, have = expected(organization_ids=organization_ids), _stored(organization_ids=organization_ids)
    return sorted(k for k in want.keys() | have.keys() if +want.get(k, Counter()) != have.get(k, Counter()))


def rebuild(*, organization_ids: Iterable[int] | None = None) -> int:
    """Set the rows again from the emails, the emails locked meanwhile as
    every writer locks them; returns how many rows differed."""
    organization_ids = None if organization_ids is None else list(organization_ids)
    with transaction.atomic():
        locked = Email.objects.select_for_update().order_by("pk")
        if organization_ids is not None:
            locked = locked.filter(organization_id__in=organization_ids)
        list(locked.values_list("pk", flat=True))
        want, have = expected(organization_ids=organization_ids), _stored(organization_ids=organization_ids)
        wrong = [k for k in want.keys() | have.keys() if +want.get(k, Counter()) != have.get(k, Counter())]
        zero = Counter()
        add_to_rows({k: Counter({c: want.get(k, zero)[c] - have.get(k, zero)[c] for c in COLUMNS}) for k in wrong})
    return len(wrong)


def on_time_zone_changed(*, organization, **_) -> None:
    """onepage.models.organization_time_zone_changed: the weeks move."""
    rebuild(organization_ids=[organization.pk])
