"""Fixtures for the recording pipeline's tests. Every test has a Redis stream
of its own: see `_own_open_stream` in the root conftest.py."""

from collections.abc import Callable

import pytest

from tracking import recorder
from tracking import stream as open_stream
from tracking.models import OpenEvent


@pytest.fixture(params=["view", "lane", "asgi lane"])
def mail_client(request):
    """A recipient's mail client (nobody signed in, a mail client's user
    agent), through Django's handler (the test Client: the pixel view),
    through the web process's WSGI application, whose lane answers the pixel
    before Django (tracking.pixel.lane), and through the live process's ASGI
    application, whose lane nginx sends the pixel to (tracking.pixel.asgi_lane):
    the same tests, three ways."""
    from django.test import Client

    from conftest import MAIL_CLIENT_AGENT

    from .wsgi_client import AsgiClient, WsgiClient

    if request.param == "view":
        return Client(HTTP_USER_AGENT=MAIL_CLIENT_AGENT)
    if request.param == "asgi lane":
        return AsgiClient(HTTP_USER_AGENT=MAIL_CLIENT_AGENT)
    return WsgiClient(HTTP_USER_AGENT=MAIL_CLIENT_AGENT)


@pytest.fixture
def redis_stream(settings, _own_open_stream):
    """The Redis client and this test's stream name. Skipped in the SQLite
    run, which has no REDIS_URL; runs in the PostgreSQL + Redis run."""
    if not settings.REDIS_URL:
        pytest.skip("needs Redis: runs in the PostgreSQL + Redis run (REDIS_URL)")
    return open_stream.client(settings.REDIS_URL), _own_open_stream


@pytest.fixture(params=["direct", "stream"])
def settle_opens(request, settings) -> Callable[[], int]:
    """Runs the test once per way an open is recorded: written directly (the
    embedded default, or Redis down) and through the Redis stream. Returns a
    function that brings recorded opens into the database (the drain, or
    nothing to do when written directly) and says how many OpenEvents
    arrived since the previous call: the same answer either way."""
    if request.param == "direct":
        settings.REDIS_URL = ""
    else:
        request.getfixturevalue("redis_stream")
    seen = {"events": OpenEvent.objects.count()}

    def settle() -> int:
        if request.param == "stream":
            recorder.drain_opens()
        now = OpenEvent.objects.count()
        arrived, seen["events"] = now - seen["events"], now
        return arrived

    return settle
