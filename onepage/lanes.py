"""Lanes: requests answered in front of Django's WSGI handler, in the same
web process (onepage.wsgi wraps the handler with `in_front_of`), and in
front of its ASGI handler in the live process (onepage.asgi,
`asgi_in_front_of`), for the lanes that answer in an event loop too.

Django's request cycle (the request_started/finished signals, the middleware
chain, HttpResponse, the response iterator) costs a tracking pixel more than
the pixel itself does (issue 23). A higher app plugs a lane in from its
AppConfig.ready() (onepage imports no app): `register(prefix, answer)`.
`answer(environ)` gets the raw WSGI environ of a request whose path starts
with `prefix` and returns (status, headers, body), or None to leave the
request to Django (another method, a path the lane does not serve). A lane
calls the same functions its Django view calls, so both answer alike; it
does what Django's cycle would have done that matters to it (its database
connections, for one), since neither the signals nor the middleware run.
`register(prefix, answer, asgi=answer_async)` adds the lane to the ASGI
side: `await answer_async(request)` gets an AsgiRequest (its method, path
and a META of the same keys as the environ) and returns the same.
"""

import functools
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

# Where Django logs a request that failed, with the same message.
logger = logging.getLogger("django.request")

Answer = tuple[str, list[tuple[str, str]], bytes]
Lane = Callable[[dict], Answer | None]


@dataclass(frozen=True)
class AsgiRequest:
    """What an ASGI lane reads of a request: its method, its path (without
    the root path) and `meta`, the WSGI environ's keys (REMOTE_ADDR,
    HTTP_* headers, latin-1 strings as a WSGI server gives them), so that
    the functions both lanes call read one mapping."""

    method: str
    path: str
    meta: dict


AsgiLane = Callable[[AsgiRequest], Awaitable[Answer | None]]

_lanes: list[tuple[str, Lane, AsgiLane | None]] = []


def register(prefix: str, answer: Lane, *, asgi: AsgiLane | None = None) -> None:
    """Answer requests whose PATH_INFO starts with `prefix` (once per
    prefix); with `asgi`, in the ASGI application too."""
    _lanes[:] = [lane for lane in _lanes if lane[0] != prefix]
    _lanes.append((prefix, answer, asgi))


def in_front_of(application: Callable) -> Callable:
    """The WSGI application: the lanes first, then Django's `application`."""

    def lanes_then_django(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        for prefix, answer, _ in _lanes:
            if path.startswith(prefix):
                try:
                    answered = answer(environ)
                except Exception:
                    # As Django's handler would: logged (LOG_FORMAT, the
                    # app's handlers, not the server's stderr), then a 500.
                    logger.exception("Internal Server Error: %s", path)
                    answered = ("500 Internal Server Error", [("Content-Type", "text/plain; charset=utf-8")], b"")
                if answered is not None:
                    status, headers, body = answered
                    start_response(status, headers)
                    # A one-item list: the server writes it at once (granian's
                    # bytes path), with no iterator to drive.
                    return [body]
        return application(environ, start_response)

    return lanes_then_django


def asgi_in_front_of(application: Callable) -> Callable:
    """The ASGI application: the lanes that answer in an event loop first,
    then Django's `application` (and anything that is not HTTP). A lane
    that runs sync code (a database write) gives it a thread of its own
    (tracking.intake.record_hit_async), as Django's handler gives a view."""

    async def lanes_then_django(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http":
            path = scope["path"].removeprefix(scope.get("root_path", ""))
            for prefix, _, answer in _lanes:
                if answer is None or not path.startswith(prefix):
                    continue
                try:
                    request = AsgiRequest(scope["method"], path, meta_of(scope))
                    answered = await answer(request)
                except Exception:
                    logger.exception("Internal Server Error: %s", path)
                    answered = ("500 Internal Server Error", [("Content-Type", "text/plain; charset=utf-8")], b"")
                if answered is not None:
                    status, headers, body = answered
                    await send(
                        {"type": "http.response.start", "status": int(status[:3]), "headers": _encoded(tuple(headers))}
                    )
                    await send({"type": "http.response.body", "body": body})
                    return
        elif scope["type"] == "lifespan":
            # Django's handler refuses lifespan events, which granian logs as
            # an error at every worker's start: nothing to start or stop here.
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await application(scope, receive, send)

    return lanes_then_django


def meta_of(scope: dict) -> dict:
    """A WSGI environ's keys for an ASGI HTTP scope, as Django's ASGIRequest
    makes its META: HTTP_ + the header's name, repeated headers joined."""
    client = scope.get("client")
    meta = {
        "REQUEST_METHOD": scope["method"],
        "PATH_INFO": scope["path"],
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "REMOTE_ADDR": client[0] if client else "",
        "wsgi.url_scheme": scope.get("scheme", "http"),
    }
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        if name not in ("CONTENT_LENGTH", "CONTENT_TYPE"):
            name = "HTTP_" + name
        value = raw_value.decode("latin-1")
        if name in meta:
            value = meta[name] + ("; " if name == "HTTP_COOKIE" else ",") + value
        meta[name] = value
    return meta


@functools.lru_cache(maxsize=64)
def _encoded(headers: tuple[tuple[str, str], ...]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
