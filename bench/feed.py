"""How the activity feed scales: a big organization and a small one, side by side.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/onepage_bench \\
        .venv/bin/python bench/feed.py [repetitions] [--refill] [--budget SECONDS]

Fills the database at DATABASE_URL (PostgreSQL on 127.0.0.1 only) with two
organizations, once (bench/feed_data.py; a later run finds them):

  big    100,000 emails from 10 reps (one every 2 minutes), 1,000,000 opens
  small      100 emails from 2 reps (one every 2 hours),       1,000 opens

each email to one contact by name, every tenth also to an address tracked in
the total only (its opens name nobody). Then it requests each page through
Django's test Client (middleware, view, template) `repetitions` times (30 by
default), big and small interleaved, and prints the lines shown, the query
count, the median time, its database part and the ratio big/small; the goal
is a feed page within 1.2x of the small organization's. --budget bounds the
measuring of each page (60 s by default): fewer repetitions when slow.
"""

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
GOAL = 1.2


def refuse_unless_local_postgres() -> None:
    database = settings.DATABASES["default"]
    if "postgresql" not in database["ENGINE"] or database.get("HOST") != LOCAL:
        sys.exit(f"bench/feed.py measures PostgreSQL on {LOCAL}: set DATABASE_URL=postgres://postgres@{LOCAL}:5432/…")
    if settings.REDIS_URL and urlparse(settings.REDIS_URL).hostname != LOCAL:
        sys.exit(f"bench/feed.py only talks to {LOCAL}: unset REDIS_URL or point it there.")


refuse_unless_local_postgres()
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from feed_data import BIG, SMALL, Shape, fill  # noqa: E402

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
    goal: bool = True
    times: list[float] = field(default_factory=list)
    db_times: list[float] = field(default_factory=list)
    queries: int = 0
    rows: int = 0


class _DbTimer:
    def __init__(self) -> None:
        self.total, self.count = 0.0, 0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.total += time.perf_counter() - started
            self.count += 1


def pages_for(shape: Shape, org: Organization) -> list[Page]:
    members = User.objects.filter(membership__organization=org)
    admin = members.get(membership__role=Membership.Role.ADMIN)
    rep = members.filter(membership__role=Membership.Role.REP).order_by("pk")[0]
    feed, contacts = reverse("activity:feed"), reverse("contacts:list")
    return [
        Page("Feed, 1st page, own, 7 days (rep)", shape, rep, feed, {}),
        Page("Feed, 1st page, everyone, 7 days (admin)", shape, admin, feed, {"who": "everyone"}),
        Page("Feed, 1st page, everyone, all time (admin)", shape, admin, feed, {"who": "everyone", "period": "all"}),
        Page("Feed, 3rd page, everyone, 7 days (admin)", shape, admin, feed, {"who": "everyone", "page": 3}),
        # Not a feed page: every contact's latest open is worked out to sort
        # them (5,000 against 10); shown for what it costs.
        Page("Contacts by Last opened (rep)", shape, rep, contacts, {"sort": "last_opened"}, goal=False),
    ]


def measure(page: Page, client: Client) -> None:
    timer = _DbTimer()
    with connection.execute_wrapper(timer):
        started = time.perf_counter()
        response = client.get(page.url, page.params, HTTP_HOST=LOCAL)
        elapsed = time.perf_counter() - started
    if response.status_code != 200:
        sys.exit(f"{page.label} ({page.shape.name}) answered {response.status_code}")
    page.times.append(elapsed)
    page.db_times.append(timer.total)
    page.queries = timer.count
    page.rows = response.content.count(b'<li class="feed-item">') + response.content.count(b'<td class="col-last')


def main() -> None:
    argv = sys.argv[1:]
    budget = float(argv.pop(argv.index("--budget") + 1)) if "--budget" in argv else 60.0
    args = [a for a in argv if not a.startswith("--")]
    repetitions = int(args[0]) if args else 30
    print(f"Database: {connection.settings_dict['NAME']} on {connection.settings_dict['HOST']}")
    call_command("migrate", verbosity=0)
    print("Filling (once):")
    orgs = {shape: fill(shape, refill="--refill" in argv) for shape in (BIG, SMALL)}
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    for shape, org in orgs.items():
        emails = Email.objects.filter(organization=org).count()
        opens = OpenEvent.objects.filter(email__organization=org).count()
        print(f"  {shape.name}: {emails:,} emails, {opens:,} opens")

    pairs = list(zip(pages_for(BIG, orgs[BIG]), pages_for(SMALL, orgs[SMALL]), strict=True))
    clients: dict[int, Client] = {}
    for page in [p for pair in pairs for p in pair]:
        if page.user.pk not in clients:
            clients[page.user.pk] = Client()
            clients[page.user.pk].force_login(page.user)
    for big, small in pairs:
        for _ in range(3):  # warm caches and connections
            measure(big, clients[big.user.pk])
            measure(small, clients[small.user.pk])
        for page in (big, small):
            page.times.clear()
            page.db_times.clear()
        started = time.perf_counter()
        for _ in range(repetitions):
            measure(big, clients[big.user.pk])
            measure(small, clients[small.user.pk])
            if time.perf_counter() - started > budget:
                break

    header = (
        f"{'page':44} {'org':6} {'rows':>4} {'queries':>7} {'n':>3} {'median ms':>10} {'db ms':>7} {'big/small':>9}"
    )
    print(f"\nMedians (Django test Client, whole stack), big and small interleaved:\n\n{header}\n{'-' * len(header)}")
    missed = []
    for big, small in pairs:
        big_ms, small_ms = statistics.median(big.times) * 1000, statistics.median(small.times) * 1000
        ratio = big_ms / small_ms
        if big.goal and ratio > GOAL:
            missed.append(big.label)
        for page, ms, shown in ((big, big_ms, f"{ratio:.2f}"), (small, small_ms, "")):
            org = "big" if page.shape is BIG else "small"
            db_ms = statistics.median(page.db_times) * 1000
            cells = f"{page.label:44} {org:6} {page.rows:>4} {page.queries:>7} {len(page.times):>3}"
            print(f"{cells} {ms:>10.1f} {db_ms:>7.1f} {shown:>9}")
    print(f"\nGoal: every feed page's median within {GOAL}x of the small organization's.")
    print("Missed: " + ", ".join(missed) if missed else "Met on every feed page.")


if __name__ == "__main__":
    main()
