"""Requests through the web process's WSGI application (onepage.wsgi), the
way granian calls it: the pixel's lane answers /o/ before Django's handler,
which Django's test Client (straight into the handler) never shows.

The environ is the test Client's own (RequestFactory: the same defaults,
headers and cookies), so a lane request and a view request of the same
input differ only in who answered. Like the test Client, it keeps the
request signals from closing the test's connection when Django answers."""

from http.cookies import SimpleCookie

from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory
from django.utils.datastructures import CaseInsensitiveMapping

# Imported once, at collection: it sets Django up again (get_wsgi_application),
# and so its logging, which would take pytest's log capture off a test.
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
