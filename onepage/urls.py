from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from emails import views_config, views_mailbox, views_outbox

from . import views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="contacts:list", permanent=False), name="home"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("settings/", views.settings_index, name="settings"),
    path("settings/profile/", views.profile, name="profile"),
    path("settings/plan/", views.plan, name="plan"),
    path("settings/plan/change/", views.plan_change, name="plan_change"),
    path("settings/email-configuration/", views_config.email_configuration, name="email_configuration"),
    path(
        "settings/email-configuration/change/",
        views_config.email_configuration_change,
        name="email_configuration_change",
    ),
    path("settings/email-sync/", views_mailbox.mailbox, name="mailbox"),
    path("settings/email-sync/test/", views_mailbox.mailbox_test, name="mailbox_test"),
    path("settings/email-sync/disconnect/", views_mailbox.mailbox_disconnect_view, name="mailbox_disconnect"),
    path("dev/outbox/", views_outbox.outbox_list, name="dev_outbox"),
    path("dev/outbox/<str:key>/", views_outbox.outbox_detail, name="dev_outbox_message"),
    path("dev/outbox/<str:key>/raw/", views_outbox.outbox_raw, name="dev_outbox_raw"),
    path("contacts/", include("contacts.urls")),
    path("email/", include("emails.urls")),
    path("", include("tracking.urls")),
    path("admin/", admin.site.urls),
]
