"""OnePage as production runs it: granian with DEBUG=false (WhiteNoise, no
runserver), a Celery worker, beat and the recorder as separate processes, PostgreSQL and
Redis, behind an HTTPS proxy (TLS ends there; it sends X-Forwarded-Proto:
https, and the browser's Origin is https). A rep signs in in Chromium, sees the styled page, sends an
email to a real SMTP server; the recipient's pixel is loaded; the open shows.

Runs in the PostgreSQL + Redis run (the processes read the test database)."""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.db import connection

from conftest import free_port, screenshot
from contacts.tests.factories import ContactFactory
from emails.tests.factories import EmailConfigurationFactory, SMTPMailboxFactory
from onepage.tests.factories import TEST_PASSWORD, MembershipFactory
from onepage.tests.tls_proxy import TLSProxy

pytestmark = pytest.mark.browser

SITE = "https://crm.onepage.test"
PIXEL_RE = re.compile(r'<img src="([^"]*/o/[^"/]+\.gif)"')
BIN = Path(sys.executable).parent


@pytest.fixture
def production(transactional_db, tmp_path):
    """Web, worker and beat as real processes; yields the web server's port."""
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("runs against PostgreSQL and Redis: the PostgreSQL + Redis run")
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE"}}
    env.update(
        DJANGO_SETTINGS_MODULE="onepage.settings",
        DEBUG="false",
        SECRET_KEY="production-test-" + uuid.uuid4().hex + uuid.uuid4().hex,
        SITE_URL=SITE,
        ALLOWED_HOSTS="127.0.0.1",
        TRUST_X_FORWARDED_PROTO="true",
        MAILBOX_ALLOWED_HOSTS="127.0.0.1",  # the test's SMTP server
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        REDIS_URL=settings.REDIS_URL,
        OPEN_STREAM=settings.OPEN_STREAM,  # this test's own stream
        OPEN_SPOOL_DIR=str(tmp_path / "spool"),
        STATIC_ROOT=str(tmp_path / "static"),
        DEV_OUTBOX_DIR=str(tmp_path / "outbox"),
        LOG_LEVEL="WARNING",
    )
    root = settings.BASE_DIR
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=root, env=env, check=True)
    port = free_port()
    commands = {
        "web": [BIN / "granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
                "--workers", "1", "--log-level", "warning", "onepage.wsgi:application"],
        "worker": [BIN / "celery", "-A", "onepage", "worker", "--concurrency", "1", "--loglevel", "WARNING",
                   "--hostname", f"production-test-{port}@%h"],
        "beat": [BIN / "celery", "-A", "onepage", "beat", "--loglevel", "WARNING",
                 "--schedule", str(tmp_path / "celerybeat-schedule")],
        "recorder": [sys.executable, "manage.py", "record_opens"],
    }  # fmt: skip
    processes = {
        name: subprocess.Popen(command, cwd=root, env=env, start_new_session=True, stdout=subprocess.DEVNULL)
        for name, command in commands.items()
    }
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz", processes)
        yield port
    finally:
        for process in processes.values():
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


MAIL_CLIENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0"


def _wait_for(url: str, processes: dict[str, subprocess.Popen]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for name, process in processes.items():
            assert process.poll() is None, f"{name} exited with {process.returncode}"
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"{url} did not answer within 30 s")


def _reload_until(page, text: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not page.get_by_text(text).count():
        assert time.monotonic() < deadline, f"{text!r} did not appear within {seconds:g} s"
        time.sleep(0.5)
        page.reload()


def test_sign_in_send_and_see_the_open_on_the_production_stack(production, chromium, smtp_server, tmp_path):
    org = MembershipFactory(user__username="rex", user__first_name="Rex", role="rep").organization
    rep = org.memberships.get().user
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    SMTPMailboxFactory(user=rep, server=smtp_server, from_name="Rex Rep", from_address="rex@acme.example")
    lena = ContactFactory(organization=org, first_name="Lena", email="lena@northwind.example", country="US")

    proxy = TLSProxy(production, tmp_path).__enter__()
    context = chromium.new_context(
        base_url=f"https://127.0.0.1:{proxy.port}", ignore_https_errors=True, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        page.fill("#id_username", "rex")
        page.fill("#id_password", TEST_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/contacts/")
        # Styled: WhiteNoise served the hashed stylesheet.
        topbar = page.locator("header.topbar")
        assert topbar.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(20, 33, 61)"
        assert re.search(r"/static/css/onepage\.[0-9a-f]{12}\.css", page.content())

        page.goto(f"/contacts/{lena.pk}/")
        page.click("text=Send email")
        page.fill("input[name=subject]", "Spring order")
        page.fill("textarea[name=body]", "Hi Lena,\n\nthe prices we discussed.")
        page.click("button:has-text('Send')")
        page.wait_for_url("**/email/*/")
        _reload_until(page, "Not opened yet")  # the worker sent it
        (received,) = smtp_server.received
        assert received.rcpt_tos == ["lena@northwind.example"]
        (pixel,) = PIXEL_RE.findall(received.part("text/html"))
        assert pixel.startswith(f"{SITE}/o/")

        # The recipient's mail client (through the proxy, none of the rep's
        # cookies) loads the pixel, a person's few seconds after delivery:
        # not a prefetch on arrival (the early verdict).
        time.sleep(2.5)
        recipient = chromium.new_context(
            base_url=f"https://127.0.0.1:{proxy.port}", ignore_https_errors=True, user_agent=MAIL_CLIENT
        )
        try:
            response = recipient.request.get(urlparse(pixel).path)
            assert response.status == 200 and response.headers["content-type"] == "image/gif"
        finally:
            recipient.close()
        _reload_until(page, "Opened once")  # the recorder recorded it, a person's open
        screenshot(page, "production_open")
    finally:
        context.close()
        proxy.__exit__()
