"""The data bench/reports.py measures: a big and a small organization of
the same shape, filled with INSERT ... SELECT generate_series (PostgreSQL
only) through the models' own columns (feed_data.insert_select: a column
the statement does not set gets its field's default, so a NOT NULL column
added later needs no change here), the counters set as the recording
pipeline would have left them.
Imported by bench/reports.py once Django is set up."""

import time
from dataclasses import dataclass

from django.db import connection, transaction
from feed_data import insert_select

from contacts.models import Contact
from emails.models import Email, EmailRecipient
from onepage.models import Membership, Organization, User
from tracking.models import OpenEvent


@dataclass(frozen=True)
class Shape:
    name: str
    emails: int
    opens: int
    reps: int
    contacts: int
    # Every n-th email goes to the busy contact whose Email tab is measured.
    busy_every: int


BIG = Shape("Bench: big organization", emails=100_000, opens=1_000_000, reps=10, contacts=5_000, busy_every=100)
SMALL = Shape("Bench: small organization", emails=100, opens=1_000, reps=2, contacts=10, busy_every=5)


def fill(shape: Shape, *, refill: bool) -> Organization:
    org = Organization.objects.filter(name=shape.name).first()
    if org is not None and not refill and Email.objects.filter(organization=org).count() == shape.emails:
        print(f"  {shape.name}: already filled")
        return org
    started = time.perf_counter()
    with transaction.atomic():
        if org is not None:  # a half-done earlier fill, or --refill
            _wipe(org)
        org = _fill(shape)
    print(f"  {shape.name}: filled in {time.perf_counter() - started:.1f} s")
    return org


def _wipe(org: Organization) -> None:
    # In SQL: the ORM's cascade would load a million opens into memory first.
    with connection.cursor() as cur:
        emails = "SELECT id FROM emails_email WHERE organization_id = %(org)s"
        cur.execute(f"DELETE FROM tracking_openevent WHERE email_id IN ({emails})", {"org": org.pk})
        cur.execute(f"DELETE FROM emails_emailrecipient WHERE email_id IN ({emails})", {"org": org.pk})
        cur.execute("DELETE FROM emails_email WHERE organization_id = %(org)s", {"org": org.pk})
    users = list(User.objects.filter(membership__organization=org).values_list("pk", flat=True))
    org.delete()
    User.objects.filter(pk__in=users).delete()


def _fill(shape: Shape) -> Organization:
    slug = "big" if shape is BIG else "small"
    org = Organization.objects.create(name=shape.name, plan=Organization.Plan.BUSINESS, time_zone="Europe/Dublin")
    rep_ids, contact_ids = _people(shape, org, slug)
    with connection.cursor() as cur:
        _emails_and_recipients(shape, org, rep_ids, contact_ids)
        _opens_and_counters(cur, shape, org)
    return org


def _people(shape: Shape, org: Organization, slug: str) -> tuple[list[int], list[int]]:
    """An admin and the reps; the contacts. Their ids: reps, then contacts."""
    users = []
    for n in range(shape.reps + 1):
        role = Membership.Role.ADMIN if n == 0 else Membership.Role.REP
        username = f"bench-{slug}-{role}-{n}"
        user = User.objects.create(username=username, first_name=role.title(), last_name=str(n))
        user.set_unusable_password()
        user.save(update_fields=["password"])
        Membership.objects.create(user=user, organization=org, role=role)
        users.append(user)
    Contact.objects.bulk_create(
        Contact(organization=org, first_name=f"Contact{n}", last_name="Bench", email=f"c{n}@{slug}.bench.example")
        for n in range(shape.contacts)
    )
    contact_ids = list(Contact.objects.filter(organization=org).order_by("pk").values_list("pk", flat=True))
    return [u.pk for u in users[1:]], contact_ids


