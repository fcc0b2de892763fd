"""How the open reports scale: a big organization and a small one, side by side.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/onepage_bench \\
        .venv/bin/python bench/reports.py [repetitions] [--refill] [--json PATH]

Fills the database at DATABASE_URL (PostgreSQL on 127.0.0.1 only; it refuses
SQLite and any other host) with two organizations, once (a later run finds them
and skips the fill):

  big    100,000 emails from 10 reps, 1,000,000 opens
  small      100 emails from 2 reps,      1,000 opens

Both have the same shape: 91% of the emails tracked, two thirds of those
opened (about 17 opens each, so every report has its "more than 10" notice),
one email in a hundred (big) or five (small) to one busy contact, whose
Email tab shows a full first page in both. Rows are made with INSERT ...
SELECT generate_series and the counters set with one UPDATE per table, as
the recording pipeline would have left them; then ANALYZE.

It then requests each page through Django's test Client (the whole stack:
middleware, view, template) `repetitions` times, big and small interleaved
so that both share the machine's ups and downs, and prints the query count,
the median time per request, the part of it spent in the database, the CPU
time of this process per request (less disturbed than the clock when the
machine is shared), the rendering part (time - database) over the database
part, and the ratio big/small. A ratio near 1 means the page costs the same
whatever the organization's size. --refill wipes both organizations and fills
again; --json writes every request's figures (bench/reports_compare.py).
"""

import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onepage.settings")

import django
from django.conf import settings

LOCAL = "127.0.0.1"


def refuse_unless_local_postgres() -> None:
    """Checked before Django touches any database or cache."""
    database = settings.DATABASES["default"]
    if "postgresql" not in database["ENGINE"]:
        sys.exit(
            "bench/reports.py measures PostgreSQL, not SQLite: set "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/onepage_bench"
        )
    if database.get("HOST") != LOCAL:
        sys.exit(f"bench/reports.py only runs against PostgreSQL on {LOCAL}, not {database.get('HOST')!r}.")
    if settings.REDIS_URL and urlparse(settings.REDIS_URL).hostname != LOCAL:
        sys.exit(f"bench/reports.py only talks to {LOCAL}: unset REDIS_URL or point it there.")


def create_database_if_missing() -> None:
    import psycopg2
    from psycopg2 import sql

    database = settings.DATABASES["default"]
    params = {"host": LOCAL, "port": database.get("PORT") or 5432, "user": database.get("USER") or "postgres"}
    conn = psycopg2.connect(dbname="postgres", password=database.get("PASSWORD") or None, **params)
    conn.autocommit = True  # CREATE DATABASE cannot run in a transaction
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database["NAME"]])
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database["NAME"])))
                print(f"Created database {database['NAME']}")
    finally:
        conn.close()


refuse_unless_local_postgres()
create_database_if_missing()
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from pages_compare import DbTimer  # noqa: E402
from report_data import BIG, SMALL, Shape, fill  # noqa: E402

from contacts.models import Contact  # noqa: E402
from emails.models import Email  # noqa: E402
from onepage.models import Membership, Organization, User  # noqa: E402
from tracking.models import OpenEvent  # noqa: E402


@dataclass
class Page:
    label: str
    shape: Shape
    user: User
    url: str
    params: dict
    times: list[float] = field(default_factory=list)
    db_times: list[float] = field(default_factory=list)
    cpu_times: list[float] = field(default_factory=list)
    queries: int = 0
    rows: int = 0


def pages_for(shape: Shape, org: Organization) -> list[Page]:
    admin = User.objects.get(membership__organization=org, membership__role=Membership.Role.ADMIN)
    rep = User.objects.filter(membership__organization=org, membership__role=Membership.Role.REP).order_by("pk")[0]
    busy = Contact.objects.filter(organization=org).order_by("pk")[0]
    contact_url = reverse("contacts:detail", args=[busy.pk])
    open_tracking = reverse("emails:open_tracking")
    return [
        Page("Open tracking, 1st page, everyone (admin)", shape, admin, open_tracking, {"sender": "all"}),
        Page("Open tracking, 1st page, own (rep)", shape, rep, open_tracking, {}),
        Page("Sent, 1st page, own (rep)", shape, rep, reverse("emails:index"), {}),
        Page("Contact, Email tab", shape, rep, contact_url, {"tab": "email"}),
        Page("Contact, All tab", shape, rep, contact_url, {"tab": "all"}),
    ]


