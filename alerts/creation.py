"""Making notifications from the opens tracking.writer has just recorded
(through the tracking.recorded slot, after the batch's commit). The rules,
once:

- only a person's opens (verdict human or proxy, tracking.models.COUNTED):
  never a privacy prefetch, a scanner, an early, repeat or self fetch;
- only an open that names a recipient: an aggregate (total only) open
  names nobody; an open of a contact who refused is never recorded at all;
- the sender is told, and the admins who follow the sender (alerts.audience:
  unless they muted the email, only within the email's organization), each
  of the kinds and after the quiet period their own AlertSettings ask for;
- a recipient's first counted open is a *first open*; an open after the
  user's quiet period (24 h by default) since the recipient's previous one
  *came back*; any other is added to the day's *digest* line of that email
  and recipient (the user's day, in their time zone), updated in place.

A batch costs a fixed number of queries whatever its size: the senders
and their followers (with their settings and organizations), their mutes,
on PostgreSQL the lock of its emails (two workers telling of one email
take turns), one insert of the first opens and comebacks, one recount of
the digest lines those may have been counted in (another worker told the
later opens first), one upsert of the digest lines. Each notification
holds the hit key of its open (unique per user), so one open never makes
two for one user; a notification whose open was deleted meanwhile is not
made."""

import json
import zoneinfo
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection, transaction
from django.utils import timezone

from onepage.models import User
from tracking.models import COUNTED, OpenEvent
from tracking.recorded import Recorded

from . import live
from .audience import Audience, audience_of
from .models import AlertSettings, Notification

Kind = Notification.Kind
DEFAULTS = AlertSettings()


def notify(recorded: Sequence[Recorded]) -> int:
    """Make the notifications of these newly recorded opens, then push the
    new counts of the users told to their open pages (alerts.live). Returns
    how many opens were told of (rows made or digest lines added to)."""
    opens = tellable(recorded)
    if not opens:
        return 0
    singles, digests, counted_apart = _lines(opens, audience_of(opens))
    with transaction.atomic():
        _one_at_a_time({r.email_id for r in opens})
        _insert(singles)
        _recount_digests(counted_apart)
        _upsert_digests(digests)
    live.publish_counts({row["u"] for row in singles} | {row["u"] for row in digests})
    return len(singles) + sum(d["n"] for d in digests)


def tellable(recorded: Sequence[Recorded]) -> list[Recorded]:
    """The opens notify may tell of: a person's, naming a recipient, with a
    key (the others are dropped before anything is loaded or handed on)."""
    return [r for r in recorded if r.verdict in COUNTED and r.recipient_id is not None and r.key is not None]


def _settings_of(user: User) -> AlertSettings:
    try:
        return user.alert_settings
    except AlertSettings.DoesNotExist:
        return DEFAULTS


def _lines(opens: list[Recorded], audience: Audience) -> tuple[list[dict], list[dict], list[dict]]:
    """The rows to insert (first opens, comebacks), the digest lines to
    add to, one per user, email, recipient and day, and the digest lines
    that a row inserted may have been counted in (each row as its line).
    Each recipient's opens are taken in time order from its last counted
    open before the batch, for each user told of them (the sender, a
    follower: each by their own settings)."""
    by_recipient: dict[tuple[int, int], list[Recorded]] = {}
    for r in opens:
        for user in audience.of(r):
            by_recipient.setdefault((user.pk, r.recipient_id), []).append(r)
    singles: list[dict] = []
    digests: dict[tuple, dict] = {}
    counted_apart: dict[tuple, dict] = {}
    for (user_id, _), group in by_recipient.items():
        user = audience.users[user_id]
        wanted = _settings_of(user)
        quiet = wanted.came_back_after
        group.sort(key=lambda r: r.opened_at)
        previous = None
        for r in group:
            # The later of the open's own previous (the writer's: before the
            # batch; the repair's: before this open) and the group's so far.
            previous = _later(previous, r.previous_counted_at)
            if previous is None:
                kind = Kind.FIRST_OPEN
            elif r.opened_at - previous >= quiet:
                kind = Kind.CAME_BACK
            else:
                kind = Kind.DIGEST
            before, previous = previous, r.opened_at if previous is None else max(previous, r.opened_at)
            if not wanted.wants(kind):
                continue
            row = {
                "u": user_id,
                "o": r.organization_id,
                "e": r.email_id,
                "r": r.recipient_id,
                "k": kind,
                "h": r.key,
                "n": 1,
                "a": r.opened_at,
                "l": r.opened_at,
                "p": before if kind == Kind.CAME_BACK else None,
                "d": None,
            }
            zone = user.zone
            day = r.opened_at.astimezone(zone).date()
            start, end = _day_bounds(day, zone)
            key = (user_id, r.email_id, r.recipient_id, day)
            if kind != Kind.DIGEST:
                singles.append(row)
                counted_apart[key] = {**row, "k": Kind.DIGEST, "d": day, "s": start, "t": end}
                continue
            row.update(d=day, s=start, t=end)
            line = digests.setdefault(key, row)
            if line is not row:
                line["n"] += 1
                line["l"] = max(line["l"], r.opened_at)
    return singles, list(digests.values()), list(counted_apart.values())


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _day_bounds(day: date, zone: zoneinfo.ZoneInfo) -> tuple[datetime, datetime]:
    """The user's day as UTC instants [start, end)."""
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


