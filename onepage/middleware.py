import zoneinfo
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from emails.models import EmailConfiguration
from tracking.policy import email_configuration

from .features import NO_FEATURES, features_for
from .models import Membership, Organization

# Paths a signed-in user without an organization may still reach.
_OPEN_PREFIXES = ("/admin/", "/accounts/logout/", "/static/")
# The tracking pixel is fetched by recipients' mail clients: it needs no
# organization, and its hot path should not pay for resolving one.
_PIXEL_PREFIX = "/o/"


def _loaded_configuration(organization: Organization) -> EmailConfiguration:
    # Joined into the membership query; a query only when it does not exist yet.
    try:
        return organization.email_configuration
    except EmailConfiguration.DoesNotExist:
        return email_configuration(organization)


class OrganizationMiddleware:
    """Resolve request.membership and request.organization for a signed-in
    user, show every date and time in that user's time zone, and enforce the
    plan.

    Also attached, so views and templates read them without queries of their own:
    - request.features: what the organization's plan includes (onepage.features);
    - request.email_config: its EmailConfiguration, loaded by the same query
      as the membership (created on first use when missing).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None
        request.organization = None
        request.features = NO_FEATURES
        request.email_config = None
        if request.path.startswith(_PIXEL_PREFIX):
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            membership = (
                Membership.objects.select_related("organization", "organization__email_configuration")
                .filter(user=user)
                .first()
            )
            if membership is None:
                if not request.path.startswith(_OPEN_PREFIXES):
                    return render(request, "onepage/no_organization.html", status=403)
            else:
                self._attach(request, membership)
                tz_name = user.time_zone or membership.organization.time_zone
                try:
                    timezone.activate(zoneinfo.ZoneInfo(tz_name))
                except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                    timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    @staticmethod
    def _attach(request: HttpRequest, membership: Membership) -> None:
        organization = membership.organization
        request.membership = membership
        request.organization = organization
        request.features = features_for(organization)
        request.email_config = SimpleLazyObject(lambda: _loaded_configuration(organization))

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: tuple, view_kwargs: dict
    ) -> HttpResponse | None:
        """Refuse a plan feature's views (marked with onepage.decorators.business_only)
        to organizations whose plan lacks it, with a page that says how to get it."""
        feature = getattr(view_func, "required_feature", None)
        if feature is None or request.organization is None or request.features.has(feature):
            return None
        return render(request, "onepage/upgrade.html", {"feature": feature}, status=403)
