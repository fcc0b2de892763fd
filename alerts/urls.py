from django.urls import path

from . import settings_views, stream_views, views

app_name = "alerts"

urlpatterns = [
    path("", views.panel, name="panel"),
    path("count/", views.count, name="count"),
    path("stream/", stream_views.stream, name="stream"),
    path("read-all/", views.read_all, name="read_all"),
    path("<int:pk>/open/", views.open_notification, name="open"),
    path("email/<int:pk>/mute/", views.mute, name="mute"),
    path("settings/", settings_views.notification_settings, name="settings"),
]
