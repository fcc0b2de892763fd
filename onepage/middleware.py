import zoneinfo
from collections.abc import Callable
from typing import Any

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from .membercookie import keep_member_cookie
from .models import Membership

# Paths a signed-in user without an organization may still reach.
_OPEN_PREFIXES = ("/admin/", "/accounts/logout/", "/static/")
# The tracking pixel is fetched by recipients' mail clients and /healthz by
# load balancers: neither needs an organization, and neither may look up a
# session (the pixel's hot path; a health probe must not depend on it). Nor
# does the icon a browser asks for.
_NO_ORGANIZATION_PREFIXES = ("/o/", "/healthz", "/favicon.ico")


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Django's, but a view marked login_not_required (the pixel, /healthz)
    is let through before the session is read: a request that happens to
    carry a session cookie costs no session lookup there."""

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: tuple, view_kwargs: dict
    ) -> HttpResponse | None:
        if not getattr(view_func, "login_required", True):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class OrganizationMiddleware:
    """Resolve request.membership and request.organization for a signed-in
    user (one query), show every date and time in that user's time zone, and
    refuse a plan feature's views to organizations without it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None
        request.organization = None
        if request.path.startswith(_NO_ORGANIZATION_PREFIXES):
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
                _activate_time_zone(user.time_zone or membership.organization.time_zone)
        try:
            response = self.get_response(request)
        finally:
            timezone.deactivate()
        if request.membership is not None:
            # The pixel tells the members' own browsers by it (tracking's `self`).
            keep_member_cookie(
                request, response, user_id=request.membership.user_id, organization_id=request.organization.pk
            )
        return response

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: tuple, view_kwargs: dict
    ) -> HttpResponse | None:
        """Refuse a plan feature's views (marked with onepage.decorators.business_only)
        to organizations whose plan lacks it, with a page that says how to get it."""
        feature = getattr(view_func, "required_feature", None)
        if feature is None or request.organization is None or request.organization.features.has(feature):
            return None
        return render(request, "onepage/upgrade.html", {"feature": feature}, status=403)


def _activate_time_zone(name: str) -> None:
    try:
        timezone.activate(zoneinfo.ZoneInfo(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        timezone.deactivate()
