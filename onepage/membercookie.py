"""The member cookie: a signed (user id, organization id) that OnePage sets
in a signed-in user's browser, so that the tracking pixel can tell, without
a database query, that the browser fetching it belongs to a member of an
organization (tracking.classify's `self` verdict: the sender reading their
own email is not an open).

HttpOnly, SameSite=Lax, Secure when the session cookie is. Signed with
SECRET_KEY under its own salt; nothing in it is secret, only unforgeable.
"""

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse

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
    member = read_value(request.COOKIES.get(COOKIE))
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
