from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Only the organization's admins get through; reps see a page that says so."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.membership is None or not request.membership.is_admin:
            return render(request, "onepage/admin_only.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper
