"""Fixtures shared by every app's tests."""

import os
import re
import shutil
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import testcases as django_testcases
from django.test.testcases import LiveServerThread

# Playwright's sync API runs an event loop in the test thread; the ORM calls
# the tests make around it are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(autouse=True)
def _dev_outbox(settings, tmp_path):
    # Each test gets its own development mailbox folder.
    settings.DEV_OUTBOX_DIR = tmp_path / "outbox"


@pytest.fixture(autouse=True)
def _loopback_mailboxes(settings):
    """The SMTP servers of the tests listen on 127.0.0.1 on random ports:
    allowed here, as in development. The guard's own tests empty the list."""
    settings.MAILBOX_ALLOWED_HOSTS = ["127.0.0.0/8", "::1", "localhost"]


@pytest.fixture(autouse=True)
def _no_sync_on_page_loads(settings):
    """The embedded default syncs mailboxes due on page loads, on a thread of
    its own (emails.sync.in_process): off in the tests, but theirs."""
    settings.MAILBOX_SYNC_ON_PAGE_LOADS = False


@pytest.fixture(autouse=True)
def _empty_cache():
    """Rate-limit counters (kept in the cache) start from zero in each test."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _own_open_spool(settings, tmp_path):
    # Each test gets its own spool of opens (tracking.spool).
    settings.OPEN_SPOOL_DIR = tmp_path / "spool"


@pytest.fixture(autouse=True)
def _notify_in_process(settings):
    """No Celery worker runs beside the tests: the recorder's batches are
    told of in its own process, as when tasks run in process (the worker's
    hand-off: alerts/tests/test_hand_off.py)."""
    settings.NOTIFY_IN_WORKER = False


@pytest.fixture(autouse=True)
def _own_open_stream(settings):
    """Every test records opens into a Redis stream of its own (deleted
    afterwards), so no test drains another's opens or an earlier run's."""
    from tracking import intake, stream

    # record_open leaves a failing Redis alone for a few seconds; each test
    # starts from a clean slate.
    intake.forget_outages()
    settings.OPEN_STREAM = f"test:opens:{uuid.uuid4().hex}"
    redis_url = settings.REDIS_URL  # a test may point it elsewhere
    yield settings.OPEN_STREAM
    if redis_url:
        stream.client(redis_url).delete(settings.OPEN_STREAM)


@pytest.fixture
def org(db):
    from onepage.tests.factories import OrganizationFactory

    return OrganizationFactory(name="Acme Widgets")


@pytest.fixture
def other_org(db):
    from onepage.tests.factories import OrganizationFactory

    return OrganizationFactory(name="Rival Corp")


@pytest.fixture
def admin_user(org):
    from onepage.tests.factories import MembershipFactory

    return MembershipFactory(organization=org, role="admin", user__username="ada").user


@pytest.fixture
def rep_user(org):
    from onepage.tests.factories import MembershipFactory

    return MembershipFactory(organization=org, role="rep", user__username="rex").user


@pytest.fixture
def sender(org, rep_user, smtp_server):
    """Rex, ready to send tracked email: a Business organization with Allow
    open tracking on, and his mailbox pointing at the real SMTP server."""
    from emails.tests.factories import EmailConfigurationFactory, SMTPMailboxFactory

    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    SMTPMailboxFactory(user=rep_user, server=smtp_server, from_name="Rex Rep", from_address="rex@acme.example")
    return rep_user


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def rep_client(client, rep_user):
    client.force_login(rep_user)
    return client


# --- A real SMTP server (aiosmtpd) -----------------------------------------


class Received:
    """What the SMTP server was handed: envelope and parsed message."""

    def __init__(self, mail_from: str, rcpt_tos: list[str], content: bytes, helo: str = "") -> None:
        self.mail_from = mail_from
        self.rcpt_tos = rcpt_tos
        self.content = content
        self.helo = helo  # the name the client gave in EHLO
        self.message: Message = message_from_bytes(content)

    def part(self, content_type: str) -> str:
        for part in self.message.walk():
            if part.get_content_type() == content_type:
                return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
        raise LookupError(content_type)


class SMTPRecorder:
    """aiosmtpd handler that keeps what it receives. Set `reply` to an SMTP
    reply such as "451 Try again later" to make the next messages fail."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.reply: str | None = None

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.reply:
            return self.reply
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content, helo=session.host_name)
        )
        return "250 Message accepted for delivery"


