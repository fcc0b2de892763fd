"""The member cookie: a signed (user id, organization id) that OnePage sets
in a signed-in user's browser, so that the tracking pixel can tell, without
a database query, that the browser fetching it belongs to a member of an
organization (tracking.classify's `self` verdict: the sender reading their
own email is not an open).

HttpOnly, SameSite=Lax, Secure when the session cookie is. Signed with
SECRET_KEY under its own salt; nothing in it is secret, only unforgeable.
"""

from collections.abc import Mapping

from django.conf import settings
from django.core import signing
from django.core.handlers.wsgi import get_str_from_wsgi
from django.http import HttpRequest, HttpResponse
from django.http.cookie import parse_cookie

COOKIE = "onepage_member"
_SALT = "onepage.membercookie"
MAX_AGE = 365 * 24 * 3600


def make_value(*, user_id: int, organization_id: int) -> str:
    return signing.dumps([user_id, organization_id], salt=_SALT, compress=False)


def read_value(value: str | None) -> tuple[int, int] | None:
    """(user id, organization id), or None for a missing, forged or expired cookie."""
    if not value:
        return None
    try:
        user_id, organization_id = signing.loads(value, salt=_SALT, max_age=MAX_AGE)
        return int(user_id), int(organization_id)
    except (signing.BadSignature, TypeError, ValueError):
        return None


def member_organization(request: HttpRequest) -> int | None:
    """The organization id of the member whose browser sent this request, if any."""
    return member_organization_of(request.META)


def member_organization_of(meta: Mapping[str, str]) -> int | None:
    """The same from a request's META or a raw WSGI environ (the pixel's
    lane has no request): the Cookie header read as Django reads
    request.COOKIES, and parsed only when it names the cookie (a mail
    client's fetch usually sends none)."""
    header = get_str_from_wsgi(meta, "HTTP_COOKIE", "")
    if COOKIE not in header:
        return None
    member = read_value(parse_cookie(header).get(COOKIE))
    return member[1] if member else None


def keep_member_cookie(request: HttpRequest, response: HttpResponse, *, user_id: int, organization_id: int) -> None:
    """Set the cookie when the browser lacks it or holds another member's."""
    if read_value(request.COOKIES.get(COOKIE)) == (user_id, organization_id):
        return
    response.set_cookie(
        COOKIE,
        make_value(user_id=user_id, organization_id=organization_id),
        max_age=MAX_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
