from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse

from .permissions import admins_only, is_admin
from .plans import OPEN_TRACKING


def admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Only the organization's admins get through; reps see a page that says so."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_admin(request.membership):
            return admins_only(request)
        return view(request, *args, **kwargs)

    return wrapper


def requires_feature(feature: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Mark a view as needing a plan feature. OrganizationMiddleware.process_view
    checks the mark and shows the upgrade page to organizations without it.

    The mark is an attribute, so it survives decorators that use functools.wraps
    (admin_required, require_POST) whichever order they are stacked in."""

    def mark(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        view.required_feature = feature
        return view

    return mark


# Open tracking is what the Business plan adds over Professional.
business_only = requires_feature(OPEN_TRACKING)