class _OneRequestAtATime(LiveServerThread):
    """The live server on the in-memory SQLite database: its threads share the
    test's one connection, and two requests at once (a page, the bell's poll
    and its stream, a panel) can deadlock inside sqlite (a Python function
    sqlite calls back waits for the interpreter lock, held by a thread that
    waits for sqlite's lock: seen once, a run hung for hours). So one
    request at a time, its body read whole before the next. PostgreSQL's
    live server keeps its concurrent threads."""

    def _create_server(self, connections_override=None):
        server = super()._create_server(connections_override=connections_override)
        if connections_override:
            lock, set_app = threading.Lock(), server.set_app

            def serialized(app):
                def call(environ, start_response):
                    with lock:
                        result = app(environ, start_response)
                        try:
                            return list(result)
                        finally:
                            if hasattr(result, "close"):
                                result.close()

                set_app(call)

            server.set_app = serialized
        return server


# pytest-django's live_server builds django.test.testcases.LiveServerThread.
django_testcases.LiveServerThread = _OneRequestAtATime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator:
    """A real SMTP server on 127.0.0.1. Accepts any login."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    recorder = SMTPRecorder()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=free_port(),
        auth_require_tls=False,
        authenticator=lambda server, session, envelope, mechanism, auth_data: AuthResult(success=True),
    )
    controller.start()
    recorder.host, recorder.port = controller.hostname, controller.port
    try:
        yield recorder
    finally:
        controller.stop()


# --- A recipient's mail client ----------------------------------------------

# What the pixel sees of a person's mail client (Thunderbird on Linux).
MAIL_CLIENT_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0"
# A person reads a message some minutes after it arrived: well past the
# verdicts' "on delivery" window (tracking.classify.EARLY_SECONDS).
READ_AFTER = timedelta(minutes=3)


@pytest.fixture
def mail_client():
    """A recipient's mail client: nobody signed in, a mail client's user agent."""
    from django.test import Client

    return Client(HTTP_USER_AGENT=MAIL_CLIENT_AGENT)


def read_in_mail_client(url: str, *, after: timedelta = READ_AFTER):
    """A person reads the copy: their mail client (no session, no cookie, a
    mail client's user agent) loads the pixel at `url` (or its path), the
    clock moved `after` from now. Reads meant to count apart need `after`s
    more than tracking.classify.REPEAT_SECONDS apart."""
    import time_machine
    from django.test import Client
    from django.utils import timezone

    with time_machine.travel(timezone.now() + after, tick=True):
        return Client(HTTP_USER_AGENT=MAIL_CLIENT_AGENT).get(urlsplit(url).path)


# The pixel in a delivered copy's HTML.
PIXEL_IN_COPY = re.compile(r'<img src="(https?://[^"]+/o/[^"]+\.gif)"')


def read_copy(html: str, *, after: timedelta = READ_AFTER) -> None:
    """A person reads a delivered copy: read_in_mail_client on its one pixel."""
    (url,) = PIXEL_IN_COPY.findall(html)
    response = read_in_mail_client(url, after=after)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"


def send_from_composer(client, capture_on_commit, **fields):
    """The rep sends from the composer (Track on, body "Hello", unless
    `fields` say otherwise), then the send task runs; the Email, reloaded."""
    from django.urls import reverse

    from emails.models import Email
    from emails.tasks import send_email

    with capture_on_commit(execute=False):
        client.post(reverse("emails:compose"), {"body": "Hello", "track": "on", **fields})
    email = Email.objects.get(subject=fields["subject"])
    send_email.apply(args=[email.pk])
    email.refresh_from_db()
    return email


# --- Headless Chromium (Playwright) -----------------------------------------


def _chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the session. Skipped only outside CI."""
    try:
        from playwright.sync_api import sync_playwright

        pw = sync_playwright().start()
        browser = pw.chromium.launch(
            executable_path=_chromium_path(),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
    except Exception as exc:
        if IN_CI:
            pytest.fail(f"Chromium is required in CI but could not start: {exc}")
        pytest.skip(f"Chromium not available: {exc}")
    yield browser
    browser.close()
    pw.stop()


def csp_violations(messages: list[str]) -> list[str]:
    return [m for m in messages if "Content Security Policy" in m]


@pytest.fixture
def page(chromium, live_server, transactional_db):
    """A Chromium tab. Its console is kept (`page.console_messages`), and a
    test whose pages broke the Content-Security-Policy fails at teardown."""
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.console_messages = []
    page.on("console", lambda message: page.console_messages.append(message.text))
    yield page
    context.close()
    assert not csp_violations(page.console_messages), "Content-Security-Policy violations in Chromium's console"


def sign_in(page, username: str, password: str = "secret-pass-123") -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