# The rows travel as one JSON parameter: one statement whatever the batch's
# size, on both databases (no limit on a statement's parameters to split on).
COLUMNS = (
    "user_id, organization_id, email_id, recipient_id, kind, hit_key, count, "
    "opened_at, last_opened_at, previous_opened_at, day, created_at"
)


def _json(rows: list[dict]) -> str:
    def value(v):
        if isinstance(v, datetime):
            return v.isoformat() if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(v)
        return v.isoformat() if v is not None and hasattr(v, "isoformat") else v

    return json.dumps([{k: value(v) for k, v in row.items()} for row in rows])


def _select(rows: list[dict], *, recount: bool = False) -> tuple[str, list]:
    """SELECT the rows from their JSON, keeping only those whose open is still
    there (deleted between the commit and now: nothing to tell). A digest
    line's count (recount) is counted again from the opens of its day: the
    recipient's counted opens from s to t that no first-open or came-back
    notification of the user tells of; so making it again for opens already
    told (a replay, the repair) leaves it as it was."""
    quote = connection.ops.quote_name
    opens = quote(OpenEvent._meta.db_table)
    table = quote(Notification._meta.db_table)
    now = timezone.now()
    pg = connection.vendor == "postgresql"
    cast = "::timestamptz" if pg else ""
    field = "v.{}".format if pg else "json_extract(value, '$.{}')".format
    count = field("n")
    if recount:
        counted = ", ".join(f"'{v}'" for v in sorted(COUNTED))
        count = (
            f"(SELECT COUNT(*) FROM {opens} c WHERE c.recipient_id = {field('r')} "  # noqa: S608
            f"AND c.verdict IN ({counted}) AND c.opened_at >= {field('s')}{cast} AND c.opened_at < {field('t')}{cast} "
            f"AND NOT EXISTS (SELECT 1 FROM {table} m WHERE m.hit_key = c.hit_key AND m.user_id = {field('u')} "
            f"AND m.kind <> '{Kind.DIGEST}'))"
        )
    exists = f"EXISTS (SELECT 1 FROM {opens} WHERE hit_key = {field('h')})"  # noqa: S608
    if pg:
        sql = (
            f"SELECT v.u, v.o, v.e, v.r, v.k, v.h, {count}, v.a::timestamptz, v.l::timestamptz, "  # noqa: S608
            "v.p::timestamptz, v.d::date, %s FROM json_to_recordset(%s::json) AS v(u bigint, o bigint, e bigint, "
            f"r bigint, k text, h text, n int, a text, l text, p text, d text, s text, t text) WHERE {exists}"
        )
    else:
        fields = ", ".join(count if k == "n" else field(k) for k in "uoerkhnalpd")
        sql = f"SELECT {fields}, %s FROM json_each(%s) WHERE {exists}"  # noqa: S608
        now = connection.ops.adapt_datetimefield_value(now)
    return sql, [now, _json(rows)]


def _insert(rows: list[dict]) -> None:
    if not rows:
        return
    table = connection.ops.quote_name(Notification._meta.db_table)
    select, params = _select(rows)
    with connection.cursor() as cursor:
        # A key already told of (a replay) stays as it is.
        cursor.execute(f"INSERT INTO {table} ({COLUMNS}) {select} ON CONFLICT DO NOTHING", params)


def _one_at_a_time(email_ids: set[int]) -> None:
    """On PostgreSQL, notify for one email waits until another's transaction
    for it has committed (a worker of concurrency 2 tells two batches at
    once): a digest line's count is counted again from the notifications
    already made, so the two must not count at the same time. Locks of the
    transaction, taken in id order."""
    if connection.vendor != "postgresql" or not email_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('alerts.notify:' || e, 0)) "
            "FROM (SELECT DISTINCT unnest(%s::bigint[]) AS e ORDER BY 1) AS emails",
            [sorted(email_ids)],
        )


def _recount_digests(rows: list[dict]) -> None:
    """Count again the digest lines that already exist for the first opens
    and comebacks just inserted (each row as its line, from _lines): a line
    counted before such a row was made (another worker told the later opens
    first) counted its open too."""
    if not rows:
        return
    table = connection.ops.quote_name(Notification._meta.db_table)
    select, params = _select(rows, recount=True)
    sql = (
        f"WITH x(u, o, e, r, k, h, n, a, l, p, d, c) AS ({select}) "  # noqa: S608
        f"UPDATE {table} SET count = x.n FROM x WHERE {table}.kind = '{Kind.DIGEST}' AND {table}.user_id = x.u "
        f"AND {table}.email_id = x.e AND {table}.recipient_id = x.r AND {table}.day = x.d"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _upsert_digests(rows: list[dict]) -> None:
    if not rows:
        return
    table = connection.ops.quote_name(Notification._meta.db_table)
    greatest = "GREATEST" if connection.vendor == "postgresql" else "max"
    select, params = _select(rows, recount=True)
    sql = (
        f"INSERT INTO {table} ({COLUMNS}) {select} "
        f"ON CONFLICT (user_id, email_id, recipient_id, day) WHERE kind = '{Kind.DIGEST}' DO UPDATE SET "
        f"count = excluded.count, "
        f"last_opened_at = {greatest}({table}.last_opened_at, excluded.last_opened_at)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
