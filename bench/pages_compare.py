"""The harness bench/feed.py, bench/outreach.py and bench/contact_grid.py
share: pages of a big and a small organization requested through Django's
test Client (the whole stack), interleaved so that both share the machine's
ups and downs, and their medians side by side.

Importing it sets Django up, after refusing anything but PostgreSQL (and
Redis, if any) on 127.0.0.1, so a script imports it before any model.
"""

import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onepage.settings")

import django
from django.conf import settings

LOCAL = "127.0.0.1"
SCRIPT = f"bench/{Path(sys.argv[0]).name}"


def refuse_unless_local_postgres() -> None:
    """Checked before Django touches any database or cache."""
    database = settings.DATABASES["default"]
    if "postgresql" not in database["ENGINE"] or database.get("HOST") != LOCAL:
        sys.exit(f"{SCRIPT} measures PostgreSQL on {LOCAL}: set DATABASE_URL=postgres://postgres@{LOCAL}:5432/…")
    if settings.REDIS_URL and urlparse(settings.REDIS_URL).hostname != LOCAL:
        sys.exit(f"{SCRIPT} only talks to {LOCAL}: unset REDIS_URL or point it there.")


refuse_unless_local_postgres()
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from emails.models import Email  # noqa: E402
from onepage.models import User  # noqa: E402
from tracking.models import OpenEvent  # noqa: E402


@dataclass
class Arguments:
    repetitions: int
    budget: float
    refill: bool
    options: dict[str, str]


def parse_arguments(*valued: str) -> Arguments:
    """`[repetitions] [--refill] [--budget SECONDS]` and the script's own
    options that take a value (`valued`, found in `options`)."""
    argv = sys.argv[1:]
    options = {}
    for name in ("--budget", *valued):
        if name in argv:
            options[name] = argv.pop(argv.index(name) + 1)
    positional = [a for a in argv if not a.startswith("--")]
    budget = float(options.pop("--budget", 60.0))
    return Arguments(int(positional[0]) if positional else 30, budget, "--refill" in argv, options)


class DbTimer:
    """An execute wrapper: the time spent in the database, and the query count."""

    def __init__(self) -> None:
        self.total, self.count = 0.0, 0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.total += time.perf_counter() - started
            self.count += 1


@dataclass
class Page:
    label: str
    user: User
    url: str
    params: dict
    goal: bool = True  # counted against the goal, or only shown
    org: str = ""  # "big" or "small", set by pair()
    times: list[float] = field(default_factory=list)
    db_times: list[float] = field(default_factory=list)
    queries: int = 0
    rows: int = 0

    def clear(self) -> None:
        self.times.clear()
        self.db_times.clear()


def pair(big: list[Page], small: list[Page]) -> list[tuple[Page, Page]]:
    for page in big:
        page.org = "big"
    for page in small:
        page.org = "small"
    return list(zip(big, small, strict=True))


def measure(page: Page, client: Client, rows: Iterable[bytes] = ()) -> None:
    """One request; `rows` are the markers counted in the answer as its rows."""
    timer = DbTimer()
    with connection.execute_wrapper(timer):
        started = time.perf_counter()
        response = client.get(page.url, page.params, HTTP_HOST=LOCAL)
        elapsed = time.perf_counter() - started
    if response.status_code != 200:
        sys.exit(f"{page.label} ({page.org}) answered {response.status_code}")
    page.times.append(elapsed)
    page.db_times.append(timer.total)
    page.queries = timer.count
    page.rows = sum(response.content.count(marker) for marker in rows)


def fill_organizations(shapes, fill, refill: bool, then: Callable | None = None) -> dict:
    """Migrates, fills each shape once (then `then(org)`), returns {shape: organization}."""
    print(f"Database: {connection.settings_dict['NAME']} on {connection.settings_dict['HOST']}")
    call_command("migrate", verbosity=0)
    print("Filling (once):")
    orgs = {}
    for shape in shapes:
        orgs[shape] = fill(shape, refill=refill)
        if then is not None:
            then(orgs[shape])
    return orgs


