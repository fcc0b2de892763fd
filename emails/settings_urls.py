"""The emails app's pages under Settings (included at /settings/)."""

from django.urls import path

from .views import configuration, mailbox

urlpatterns = [
    path("email-configuration/", configuration.email_configuration, name="email_configuration"),
    path(
        "email-configuration/change/",
        configuration.email_configuration_change,
        name="email_configuration_change",
    ),
    path("email-sync/", mailbox.mailbox, name="mailbox"),
    path("email-sync/test/", mailbox.mailbox_test, name="mailbox_test"),
    path("email-sync/sync/", mailbox.mailbox_sync_now, name="mailbox_sync"),
    path("email-sync/disconnect/", mailbox.mailbox_disconnect_view, name="mailbox_disconnect"),
]
