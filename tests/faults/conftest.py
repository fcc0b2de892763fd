"""The fault suite: OnePage's processes against their own Redis and
PostgreSQL, which the tests kill, freeze and stop. Runs in the PostgreSQL +
Redis run of `make test` (marker `faults`); skipped on SQLite."""

import time
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from .processes import Services, available

RESULTS: list[tuple[str, int, int, int, int]] = []
SENDS: list[tuple[str, int, int, int, int, int]] = []
SUMMARY = Path(settings.BASE_DIR) / "var" / "faults-summary.txt"
# The scenario column: the longest name, "... (ASGI lane)" included.
WIDTH = 60


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/faults/" in str(item.fspath):
            item.add_marker(pytest.mark.faults)


@pytest.fixture(scope="session")
def fault_world(tmp_path_factory):
    """Skipped unless this is the PostgreSQL + Redis run and the machine has
    redis-server and PostgreSQL's binaries."""
    if not settings.REDIS_URL or settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("the fault suite runs in the PostgreSQL + Redis run")
    if reason := available():
        pytest.skip(reason)
    # The processes run with DEBUG off, which wants a real key; pixel tokens
    # made here must be signed with the same one.
    key = "faults-" + "k" * 43 + "-not-secret"
    services = Services(tmp_path_factory.mktemp("faults"), secret_key=key)
    try:
        with override_settings(SECRET_KEY=key):
            services.start()
            yield services
    finally:
        services.close()


def record_result(scenario: str, hits: int, recorded: int, lost: int, doubled: int) -> None:
    RESULTS.append((scenario, hits, recorded, lost, doubled))


def record_send(scenario: str, recipients: int, received: int, uncertain: int, lost: int, doubled: int) -> None:
    SENDS.append((scenario, recipients, received, uncertain, lost, doubled))


def table() -> str:
    lines = []
    if RESULTS:
        lines += [f"{'opens: scenario':{WIDTH}} {'hits':>6} {'recorded':>9} {'lost':>5} {'doubled':>8}"]
        lines += [f"{s:{WIDTH}} {h:>6} {r:>9} {lo:>5} {d:>8}" for s, h, r, lo, d in RESULTS]
    if SENDS:
        lines += [
            "",
            f"{'sending: scenario':{WIDTH}} {'recipients':>10} {'copies':>7} {'uncertain':>9} {'lost':>5} {'doubled':>8}",
        ]
        lines += [f"{s:{WIDTH}} {n:>10} {c:>7} {u:>9} {lo:>5} {d:>8}" for s, n, c, u, lo, d in SENDS]
    return "\n".join(lines)


def pytest_terminal_summary(terminalreporter):
    if not RESULTS and not SENDS:
        return
    terminalreporter.section("fault suite: opens and emails under faults")
    terminalreporter.write_line(table())
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY.write_text(f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n{table()}\n")
