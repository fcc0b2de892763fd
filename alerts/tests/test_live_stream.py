"""The bell's live channel, streaming: GET /alerts/stream/ under a real ASGI
server (granian, as onepage-live runs it). Signed out: refused, no stream.
Signed in: the count at once, then an open recorded meanwhile within 5 s;
an idle stream holds no database connection and no thread. Served by WSGI
(the test client, runserver, the web process) or without Redis: 204, and
the page keeps polling."""

import http.client
import json
import signal
import ssl
import subprocess
import time

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from alerts.stream_views import HEARTBEAT
from alerts.tests import test_bell
from alerts.tests.asgi_server import APPLICATION_NAME, asgi_server, needs_postgresql_and_redis
from conftest import free_port
from onepage.tests import test_deploy

STREAM = "/alerts/stream/"
bea = test_bell.bea  # Rex's email's recipient


@pytest.fixture
def server(transactional_db):
    needs_postgresql_and_redis()
    with asgi_server() as server:
        yield server


def write(recipient, at) -> None:
    """An open recorded as the recorder does: notify runs after its commit."""
    from tracking.hits import Open
    from tracking.writer import write_opens

    write_opens(opens=[Open(recipient_id=recipient.pk, opened_at=at, key=f"live-{time.monotonic_ns()}")])


def session_of(user) -> str:
    session = SessionStore()
    session[SESSION_KEY], session[BACKEND_SESSION_KEY] = str(user.pk), "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


class Stream:
    """An open GET /alerts/stream/, read event by event."""

    def __init__(self, server, session: str | None) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
        headers = {"Accept": "text/event-stream"}
        if session:
            headers["Cookie"] = f"sessionid={session}"
        self.conn.request("GET", STREAM, headers=headers)
        self.response = self.conn.getresponse()

    def next_event(self) -> dict:
        """The next event's data (heartbeat comments skipped)."""
        data = []
        while True:
            line = self.response.readline().decode().rstrip("\n")
            if line.startswith("data: "):
                data.append(line.removeprefix("data: "))
            elif line == "" and data:
                return json.loads("\n".join(data))

    def close(self) -> None:
        self.conn.close()


def server_connections() -> int:
    """The ASGI server's connections to the test database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s",
            [APPLICATION_NAME],
        )
        return cursor.fetchone()[0]


def test_signed_out_is_refused_without_a_stream(server):
    stream = Stream(server, session=None)
    try:
        assert stream.response.status == 403
        assert stream.response.getheader("Content-Type").startswith("text/plain")
        assert b"Sign in" in stream.response.read()
    finally:
        stream.close()


def test_a_stream_sends_the_count_then_a_new_open_within_5_seconds(server, bea, rep_user):
    stream = Stream(server, session_of(rep_user))
    try:
        assert stream.response.status == 200
        assert stream.response.getheader("Content-Type") == "text/event-stream"
        assert stream.response.getheader("X-Accel-Buffering") == "no"
        assert "no-cache" in stream.response.getheader("Cache-Control")
        assert stream.next_event() == {"unread": 0}
        recorded = time.monotonic()
        write(bea, timezone.now())
        assert stream.next_event() == {"unread": 1}
        assert time.monotonic() - recorded < 5
    finally:
        stream.close()


def test_idle_streams_hold_no_database_connection_and_no_thread(server, bea, rep_user):
    session = session_of(rep_user)
    warm = Stream(server, session)  # the worker's first request: its imports, its pools
    warm.next_event()
    time.sleep(1)
    threads_with_one = server.threads()
    streams = [Stream(server, session) for _ in range(8)]
    try:
        for stream in streams:
            assert stream.next_event() == {"unread": 0}
        time.sleep(1)
        assert server_connections() == 0
        assert server.threads() <= threads_with_one + 1  # not one per stream
        # Still live.
        write(bea, timezone.now())
        assert [s.next_event() for s in streams] == [{"unread": 1}] * 8
    finally:
        for stream in [warm, *streams]:
            stream.close()


def test_wsgi_answers_204_and_the_page_keeps_polling(rep_client):
    # The test client is WSGI, as runserver and the web process are.
    response = rep_client.get(reverse("alerts:stream"))
    assert response.status_code == 204
    assert response.content == b""


def test_post_is_not_allowed(rep_client):
    assert rep_client.post(reverse("alerts:stream")).status_code == 405


@pytest.mark.skipif(test_deploy.NGINX is None, reason="nginx is not installed (apt-get install nginx-light)")
def test_through_the_nginx_example_each_event_arrives_at_once(server, bea, rep_user, tmp_path):
    """deploy/nginx.conf.example in front (its /alerts/stream/ location to
    the ASGI server): the count, then an open within 5 s, not held in a
    buffer."""
    https_port = free_port()
    # The WSGI upstream is not asked here; the live one is this ASGI server.
    config = test_deploy._nginx_config(tmp_path, http_port=free_port(), https_port=https_port, upstream="127.0.0.1:9")
    site = tmp_path / "onepage.conf"
    site.write_text(site.read_text().replace("127.0.0.1:8001", f"127.0.0.1:{server.port}"))
    nginx = subprocess.Popen(
        [test_deploy.NGINX, "-p", str(tmp_path), "-c", str(config)], stderr=subprocess.PIPE, text=True
    )
    try:
        test_deploy._wait_for_port(https_port, nginx)
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # the test's own certificate
        conn = http.client.HTTPSConnection("127.0.0.1", https_port, timeout=20, context=context)
        conn.request("GET", STREAM, headers={"Cookie": f"sessionid={session_of(rep_user)}"})
        stream = Stream.__new__(Stream)
        stream.conn, stream.response = conn, conn.getresponse()
        assert stream.response.status == 200
        assert stream.next_event() == {"unread": 0}
        recorded = time.monotonic()
        write(bea, timezone.now())
        assert stream.next_event() == {"unread": 1}
        assert time.monotonic() - recorded < 5
        stream.close()
    finally:
        nginx.send_signal(signal.SIGQUIT)
        try:
            nginx.wait(timeout=15)
        except subprocess.TimeoutExpired:
            nginx.kill()
            nginx.wait()


def test_a_quiet_stream_gets_a_comment_every_15_seconds(server, rep_user):
    """What keeps proxies from closing it (nginx's read timeout is above)."""
    stream = Stream(server, session_of(rep_user))
    try:
        stream.next_event()
        began = time.monotonic()
        assert stream.response.readline() == b": still here\n"
        assert HEARTBEAT - 1 < time.monotonic() - began < HEARTBEAT + 2
    finally:
        stream.close()


def test_a_redis_that_does_not_answer_gets_204_and_the_page_polls(transactional_db, rep_user):
    needs_postgresql_and_redis()
    with asgi_server(redis="redis://127.0.0.1:1/0") as server:  # nothing listens on port 1
        stream = Stream(server, session_of(rep_user))
        try:
            assert stream.response.status == 204
        finally:
            stream.close()
