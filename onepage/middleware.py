import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from .models import Membership

# Paths a signed-in user without an organization may still reach.
_OPEN_PREFIXES = ("/admin/", "/accounts/logout/", "/static/")
# The tracking pixel is fetched by recipients' mail clients: it needs no
# organization, and its hot path should not pay for resolving one.
_PIXEL_PREFIX = "/o/"


class OrganizationMiddleware:
    """Resolve request.membership and request.organization for a signed-in
    user, and show every date and time in that user's time zone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None
        request.organization = None
        if request.path.startswith(_PIXEL_PREFIX):
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            membership = Membership.objects.select_related("organization").filter(user=user).first()
            if membership is None:
                if not request.path.startswith(_OPEN_PREFIXES):
                    return render(request, "onepage/no_organization.html", status=403)
            else:
                request.membership = membership
                request.organization = membership.organization
                tz_name = user.time_zone or membership.organization.time_zone
                try:
                    timezone.activate(zoneinfo.ZoneInfo(tz_name))
                except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                    timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
