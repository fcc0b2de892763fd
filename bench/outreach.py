"""How the team's outreach (Reports, /reports/) scales: a big organization
and a small one, side by side, in one PostgreSQL database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/onepage_bench \\
        .venv/bin/python bench/outreach.py [repetitions] [--refill] [--budget SECONDS]

Fills the database (PostgreSQL on 127.0.0.1 only) with two organizations,
once, through the models' columns (bench/feed_data.py's fill):

  big    100,000 emails from 10 reps (one every 5 minutes: 50 weeks), 1,000,000 opens
  small      100 emails from 2 reps (one every 2 hours: 8 days),      1,000 opens

then gives the opens verdicts as a mail client's would be (every email in
four fetched by Apple's privacy prefetch only, one in nine by a scanner, a
prefetch among the people's opens of the rest), the emails a reply (one in
twelve), and sets the counters from the events as the writer would have.
Each page is requested through Django's test Client (the whole stack)
`repetitions` times (30 by default), big and small interleaved; it prints
the query count, the median time, its database part and the ratio
big/small. The goal is a page within 1.5x of the small organization's.
"""

import statistics
import sys
import time
from dataclasses import dataclass, field

from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from feed import LOCAL, _DbTimer
from feed_data import Shape, fill

from emails.models import Email
from onepage.models import Membership, Organization, User
from tracking.models import AUTOMATIC_BITS, COUNTED, OpenEvent

GOAL = 1.5
BIG = Shape(
    "Outreach bench: big organization", "obig", emails=100_000, opens=1_000_000, reps=10, contacts=5_000, every=5
)
SMALL = Shape("Outreach bench: small organization", "osmall", emails=100, opens=1_000, reps=2, contacts=10, every=120)


def give_verdicts(org: Organization) -> None:
    """Verdicts, replies and the counters from the events, once."""
    emails = Email.objects.filter(organization=org)
    if emails.filter(automatic_count__gt=0).exists():
        return
    params = {"org": org.pk}
    counted = ", ".join(f"'{v}'" for v in sorted(COUNTED))
    bits = " ".join(f"WHEN '{v}' THEN {bit}" for v, bit in AUTOMATIC_BITS.items())
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            """UPDATE tracking_openevent o SET verdict = CASE
                 WHEN o.email_id %% 4 = 0 THEN 'privacy_prefetch' WHEN o.email_id %% 9 = 0 THEN 'scanner'
                 WHEN o.id %% 5 = 0 THEN 'privacy_prefetch' ELSE 'human' END
               FROM emails_email e WHERE e.id = o.email_id AND e.organization_id = %(org)s""",
            params,
        )
        cur.execute(
            """UPDATE emails_email SET replied_at = sent_at + interval '1 day'
               WHERE organization_id = %(org)s AND id %% 12 = 0""",
            params,
        )
        for table, key in (("emails_emailrecipient", "recipient_id"), ("emails_email", "email_id")):
            cur.execute(
                f"""UPDATE {table} AS t SET
                      open_count = s.n, first_opened_at = s.first, last_opened_at = s.last,
                      automatic_count = s.machines, automatic_kinds = s.kinds
                    FROM (SELECT o.{key} AS id,
                            count(*) FILTER (WHERE o.verdict IN ({counted})) AS n,
                            min(o.opened_at) FILTER (WHERE o.verdict IN ({counted})) AS first,
                            max(o.opened_at) FILTER (WHERE o.verdict IN ({counted})) AS last,
                            count(*) FILTER (WHERE o.verdict NOT IN ({counted})) AS machines,
                            coalesce(bit_or(CASE o.verdict {bits} ELSE 0 END), 0) AS kinds
                          FROM tracking_openevent o JOIN emails_email e ON e.id = o.email_id
                          WHERE e.organization_id = %(org)s AND o.{key} IS NOT NULL GROUP BY o.{key}) AS s
                    WHERE t.id = s.id""",
                params,
            )


@dataclass
class Page:
    label: str
    user: User
    url: str
    params: dict
    times: list[float] = field(default_factory=list)
    db_times: list[float] = field(default_factory=list)
    queries: int = 0