def analyze() -> None:
    with connection.cursor() as cur:
        cur.execute("ANALYZE")


def print_sizes(orgs: dict) -> None:
    for shape, org in orgs.items():
        emails = Email.objects.filter(organization=org).count()
        opens = OpenEvent.objects.filter(email__organization=org).count()
        print(f"  {shape.name}: {emails:,} emails, {opens:,} opens")


def run(groups: list, measure: Callable, repetitions: int, budget: float = math.inf) -> None:
    """Each group's items (with .user and .clear()) measured in turn:
    3 rounds to warm up, then `repetitions` rounds or until `budget` seconds."""
    clients: dict[int, Client] = {}
    for item in [item for group in groups for item in group]:
        if item.user.pk not in clients:
            clients[item.user.pk] = Client()
            clients[item.user.pk].force_login(item.user)
    for group in groups:
        for _ in range(3):  # warm caches and connections
            for item in group:
                measure(item, clients[item.user.pk])
        for item in group:
            item.clear()
        started = time.perf_counter()
        for _ in range(repetitions):
            for item in group:
                measure(item, clients[item.user.pk])
            if time.perf_counter() - started > budget:
                break


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


WIDTHS = {"rows": 4, "queries": 7, "n": 3, "median ms": 10, "db ms": 7, "big/small": 9}


def _cells(page: Page, ms: float, ratio: str) -> dict[str, str]:
    return {
        "rows": str(page.rows),
        "queries": str(page.queries),
        "n": str(len(page.times)),
        "median ms": f"{ms:.1f}",
        "db ms": f"{median_ms(page.db_times):.1f}",
        "big/small": ratio,
    }


def print_medians(pairs: list[tuple[Page, Page]], title: str, width: int, columns: list[str]) -> None:
    """The table: page (`width` wide), org, then `columns` (names in WIDTHS)."""
    header = f"{'page':{width}} {'org':6}" + "".join(f" {name:>{WIDTHS[name]}}" for name in columns)
    print(f"\n{title}:\n\n{header}\n{'-' * len(header)}")
    for big, small in pairs:
        big_ms, small_ms = median_ms(big.times), median_ms(small.times)
        for page, ms, ratio in ((big, big_ms, f"{big_ms / small_ms:.2f}"), (small, small_ms, "")):
            cells = _cells(page, ms, ratio)
            print(f"{page.label:{width}} {page.org:6}" + "".join(f" {cells[c]:>{WIDTHS[c]}}" for c in columns))


def print_goal(pairs: list[tuple[Page, Page]], goal: float, what: str) -> None:
    """Which pages (counted against the goal) are over `goal` times the small organization's."""
    missed = [big.label for big, small in pairs if big.goal and median_ms(big.times) / median_ms(small.times) > goal]
    print(f"\nGoal: every {what}'s median within {goal}x of the small organization's.")
    print("Missed: " + ", ".join(missed) if missed else f"Met on every {what}.")


def compare(shapes, fill, pages_for, *, then=None, rows=(), width: int, columns: list[str], goal: float, what: str):
    """A script's whole run: fill the big and the small organization (`shapes`)
    once, request `pages_for(org)` of both interleaved, print the medians and
    the goal (for every `what`, `goal` times the small organization's at most)."""
    args = parse_arguments()
    orgs = fill_organizations(shapes, fill, args.refill, then=then)
    analyze()
    print_sizes(orgs)
    big, small = shapes
    pairs = pair(pages_for(orgs[big]), pages_for(orgs[small]))
    run(pairs, lambda page, client: measure(page, client, rows), args.repetitions, args.budget)
    print_medians(pairs, "Medians (Django test Client, whole stack), big and small interleaved", width, columns)
    print_goal(pairs, goal, what)
