"""Making notifications from the opens tracking.writer has just recorded
(through the tracking.recorded slot, after the batch's commit). The rules,
once:

- only a person's opens (verdict human or proxy, tracking.models.COUNTED):
  never a privacy prefetch, a scanner, an early, repeat or self fetch;
- only an open that names a recipient: an aggregate (total only) open
  names nobody; an open of a contact who refused is never recorded at all;
- the sender is told, unless they muted the email or are no longer a
  member of the email's organization (never across organizations), of the
  kinds their AlertSettings ask for;
- a recipient's first counted open is a *first open*; an open after the
  user's quiet period (24 h by default) since the recipient's previous one
  *came back*; any other is added to the day's *digest* line of that email
  and recipient (the user's day, in their time zone), updated in place.

A batch costs a fixed number of queries whatever its size: the senders
(with their settings and organizations), their mutes, one insert of the
first opens and comebacks, one upsert of the digest lines. Each
notification holds the hit key of its open (unique), so one open never
makes two; a notification whose open was deleted meanwhile is not made."""

import json
import zoneinfo
from collections.abc import Sequence
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from onepage.models import User
from tracking.models import COUNTED, OpenEvent
from tracking.recorded import Recorded

from .models import AlertSettings, EmailMute, Notification

Kind = Notification.Kind
DEFAULTS = AlertSettings()


def notify(recorded: Sequence[Recorded]) -> int:
    """Make the notifications of these newly recorded opens. Returns how
    many opens were told of (rows made or digest lines added to)."""
    opens = [r for r in recorded if r.verdict in COUNTED and r.recipient_id is not None and r.key is not None]
    if not opens:
        return 0
    senders = {r.sender_id for r in opens}
    users = {
        u.pk: u
        for u in User.objects.filter(pk__in=senders, is_active=True).select_related(
            "membership__organization", "alert_settings"
        )
    }
    muted = set(
        EmailMute.objects.filter(user_id__in=senders, email_id__in={r.email_id for r in opens}).values_list(
            "user_id", "email_id"
        )
    )
    singles, digests = _lines(opens, users, muted)
    with transaction.atomic():
        _insert(singles)
        _upsert_digests(digests)
    return len(singles) + sum(d["n"] for d in digests)


def _settings_of(user: User) -> AlertSettings:
    try:
        return user.alert_settings
    except AlertSettings.DoesNotExist:
        return DEFAULTS


def _member_of(user: User, organization_id: int) -> bool:
    membership = getattr(user, "membership", None)
    return membership is not None and membership.organization_id == organization_id


def _time_zone(user: User) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(user.time_zone or user.membership.organization.time_zone)


def _lines(opens: list[Recorded], users: dict[int, User], muted: set) -> tuple[list[dict], list[dict]]:
    """The rows to insert (first opens, comebacks) and the digest lines to
    add to, one per user, email, recipient and day. Each recipient's opens
    are taken in time order from its last counted open before the batch."""
    by_recipient: dict[tuple[int, int], list[Recorded]] = {}
    for r in opens:
        user = users.get(r.sender_id)
        if user is None or (user.pk, r.email_id) in muted or not _member_of(user, r.organization_id):
            continue
        by_recipient.setdefault((user.pk, r.recipient_id), []).append(r)
    singles: list[dict] = []
    digests: dict[tuple, dict] = {}
    for (user_id, _), group in by_recipient.items():
        user = users[user_id]
        wanted = _settings_of(user)
        quiet = wanted.came_back_after
        group.sort(key=lambda r: r.opened_at)
        previous = group[0].previous_counted_at
        for r in group:
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
            if kind != Kind.DIGEST:
                singles.append(row)
                continue
            row["d"] = r.opened_at.astimezone(_time_zone(user)).date()
            line = digests.setdefault((user_id, r.email_id, r.recipient_id, row["d"]), row)
            if line is not row:
                line["n"] += 1
                line["l"] = max(line["l"], r.opened_at)
    return singles, list(digests.values())


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


def _select(rows: list[dict]) -> tuple[str, list]:
    """SELECT the rows from their JSON, keeping only those whose open is still
    there (deleted between the commit and now: nothing to tell)."""
    quote = connection.ops.quote_name
    opens = quote(OpenEvent._meta.db_table)
    now = timezone.now()
    if connection.vendor == "postgresql":
        sql = (
            "SELECT v.u, v.o, v.e, v.r, v.k, v.h, v.n, v.a::timestamptz, v.l::timestamptz, v.p::timestamptz, "  # noqa: S608
            "v.d::date, %s FROM json_to_recordset(%s::json) AS v(u bigint, o bigint, e bigint, r bigint, k text, "
            f"h text, n int, a text, l text, p text, d text) WHERE EXISTS (SELECT 1 FROM {opens} WHERE hit_key = v.h)"
        )
    else:
        fields = ", ".join(f"json_extract(value, '$.{k}')" for k in "uoerkhnalpd")
        sql = (
            f"SELECT {fields}, %s FROM json_each(%s) "  # noqa: S608
            f"WHERE EXISTS (SELECT 1 FROM {opens} WHERE hit_key = json_extract(value, '$.h'))"
        )
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


def _upsert_digests(rows: list[dict]) -> None:
    if not rows:
        return
    table = connection.ops.quote_name(Notification._meta.db_table)
    greatest = "GREATEST" if connection.vendor == "postgresql" else "max"
    select, params = _select(rows)
    sql = (
        f"INSERT INTO {table} ({COLUMNS}) {select} "
        f"ON CONFLICT (user_id, email_id, recipient_id, day) WHERE kind = '{Kind.DIGEST}' DO UPDATE SET "
        f"count = {table}.count + excluded.count, "
        f"last_opened_at = {greatest}({table}.last_opened_at, excluded.last_opened_at)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