def pages_for(org: Organization) -> list[Page]:
    members = User.objects.filter(membership__organization=org)
    admin = members.get(membership__role=Membership.Role.ADMIN)
    rep = members.filter(membership__role=Membership.Role.REP).order_by("pk")[0]
    page, weeks_csv = reverse("reports:outreach"), reverse("reports:outreach_csv", args=["rep-weeks"])
    return [
        Page("Outreach, 12 weeks, own (rep)", rep, page, {}),
        Page("Outreach, 12 weeks, everyone (admin)", admin, page, {}),
        Page("Outreach, 4 weeks, everyone (admin)", admin, page, {"weeks": 4}),
        Page("Outreach, 52 weeks, everyone (admin)", admin, page, {"weeks": 52}),
        Page("Outreach, 52 weeks, one rep (admin)", admin, page, {"weeks": 52, "rep": rep.pk}),
        Page("CSV each rep's weeks, 52 weeks (admin)", admin, weeks_csv, {"weeks": 52}),
    ]


def measure(page: Page, client: Client) -> None:
    timer = _DbTimer()
    with connection.execute_wrapper(timer):
        started = time.perf_counter()
        response = client.get(page.url, page.params, HTTP_HOST=LOCAL)
        elapsed = time.perf_counter() - started
    if response.status_code != 200:
        sys.exit(f"{page.label} answered {response.status_code}")
    page.times.append(elapsed)
    page.db_times.append(timer.total)
    page.queries = timer.count


def main() -> None:
    argv = sys.argv[1:]
    budget = float(argv.pop(argv.index("--budget") + 1)) if "--budget" in argv else 60.0
    args = [a for a in argv if not a.startswith("--")]
    repetitions = int(args[0]) if args else 30
    print(f"Database: {connection.settings_dict['NAME']} on {connection.settings_dict['HOST']}")
    call_command("migrate", verbosity=0)
    print("Filling (once):")
    orgs = {}
    for shape in (BIG, SMALL):
        orgs[shape] = fill(shape, refill="--refill" in argv)
        give_verdicts(orgs[shape])
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    for shape, org in orgs.items():
        emails = Email.objects.filter(organization=org).count()
        opens = OpenEvent.objects.filter(email__organization=org).count()
        print(f"  {shape.name}: {emails:,} emails, {opens:,} opens")
    pairs = list(zip(pages_for(orgs[BIG]), pages_for(orgs[SMALL]), strict=True))
    clients: dict[int, Client] = {}
    for page in [p for pair in pairs for p in pair]:
        if page.user.pk not in clients:
            clients[page.user.pk] = Client()
            clients[page.user.pk].force_login(page.user)
    for big, small in pairs:
        for _ in range(3):  # warm caches and connections
            measure(big, clients[big.user.pk])
            measure(small, clients[small.user.pk])
        for p in (big, small):
            p.times.clear()
            p.db_times.clear()
        started = time.perf_counter()
        for _ in range(repetitions):
            measure(big, clients[big.user.pk])
            measure(small, clients[small.user.pk])
            if time.perf_counter() - started > budget:
                break
    header = f"{'page':40} {'org':6} {'queries':>7} {'n':>3} {'median ms':>10} {'db ms':>7} {'big/small':>9}"
    print(f"\nMedians (Django test Client, whole stack), big and small interleaved:\n\n{header}\n{'-' * len(header)}")
    missed = []
    for big, small in pairs:
        big_ms, small_ms = statistics.median(big.times) * 1000, statistics.median(small.times) * 1000
        if big_ms / small_ms > GOAL:
            missed.append(big.label)
        for p, org, ms, shown in ((big, "big", big_ms, f"{big_ms / small_ms:.2f}"), (small, "small", small_ms, "")):
            db_ms = statistics.median(p.db_times) * 1000
            print(f"{p.label:40} {org:6} {p.queries:>7} {len(p.times):>3} {ms:>10.1f} {db_ms:>7.1f} {shown:>9}")
    print(f"\nGoal: every page's median within {GOAL}x of the small organization's.")
    print("Missed: " + ", ".join(missed) if missed else "Met on every page.")


if __name__ == "__main__":
    main()
