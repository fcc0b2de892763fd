"""The data bench/feed.py measures: a big and a small organization in one
database, filled with INSERT ... SELECT generate_series (PostgreSQL only)
through the models' own columns: every column the statement does not set
gets its field's default, so a column added later needs no change here.
Every bench filler writes through `insert_select` (tests/test_bench_fillers.py
runs them all on a small shape). Imported by bench/feed.py once Django is set up."""

import time
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Model

from contacts.models import Contact
from emails.models import Email, EmailRecipient
from onepage.models import Membership, Organization, User
from tracking.models import OpenEvent


@dataclass(frozen=True)
class Shape:
    name: str
    slug: str
    emails: int
    opens: int
    reps: int
    contacts: int
    # One email sent every `every` minutes up to now.
    every: int


BIG = Shape("Feed bench: big organization", "big", emails=100_000, opens=1_000_000, reps=10, contacts=5_000, every=2)
SMALL = Shape("Feed bench: small organization", "small", emails=100, opens=1_000, reps=2, contacts=10, every=120)


def insert_select(model: type[Model], values: dict[str, str], source: str, params: dict) -> None:
    """INSERT INTO the model's table every concrete column but the id: the
    SQL expression in `values` (over `source`), else the field's default."""
    columns, expressions = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.name in values:
            expressions.append(values[field.name])
        elif field.has_default() or (field.empty_strings_allowed and not field.null):  # "" for text
            key = f"default_{field.column}"
            params[key] = field.get_db_prep_save(field.get_default(), connection)
            expressions.append(f"%({key})s")
        elif field.null:
            expressions.append("NULL")
        else:
            raise RuntimeError(f"{model.__name__}.{field.name} has no default: give it a value in the bench's fill")
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(expressions)} {source}"
    with connection.cursor() as cur:
        cur.execute(sql, params)


def fill(shape: Shape, *, refill: bool) -> Organization:
    org = Organization.objects.filter(name=shape.name).first()
    if org is not None and not refill and Email.objects.filter(organization=org).count() == shape.emails:
        print(f"  {shape.name}: already filled")
        return org
    started = time.perf_counter()
    with transaction.atomic():
        if org is not None:
            _wipe(org)
        org = _fill(shape)
    print(f"  {shape.name}: filled in {time.perf_counter() - started:.1f} s")
    return org


def _wipe(org: Organization) -> None:
    with connection.cursor() as cur:
        emails = "SELECT id FROM emails_email WHERE organization_id = %(org)s"
        cur.execute(f"DELETE FROM tracking_openevent WHERE email_id IN ({emails})", {"org": org.pk})
        cur.execute(f"DELETE FROM emails_emailrecipient WHERE email_id IN ({emails})", {"org": org.pk})
        cur.execute("DELETE FROM emails_email WHERE organization_id = %(org)s", {"org": org.pk})
    users = list(User.objects.filter(membership__organization=org).values_list("pk", flat=True))
    org.delete()
    User.objects.filter(pk__in=users).delete()


def _fill(shape: Shape) -> Organization:
    org = Organization.objects.create(name=shape.name, plan=Organization.Plan.BUSINESS, time_zone="Europe/Dublin")
    reps = []
    for n in range(shape.reps + 1):
        role = Membership.Role.ADMIN if n == 0 else Membership.Role.REP
        user = User.objects.create(username=f"feed-{shape.slug}-{role}-{n}", first_name=role.title(), last_name=str(n))
        Membership.objects.create(user=user, organization=org, role=role)
        reps.append(user.pk)
    Contact.objects.bulk_create(
        Contact(organization=org, first_name=f"Contact{n}", last_name="Bench", email=f"c{n}@{shape.slug}.feed.example")
        for n in range(shape.contacts)
    )
    contacts = list(Contact.objects.filter(organization=org).order_by("pk").values_list("pk", flat=True))
    params = {"org": org.pk, "reps": reps[1:], "nreps": shape.reps, "n": shape.emails, "every": shape.every}
    # Emails from the reps, one every `every` minutes up to now, all tracked and sent.
    at = "now() - (%(n)s - i) * %(every)s * interval '1 minute'"
    insert_select(
        Email,
        {
            "organization": "%(org)s",
            "sender": "(%(reps)s::bigint[])[1 + i %% %(nreps)s]",
            "subject": "'Proposal #' || i",
            "body_text": "'Hello'",
            "status": "'sent'",
            "message_id": "'feed-bench-' || i",
            "created_at": at,
            "sent_at": at,
            "send_after": at,
            "track_opens": "true",
        },
        "FROM generate_series(1, %(n)s) AS i",
        params,
    )
    email_rows = "SELECT id, row_number() OVER (ORDER BY id) AS n FROM emails_email WHERE organization_id = %(org)s"
    # One contact each, by name; every 10th email also to an address tracked in the total only.
    insert_select(
        EmailRecipient,
        {
            "email": "e.id",
            "address": "c.email",
            "contact": "c.id",
            "track_opens": "true",
            "delivered_at": "now()",
        },
        f"FROM ({email_rows}) AS e JOIN contacts_contact c ON c.id = (%(contacts)s::bigint[])[1 + e.n %% %(nc)s]",
        {**params, "contacts": contacts, "nc": len(contacts)},
    )
    insert_select(
        EmailRecipient,
        {"email": "e.id", "kind": "'cc'", "address": "'team@elsewhere.example'", "track_opens": "true",
         "aggregate_only": "true", "delivered_at": "now()"},
        f"FROM ({email_rows}) AS e WHERE e.n %% 10 = 0",
        params,
    )  # fmt: skip
    _opens(shape, params)
    return org


def _opens(shape: Shape, params: dict) -> None:
    # Open k goes to recipient row (k * 7919) mod rows (the named and the
    # total-only ones alike), some minutes after the email was sent.
    rows = """
        SELECT r.id AS recipient_id, r.aggregate_only, r.email_id, e.sent_at, row_number() OVER (ORDER BY r.id) - 1 AS j
        FROM emails_emailrecipient r JOIN emails_email e ON e.id = r.email_id WHERE e.organization_id = %(org)s
    """
    insert_select(
        OpenEvent,
        {
            "recipient": "CASE WHEN o.aggregate_only THEN NULL ELSE o.recipient_id END",
            "email": "o.email_id",
            # Up to 4.8 days after the send, and never later than now (ties at now would be no real feed).
            "opened_at": (
                "o.sent_at + LEAST((k %% 997) * interval '7 minutes', (now() - o.sent_at) * ((k %% 997) + 1) / 998.0)"
            ),
            "verdict": "'human'",
        },
        f"""FROM generate_series(0, %(opens)s - 1) AS k CROSS JOIN (SELECT count(*) AS n FROM ({rows}) AS x) AS total
        JOIN ({rows}) AS o ON o.j = (k::bigint * 7919) %% total.n""",
        {**params, "opens": shape.opens},
    )
    for table, key in (("emails_emailrecipient", "recipient_id"), ("emails_email", "email_id")):
        with connection.cursor() as cur:
            cur.execute(
                f"""
                UPDATE {table} AS t SET open_count = s.n, first_opened_at = s.first, last_opened_at = s.last
                FROM (SELECT o.{key} AS id, count(*) AS n, min(o.opened_at) AS first, max(o.opened_at) AS last
                      FROM tracking_openevent o JOIN emails_email e ON e.id = o.email_id
                      WHERE e.organization_id = %(org)s AND o.{key} IS NOT NULL GROUP BY o.{key}) AS s
                WHERE t.id = s.id
                """,
                params,
            )
