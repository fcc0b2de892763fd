import base64

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from emails.pixels import read_token
from onepage.clientaddress import client_address
from onepage.membercookie import member_organization

from .classify import Signals, prefetch_header
from .hits import new_hit_key
from .intake import record_open

# A 1x1 transparent GIF89a.
PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")


@login_not_required
@require_safe
def pixel(request: HttpRequest, token: str) -> HttpResponse:
    """The tracking pixel, fetched by a recipient's mail client; answered by
    tracking.middleware.PixelMiddleware before the rest of the stack (the URL
    pattern names it for reverse()). Every token gets the same GIF, so a
    forged one learns nothing; only a valid signature reaches the recording
    pipeline (tracking.intake), with the few signals tracking.classify needs (client address,
    user agent, prefetch headers, the member cookie's organization): they
    travel with the open to the writer, which keeps only its verdict."""
    recipient_id = read_token(token)
    # A HEAD is a probe (link checkers, proxies): no image was shown. Past
    # the per-recipient limit the GIF is served and nothing recorded.
    if recipient_id is not None and request.method == "GET":
        # One key per hit, made here: whichever paths write it, and however
        # often, it counts once. The limit and the append: one round trip.
        signals = (
            None
            if not settings.OPEN_VERDICTS
            else Signals(
                address=client_address(request),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
                prefetch=prefetch_header(request.META),
                member_organization=member_organization(request),
            )
        )
        record_open(
            recipient_id=recipient_id, opened_at=timezone.now(), key=new_hit_key(), signals=signals, limited=True
        )
    response = HttpResponse(PIXEL_GIF, content_type="image/gif")
    # Every open must reach us, not a cache between us and the client.
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, private"
    # Set here: tracking.middleware answers before CommonMiddleware and
    # SecurityMiddleware would add them.
    response["Content-Length"] = str(len(PIXEL_GIF))
    response["X-Content-Type-Options"] = "nosniff"
    return response