def measure(page: Page, client: Client) -> None:
    timer = DbTimer()
    with connection.execute_wrapper(timer):
        started, cpu = time.perf_counter(), time.process_time()
        response = client.get(page.url, page.params, HTTP_HOST=LOCAL)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if response.status_code != 200:
        sys.exit(f"{page.label} ({page.shape.name}) answered {response.status_code}")
    page.times.append(elapsed)
    page.db_times.append(timer.total)
    page.cpu_times.append(cpu)
    page.queries = timer.count
    # Rows as the user sees them: email rows of a folder, or timeline items.
    page.rows = response.content.count(b'<td class="col-subject">') + response.content.count(b'<li class="event')


def main() -> None:
    argv = sys.argv[1:]
    json_path = argv.pop(argv.index("--json") + 1) if "--json" in argv else None
    args = [a for a in argv if not a.startswith("--")]
    refill = "--refill" in argv
    repetitions = int(args[0]) if args else 30
    print(f"Database: {connection.settings_dict['NAME']} on {connection.settings_dict['HOST']}")
    call_command("migrate", verbosity=0)
    print("Filling (once):")
    orgs = {shape: fill(shape, refill=refill) for shape in (BIG, SMALL)}
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    for shape, org in orgs.items():
        emails = Email.objects.filter(organization=org).count()
        opens = OpenEvent.objects.filter(email__organization=org).count()
        print(f"  {shape.name}: {emails:,} emails, {opens:,} opens")

    big_pages, small_pages = pages_for(BIG, orgs[BIG]), pages_for(SMALL, orgs[SMALL])
    clients: dict[int, Client] = {}
    for page in big_pages + small_pages:
        if page.user.pk not in clients:
            clients[page.user.pk] = Client()
            clients[page.user.pk].force_login(page.user)
    for big, small in zip(big_pages, small_pages, strict=True):
        for _ in range(3):  # warm caches and connections
            measure(big, clients[big.user.pk])
            measure(small, clients[small.user.pk])
        for page in (big, small):
            page.times.clear()
            page.db_times.clear()
            page.cpu_times.clear()
        for _ in range(repetitions):
            measure(big, clients[big.user.pk])
            measure(small, clients[small.user.pk])

    print(f"\nMedian of {repetitions} requests each (Django test Client, whole stack), big and small interleaved:\n")
    header = (
        f"{'page':44} {'org':6} {'rows':>4} {'queries':>7} {'median ms':>10} {'db ms':>7} {'cpu ms':>7}"
        f" {'render/db':>9} {'big/small':>9}"
    )
    print(header)
    print("-" * len(header))
    for big, small in zip(big_pages, small_pages, strict=True):
        big_ms, small_ms = statistics.median(big.times) * 1000, statistics.median(small.times) * 1000
        for page, ms, ratio in ((big, big_ms, f"{big_ms / small_ms:.2f}"), (small, small_ms, "")):
            org = "big" if page.shape is BIG else "small"
            db_ms = statistics.median(page.db_times) * 1000
            cpu_ms = statistics.median(page.cpu_times) * 1000
            render = (ms - db_ms) / db_ms
            print(
                f"{page.label:44} {org:6} {page.rows:>4} {page.queries:>7} {ms:>10.1f} {db_ms:>7.1f} {cpu_ms:>7.1f}"
                f" {render:>9.1f} {ratio:>9}"
            )
    print("\nGoal at 1,000,000 opens (big): median < 35 ms, rendering (median - db) at most 3x the database part.")
    if json_path:
        rows = [
            {"label": p.label, "org": "big" if p.shape is BIG else "small", "queries": p.queries,
             "times": p.times, "db_times": p.db_times, "cpu_times": p.cpu_times}
            for p in big_pages + small_pages
        ]  # fmt: skip
        Path(json_path).write_text(json.dumps(rows))


if __name__ == "__main__":
    main()
