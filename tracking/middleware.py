"""The pixel's lean path: /o/<token>.gif answered at the top of the
middleware stack, before anything reads the session, the user, the CSRF
cookie or the organization. A mail client's pixel fetch then costs the token
check and one Redis round trip (stream mode), and a session cookie that a
browser happens to send costs nothing. Listed first in settings.MIDDLEWARE.
"""

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .views import pixel

# The same paths as tracking.urls' "o/<str:token>.gif" (str: no slash).
_PIXEL_PATH = re.compile(r"/o/([^/]+)\.gif")


class PixelMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        match = _PIXEL_PATH.fullmatch(request.path_info)
        if match is None:
            return self.get_response(request)
        return pixel(request, match[1])
