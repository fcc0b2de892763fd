from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from . import views
from .forms import SignInForm

# Every app's pages are included by name: onepage imports no app (see
# docs/architecture.md).
urlpatterns = [
    path("", RedirectView.as_view(pattern_name="contacts:list", permanent=False), name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(authentication_form=SignInForm), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("settings/", views.settings_index, name="settings"),
    path("settings/profile/", views.profile, name="profile"),
    path("settings/plan/", views.plan, name="plan"),
    path("settings/plan/change/", views.plan_change, name="plan_change"),
    path("settings/system/", views.system, name="system"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("settings/", include("emails.settings_urls")),
    path("dev/outbox/", include("emails.outbox_urls")),
    path("contacts/", include("contacts.urls")),
    path("email/", include("emails.urls")),
    path("", include("privacy.urls")),
    path("o/p/", include("privacy.public_urls")),
    path("", include("tracking.urls")),
    path("alerts/", include("alerts.urls")),
    path("activity/", include("alerts.feed_urls")),
    path("reports/", include("alerts.outreach_urls")),
    path("admin/", admin.site.urls),
]
