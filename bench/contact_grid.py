"""How the contact page's reading-times grid scales: a contact of an
organization of 1,000,000 opens against a small organization's, in one run,
in one PostgreSQL database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/onepage_bench \\
        .venv/bin/python bench/contact_grid.py [repetitions] [--refill] [--budget SECONDS] [--heavy OPENS]

Fills the database (PostgreSQL on 127.0.0.1 only) once, as bench/outreach.py
does (bench/feed_data.py's fill, then the verdicts, replies and counters):

  big    100,000 emails, 5,000 contacts, 1,000,000 opens (about 180 on each contact)
  small      100 emails,    10 contacts,     1,000 opens (about 90 on each contact)

and gives one contact of the big organization many more opens (--heavy,
20,000 by default, spread over its own recipient rows, a person's and
machines' as the verdicts above): a shared inbox, or someone who reads every
email many times. Then it requests the contact page (whole stack, Django's
test Client, as the contact's rep in the organization's zone) of the heavy
contact, a usual big-organization contact and a small-organization contact
`repetitions` times (30 by default), interleaved, and also times the grid
alone (tracking.reading_times.reading_times). It prints the query counts,
the medians and the ratios to the small organization's contact.
--budget bounds the measuring (60 s by default).
"""

import sys
import time
import zoneinfo
from dataclasses import dataclass, field

from pages_compare import LOCAL, DbTimer, analyze, fill_organizations, median_ms, parse_arguments, run

# Django is set up by then.
# isort: split
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from feed_data import fill, insert_select
from outreach import BIG, SMALL, give_verdicts

from contacts.models import Contact
from emails.models import EmailRecipient
from onepage.models import Membership, Organization, User
from tracking.models import OpenEvent
from tracking.reading_times import reading_times

GOAL = 1.5
HEAVY_NAME = "Heavy"


@dataclass
class Case:
    label: str
    contact: Contact
    user: User
    organization: Organization
    opens: int = 0
    page: list[float] = field(default_factory=list)
    page_db: list[float] = field(default_factory=list)
    grid: list[float] = field(default_factory=list)
    queries: int = 0
    grid_queries: int = 0

    def clear(self) -> None:
        self.page.clear()
        self.page_db.clear()
        self.grid.clear()


def make_heavy(org: Organization, opens: int) -> Contact:
    """The big organization's first contact, with `opens` more opens on its own rows, once."""
    contact = Contact.objects.filter(organization=org).order_by("pk").first()
    if contact.first_name == HEAVY_NAME:
        return contact
    rows = """SELECT id, email_id, row_number() OVER (ORDER BY id) - 1 AS j
              FROM emails_emailrecipient WHERE contact_id = %(c)s"""
    with transaction.atomic():
        insert_select(
            OpenEvent,
            {
                "recipient": "o.id",
                "email": "o.email_id",
                "opened_at": "e.sent_at + (k %% 4999) * interval '17 minutes'",
                "verdict": "CASE WHEN k %% 4 = 0 THEN 'privacy_prefetch' ELSE 'human' END",
            },
            f"""FROM generate_series(0, %(n)s - 1) AS k
                CROSS JOIN (SELECT count(*) AS n FROM ({rows}) AS x) AS total
                JOIN ({rows}) AS o ON o.j = k %% total.n JOIN emails_email e ON e.id = o.email_id""",
            {"c": contact.pk, "n": opens},
        )
        Contact.objects.filter(pk=contact.pk).update(first_name=HEAVY_NAME)
    contact.refresh_from_db()
    return contact


def case(label: str, contact: Contact) -> Case:
    """The contact, tracked by name (they allowed it: the fill leaves contacts
    of no known country, whom the default configuration counts in totals only)."""
    Contact.objects.filter(pk=contact.pk).update(open_tracking=Contact.OpenTracking.ALLOWED)
    contact.refresh_from_db()
    org = contact.organization
    sender = EmailRecipient.objects.filter(contact=contact).values_list("email__sender", flat=True).first()
    user = (
        User.objects.get(pk=sender)
        if sender
        else User.objects.get(membership__organization=org, membership__role=Membership.Role.ADMIN)
    )
    opens = OpenEvent.objects.filter(recipient__contact=contact).count()
    return Case(label, contact, user, org, opens)


def measure(c: Case, client: Client) -> None:
    timer = DbTimer()
    with connection.execute_wrapper(timer):
        started = time.perf_counter()
        response = client.get(reverse("contacts:detail", args=[c.contact.pk]), HTTP_HOST=LOCAL)
        elapsed = time.perf_counter() - started
    if response.status_code != 200 or b'class="week-grid"' not in response.content:
        sys.exit(f"{c.label} answered {response.status_code} (or no grid)")
    c.page.append(elapsed)
    c.page_db.append(timer.total)
    c.queries = timer.count
    grid_timer = DbTimer()
    zone = zoneinfo.ZoneInfo(c.organization.time_zone)
    with connection.execute_wrapper(grid_timer):
        started = time.perf_counter()
        times = reading_times(c.contact, zone=zone, organization=c.organization)
        assert times.cells  # the drawing's shapes, as the template asks for them
        c.grid.append(time.perf_counter() - started)
    c.grid_queries = grid_timer.count


def main() -> None:
    args = parse_arguments("--heavy")
    orgs = fill_organizations((BIG, SMALL), fill, args.refill, then=give_verdicts)
    heavy_contact = make_heavy(orgs[BIG], int(args.options.get("--heavy", 20_000)))
    analyze()
    for shape, org in orgs.items():
        print(f"  {shape.name}: {OpenEvent.objects.filter(email__organization=org).count():,} opens")
    usual = Contact.objects.filter(organization=orgs[BIG]).order_by("pk")[1]
    small = Contact.objects.filter(organization=orgs[SMALL]).order_by("pk")[1]
    cases = [
        case("big org, heavy contact", heavy_contact),
        case("big org, usual contact", usual),
        case("small org, usual contact", small),
    ]
    run([cases], measure, args.repetitions, args.budget)
    base = cases[-1]
    header = (
        f"{'contact':26} {'opens':>7} {'queries':>7} {'n':>3} {'page ms':>8} {'db ms':>6} {'ratio':>6}"
        f" {'grid ms':>8} {'grid q':>6} {'ratio':>6}"
    )
    print(f"\nThe contact page (Django test Client, whole stack), medians, interleaved:\n\n{header}")
    print("-" * len(header))
    missed = []
    for c in cases:
        page, grid = median_ms(c.page), median_ms(c.grid)
        page_ratio, grid_ratio = page / median_ms(base.page), grid / median_ms(base.grid)
        if page_ratio > GOAL:
            missed.append(c.label)
        print(
            f"{c.label:26} {c.opens:>7,} {c.queries:>7} {len(c.page):>3} {page:>8.1f}"
            f" {median_ms(c.page_db):>6.1f} {page_ratio:>6.2f} {grid:>8.1f} {c.grid_queries:>6}"
            f" {grid_ratio:>6.2f}"
        )
    print(f"\nGoal: the page's median within {GOAL}x of the small organization's contact's.")
    print("Missed: " + ", ".join(missed) if missed else "Met for every contact.")


if __name__ == "__main__":
    main()
