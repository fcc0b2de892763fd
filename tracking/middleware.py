"""The pixel's lean path: /o/<token>.gif answered at the top of the
middleware stack, before anything reads the session, the user, the CSRF
cookie or the organization. A mail client's pixel fetch then costs the token
check and one Redis round trip (stream mode), and a session cookie that a
browser happens to send costs nothing. Listed first in settings.MIDDLEWARE.
In the web process the lane (tracking.pixel.lane, onepage.lanes) answers
GET and HEAD of these paths before Django's handler: this middleware serves
Django's own entries (the test Client, the ASGI process) and the methods
the lane leaves to the view (405).
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .pixel import PIXEL_PATH
from .views import pixel


class PixelMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        match = PIXEL_PATH.fullmatch(request.path_info)
        if match is None:
            return self.get_response(request)
        return pixel(request, match[1])
