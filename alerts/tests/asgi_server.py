"""OnePage under a real ASGI server for the live channel's tests: granian
--interface asgi, as the onepage-live service runs it, in a subprocess
against the test database and the test run's Redis (none: redis=False;
another: its URL).
`static=True` serves the static files too (alerts.tests.asgi_static), for
Chromium."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from conftest import free_port

GRANIAN = Path(sys.executable).parent / "granian"
# The server's database connections go by this name (pg_stat_activity).
APPLICATION_NAME = "onepage-asgi-test"


@dataclass
class Server:
    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def threads(self) -> int:
        """The threads of granian's processes (the main one and its workers)."""
        pids, total = {self.process.pid}, 0
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
            except OSError:
                continue
            if int(fields["PPid"]) in pids or int(fields["Pid"]) in pids:
                total += int(fields["Threads"])
        return total


def needs_postgresql_and_redis() -> None:
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("needs a database and a Redis another process can reach: runs in the PostgreSQL + Redis run")


@contextmanager
def asgi_server(*, static: bool = False, redis: bool | str = True) -> Iterator[Server]:
    database = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE")}
    env.update(
        DATABASE_URL=(
            f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:"
            f"{database['PORT'] or 5432}/{database['NAME']}?application_name={APPLICATION_NAME}"
        ),
        REDIS_URL=redis if isinstance(redis, str) else settings.REDIS_URL if redis else "",
        SECRET_KEY=settings.SECRET_KEY,  # the sessions' auth hash
        DEBUG="true",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        MAILBOX_SYNC_ON_PAGE_LOADS="false",
        LOG_LEVEL="WARNING",
    )
    port = free_port()
    app = "alerts.tests.asgi_static:application" if static else "onepage.asgi:application"
    process = subprocess.Popen(
        [str(GRANIAN), "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--log-level", "warning", app],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                pytest.fail(f"granian exited: {process.stderr.read()}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                pytest.fail("granian did not listen within 20 s")
            time.sleep(0.1)
        yield Server(port=port, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
