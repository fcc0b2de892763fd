"""The Notifications settings page (/alerts/settings/): each user's own
AlertSettings. Only an admin may choose teammates to hear about, and only
among the organization's other active members; a rep gets no such field."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from onepage.models import User
from onepage.permissions import is_admin

from .forms import AlertSettingsForm
from .models import AlertSettings


def _teammates(request: HttpRequest) -> list[User] | None:
    if not is_admin(request.membership):
        return None
    return list(
        User.objects.filter(membership__organization=request.organization, is_active=True)
        .exclude(pk=request.user.pk)
        .order_by("first_name", "last_name", "pk")
    )


def notification_settings(request: HttpRequest) -> HttpResponse:
    # No row until the first save: the defaults (a page read changes nothing).
    chosen = AlertSettings.objects.filter(user=request.user).first() or AlertSettings(user=request.user)
    form = AlertSettingsForm(request.POST or None, instance=chosen, teammates=_teammates(request))
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your notification settings were saved.")
        return redirect("alerts:settings")
    time_zone = request.user.time_zone or request.organization.time_zone
    return render(request, "alerts/settings.html", {"form": form, "time_zone": time_zone})
