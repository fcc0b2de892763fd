from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from .pixel import PIXEL_GIF, answer_pixel

__all__ = ["PIXEL_GIF", "pixel"]


@login_not_required
@require_safe
def pixel(request: HttpRequest, token: str) -> HttpResponse:
    """The tracking pixel, fetched by a recipient's mail client. In the web
    process the lane answers it before Django (tracking.pixel.lane, through
    onepage.lanes); this view answers it wherever Django's handler gets it
    (the test Client, the ASGI process, a server without the lane), through
    tracking.middleware.PixelMiddleware before the rest of the stack, and the
    URL pattern names it for reverse(). Both answer with the same function,
    tracking.pixel.answer_pixel: the token check, the signals, the recording
    and the headers are written there once."""
    answer = answer_pixel(method=request.method, token=token, meta=request.META)
    response = HttpResponse(answer.body, status=answer.status)
    for name, value in answer.headers:
        response[name] = value
    return response
