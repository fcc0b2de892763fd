"""Requests through the web process's WSGI application (onepage.wsgi), the
way granian calls it: the pixel's lane answers /o/ before Django's handler,
which Django's test Client (straight into the handler) never shows.

The environ is the test Client's own (RequestFactory: the same defaults,
headers and cookies), so a lane request and a view request of the same
input differ only in who answered. Like the test Client, it keeps the
request signals from closing the test's connection when Django answers."""

import asyncio
import threading
from http.cookies import SimpleCookie

from asgiref.sync import AsyncToSync, async_to_sync

# Imported once, at collection: it sets Django up again (get_wsgi_application),
# and so its logging, which would take pytest's log capture off a test.
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory
from django.utils.datastructures import CaseInsensitiveMapping

from onepage.asgi import application as asgi_application
from onepage.wsgi import application


class WsgiResponse:
    def __init__(self, status: str, headers: list[tuple[str, str]], content: bytes) -> None:
        self.status_code = int(status.split()[0])
        self.header_list = headers
        self.headers = CaseInsensitiveMapping(headers)
        self.content = content
        self.cookies = SimpleCookie()
        for name, value in headers:
            if name.lower() == "set-cookie":
                self.cookies.load(value)

    def __getitem__(self, name: str) -> str:
        return self.headers[name]

    def __contains__(self, name: str) -> bool:
        return name in self.headers


class WsgiClient:
    """get/head/post(path, **extra) as the test Client's, answered by
    onepage.wsgi.application."""

    def __init__(self, **defaults) -> None:
        self.factory = RequestFactory(**defaults)

    @property
    def cookies(self) -> SimpleCookie:
        return self.factory.cookies

    def request(self, method: str, path: str, **extra) -> WsgiResponse:
        environ = self.factory.generic(method, path, **extra).environ
        started: list = []

        def start_response(status, headers, exc_info=None):
            started[:] = [status, headers]

        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            body = application(environ, start_response)
            try:
                content = b"".join(body)
            finally:
                if hasattr(body, "close"):
                    body.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        return WsgiResponse(*started, content)

    def get(self, path: str, **extra) -> WsgiResponse:
        return self.request("GET", path, **extra)

    def head(self, path: str, **extra) -> WsgiResponse:
        return self.request("HEAD", path, **extra)

    def post(self, path: str, **extra) -> WsgiResponse:
        return self.request("POST", path, **extra)


class AsgiClient(WsgiClient):
    """The same requests answered by the live process's ASGI application
    (onepage.asgi), the way granian calls it: the pixel's
    ASGI lane answers /o/ before Django's ASGI handler. The scope is made
    from the test Client's environ (its headers, cookies, client address).

    Like a granian worker, one event loop answers every request (its own
    thread, for the whole run), so the lane's Redis connection is kept
    from one request to the next. Each request is handed to it from within
    async_to_sync, whose context it carries: what the lane or Django runs
    in a thread (a direct write, a view) runs in the test's thread, on the
    test's database connection."""

    def request(self, method: str, path: str, **extra) -> WsgiResponse:
        environ = self.factory.generic(method, path, **extra).environ
        scope = asgi_scope(environ)
        started: list = []
        body: list[bytes] = []

        received: list = []

        async def receive():
            # The request (no body), then nothing until the response is
            # sent: Django's handler listens for a disconnect meanwhile.
            if not received:
                received.append(True)
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.Event().wait()

        async def send(message):
            if message["type"] == "http.response.start":
                started[:] = [
                    str(message["status"]),
                    [(name.decode("latin-1"), value.decode("latin-1")) for name, value in message["headers"]],
                ]
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))

        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            run_on_the_lane_loop(asgi_application(scope, receive, send))
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        return WsgiResponse(*started, b"".join(body))


_lane_loop: list[asyncio.AbstractEventLoop] = []


def lane_loop() -> asyncio.AbstractEventLoop:
    """The event loop AsgiClient's requests run on (started once)."""
    if not _lane_loop:
        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, name="asgi-lane-loop", daemon=True).start()
        _lane_loop.append(loop)
    return _lane_loop[0]


def run_on_the_lane_loop(coroutine):
    """Run `coroutine` on lane_loop() from this (sync) thread, which runs
    what it hands to sync_to_async meanwhile: its result."""
    # Playwright's sync API (the browser tests' session-wide browser) leaves
    # its event loop set as this thread's running loop between its calls,
    # which async_to_sync refuses; that loop is not running now.
    playwrights = asyncio.events._get_running_loop()
    asyncio.events._set_running_loop(None)
    try:
        return async_to_sync(on_the_lane_loop)(coroutine)
    finally:
        asyncio.events._set_running_loop(playwrights)


async def on_the_lane_loop(coroutine):
    """Await `coroutine` run on lane_loop(), with this async_to_sync's
    thread as the one its sync_to_async calls run in."""
    # asgiref tags it with the thread that set it: carried by hand.
    test_thread = AsyncToSync.executors.current

    async def in_the_tests_thread():
        AsyncToSync.executors.current = test_thread
        return await coroutine

    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(in_the_tests_thread(), lane_loop()))


def asgi_scope(environ: dict) -> dict:
    """An ASGI HTTP scope for a WSGI environ: what granian gives the app."""
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:].replace("_", "-").lower()
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = key.replace("_", "-").lower()
        else:
            continue
        headers.append((name.encode("latin-1"), str(value).encode("latin-1")))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": environ["REQUEST_METHOD"],
        "scheme": environ.get("wsgi.url_scheme", "http"),
        "path": environ["PATH_INFO"],
        "raw_path": environ["PATH_INFO"].encode(),
        "root_path": "",
        "query_string": environ.get("QUERY_STRING", "").encode("latin-1"),
        "headers": headers,
        "client": (environ.get("REMOTE_ADDR", "127.0.0.1"), 50000),
        "server": (environ.get("SERVER_NAME", "testserver"), int(environ.get("SERVER_PORT", 80))),
    }
