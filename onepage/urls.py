from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from . import views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="contacts:list", permanent=False), name="home"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("settings/", views.settings_index, name="settings"),
    path("settings/profile/", views.profile, name="profile"),
    path("contacts/", include("contacts.urls")),
    path("email/", include("emails.urls")),
    path("", include("tracking.urls")),
    path("admin/", admin.site.urls),
]