def _emails_and_recipients(shape: Shape, org: Organization, rep_ids: list[int], contact_ids: list[int]) -> None:
    # Emails: one every 5 minutes up to now, in id order as the app writes
    # them; 1 in 97 failed, 1 in 11 sent with Track off.
    at = "now() - (%(n)s - i) * interval '5 minutes'"
    insert_select(
        Email,
        {
            "organization": "%(org)s",
            "sender": "(%(reps)s::bigint[])[1 + i %% %(nreps)s]",
            "subject": "'Proposal #' || i",
            "body_text": "'Hello'",
            "status": "CASE WHEN i %% 97 = 0 THEN 'failed' ELSE 'sent' END",
            "error": "CASE WHEN i %% 97 = 0 THEN '550 Mailbox unavailable' ELSE '' END",
            "attempts": "1",
            "message_id": "'bench-' || i",
            "created_at": at,
            "sent_at": f"CASE WHEN i %% 97 = 0 THEN NULL ELSE {at} END",
            "send_after": at,
            "track_opens": "i %% 11 <> 0",
            "not_tracked_reason": "CASE WHEN i %% 11 = 0 THEN 'toggle_off' ELSE '' END",
        },
        "FROM generate_series(1, %(n)s) AS i",
        {"org": org.pk, "reps": rep_ids, "nreps": len(rep_ids), "n": shape.emails},
    )
    # One recipient each: the busy contact for every busy_every-th email.
    insert_select(
        EmailRecipient,
        {
            "email": "e.id",
            "address": "c.email",
            "contact": "c.id",
            "track_opens": "e.track_opens",
            "not_tracked_reason": "e.not_tracked_reason",
        },
        """FROM (SELECT id, track_opens, not_tracked_reason, row_number() OVER (ORDER BY id) AS n
              FROM emails_email WHERE organization_id = %(org)s) AS e
        JOIN contacts_contact c ON c.id = (%(contacts)s::bigint[])[
            1 + CASE WHEN e.n %% %(busy)s = 0 THEN 0 ELSE e.n %% %(ncontacts)s END]""",
        {"org": org.pk, "contacts": contact_ids, "ncontacts": len(contact_ids), "busy": shape.busy_every},
    )


def _opens_and_counters(cur, shape: Shape, org: Organization) -> None:
    # Opens: two thirds of the tracked, sent emails are opened; open k goes
    # to one of them by a stride that spreads them evenly. Every one a
    # person's (the verdict's default), so the counters below count them all.
    opened = """SELECT r.id AS recipient_id, r.email_id, e.sent_at, row_number() OVER (ORDER BY r.id) - 1 AS j
        FROM emails_emailrecipient r JOIN emails_email e ON e.id = r.email_id
        WHERE e.organization_id = %(org)s AND e.track_opens AND e.status = 'sent' AND r.id %% 3 <> 0"""
    insert_select(
        OpenEvent,
        {
            "recipient": "o.recipient_id",
            "email": "o.email_id",
            "opened_at": "LEAST(now(), o.sent_at + (k %% 997) * interval '7 minutes')",
        },
        f"""FROM generate_series(0, %(n)s - 1) AS k
        CROSS JOIN (SELECT count(*) AS n FROM ({opened}) AS x) AS total
        JOIN ({opened}) AS o ON o.j = (k::bigint * 7919) %% total.n""",
        {"org": org.pk, "n": shape.opens},
    )
    for table, key in (("emails_emailrecipient", "recipient_id"), ("emails_email", "email_id")):
        cur.execute(
            f"""
            UPDATE {table} AS t SET open_count = s.n, first_opened_at = s.first, last_opened_at = s.last
            FROM (SELECT o.{key} AS id, count(*) AS n, min(o.opened_at) AS first, max(o.opened_at) AS last
                  FROM tracking_openevent o JOIN emails_email e ON e.id = o.email_id
                  WHERE e.organization_id = %(org)s GROUP BY o.{key}) AS s
            WHERE t.id = s.id
            """,
            {"org": org.pk},
        )
