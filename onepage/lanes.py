"""Lanes: requests answered in front of Django's WSGI handler, in the same
web process (onepage.wsgi wraps the handler with `in_front_of`).

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
"""

import logging
from collections.abc import Callable, Iterable

# Where Django logs a request that failed, with the same message.
logger = logging.getLogger("django.request")

Answer = tuple[str, list[tuple[str, str]], bytes]
Lane = Callable[[dict], Answer | None]

_lanes: list[tuple[str, Lane]] = []


def register(prefix: str, answer: Lane) -> None:
    """Answer requests whose PATH_INFO starts with `prefix` (once per prefix)."""
    _lanes[:] = [(p, a) for p, a in _lanes if p != prefix]
    _lanes.append((prefix, answer))


def in_front_of(application: Callable) -> Callable:
    """The WSGI application: the lanes first, then Django's `application`."""

    def lanes_then_django(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        for prefix, answer in _lanes:
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
