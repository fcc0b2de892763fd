"""The tracking pixel's rules, once: which paths are pixels, the token check,
the signals, the recording (tracking.intake: the limit and the stream append
in one round trip, the direct write, the spool) and the response. Two
callers answer with `answer_pixel`: Django's view (tracking.views.pixel,
kept for reverse(), the test Client and any server without the lane) and
the lane (`lane`, registered in onepage.lanes from TrackingConfig.ready),
which answers /o/<token>.gif in front of Django's WSGI handler in the web
process, without the request_started/finished signals, the middleware chain
or HttpResponse (issue 23: 40% of a pixel's Python time)."""

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core.handlers.wsgi import get_path_info
from django.db import connections
from django.utils import timezone

from emails.pixels import read_token
from onepage import lanes
from onepage.clientaddress import client_address_of
from onepage.membercookie import member_organization_of

from .classify import Signals, prefetch_header
from .hits import Open, balancer_hit_key, new_hit_key
from .intake import NO_DATABASE, record_hit, record_hit_async

# A 1x1 transparent GIF89a.
PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
# The same paths as tracking.urls' "o/<str:token>.gif" (str: no slash).
PIXEL_PATH = re.compile(r"/o/([^/]+)\.gif")
# GET records an open; HEAD is a probe (link checkers, proxies): no image
# was shown. Other methods are Django's to refuse (require_safe, 405).
METHODS = ("GET", "HEAD")
HEADERS = (
    ("Content-Type", "image/gif"),
    # Every open must reach us, not a cache between us and the client.
    ("Cache-Control", "no-store, no-cache, must-revalidate, private"),
    ("Content-Length", str(len(PIXEL_GIF))),
    # Set here: neither the lane nor tracking.middleware goes through
    # CommonMiddleware and SecurityMiddleware, which would add them.
    ("X-Content-Type-Options", "nosniff"),
)


@dataclass(frozen=True)
class PixelAnswer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    # record_hit's outcome ("stream", "limited", "direct", "spool",
    # "lost"), or None when nothing was to be recorded.
    outcome: str | None = None


def answer_pixel(*, method: str, token: str, meta: Mapping[str, str]) -> PixelAnswer:
    """The answer to a GET or HEAD of the pixel with `token`; `meta` is the
    request's META or the raw WSGI environ (the same keys). Every token gets
    the same GIF, so a forged one learns nothing; only a valid signature of
    a GET reaches the recording pipeline, with the few signals
    tracking.classify needs (client address behind TRUSTED_PROXIES, user
    agent, prefetch headers, the member cookie's organization): they travel
    with the open to the writer, which keeps only its verdict. Past the
    per-recipient limit the GIF is served and nothing recorded."""
    hit = _hit_of(method=method, token=token, meta=meta)
    return _answer(method, None if hit is None else record_hit(hit, limited=True))


async def answer_pixel_async(*, method: str, token: str, meta: Mapping[str, str]) -> PixelAnswer:
    """answer_pixel in an event loop (the ASGI lane): the same hit, its
    append awaited (tracking.intake.record_hit_async)."""
    hit = _hit_of(method=method, token=token, meta=meta)
    if hit is None:
        return _answer(method, None)
    return _answer(method, await record_hit_async(hit, limited=True, after_database=release_connections))


def _hit_of(*, method: str, token: str, meta: Mapping[str, str]) -> Open | None:
    """The open a request records: a GET with a valid token, or None."""
    recipient_id = read_token(token)
    if recipient_id is None or method != "GET":
        return None
    signals = (
        None
        if not settings.OPEN_VERDICTS
        else Signals(
            address=client_address_of(meta),
            user_agent=meta.get("HTTP_USER_AGENT", "")[:512],
            prefetch=prefetch_header(meta),
            member_organization=member_organization_of(meta),
        )
    )
    # One key per hit, made here (or by the balancer, the same on its
    # retry on another node): whichever paths write it, and however
    # often, it counts once. The limit and the append: one round trip.
    key = balancer_hit_key(meta) or new_hit_key()
    return Open(recipient_id=recipient_id, opened_at=timezone.now(), key=key, signals=signals)


def _answer(method: str, outcome: str | None) -> PixelAnswer:
    # A HEAD's answer has the GET's headers and no body.
    return PixelAnswer(200, HEADERS, PIXEL_GIF if method == "GET" else b"", outcome)


def lane(environ: dict) -> tuple[str, list[tuple[str, str]], bytes] | None:
    """The pixel answered from the raw WSGI environ (onepage.lanes), or None
    for Django to answer (another path under /o/, another method)."""
    method = environ.get("REQUEST_METHOD", "GET")
    if method not in METHODS:
        return None
    match = PIXEL_PATH.fullmatch(get_path_info(environ))
    if match is None:
        return None
    answer = answer_pixel(method=method, token=match[1], meta=environ)
    if answer.outcome is not None and answer.outcome not in NO_DATABASE:
        release_connections()
    return f"{answer.status} OK", list(answer.headers), answer.body


async def asgi_lane(request: lanes.AsgiRequest) -> tuple[str, list[tuple[str, str]], bytes] | None:
    """The pixel answered in an event loop (onepage.lanes' ASGI lanes, the
    live process): what `lane` answers, the append sent with the loop's
    other appends of the moment; a database write, when one is needed,
    runs in a thread and hands its connection back there."""
    if request.method not in METHODS:
        return None
    match = PIXEL_PATH.fullmatch(request.path)
    if match is None:
        return None
    answer = await answer_pixel_async(method=request.method, token=match[1], meta=request.meta)
    return f"{answer.status} OK", list(answer.headers), answer.body


def release_connections() -> None:
    """What request_finished's close_old_connections does after a Django
    request, for a pixel that wrote to the database (a direct write, or one
    tried before the spool): a connection past CONN_MAX_AGE, broken, or left
    out of autocommit is closed, and the next use of a kept one checks its
    health first (CONN_HEALTH_CHECKS). A connection inside a transaction its
    caller holds (a test's) is left alone. A pixel recorded through the stream
    touched no connection and skips this."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
