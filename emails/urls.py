from django.urls import path

from . import views

app_name = "emails"

urlpatterns = [
    path("", views.email_index, name="index"),
    path("open-tracking/", views.email_index, {"folder": "open-tracking"}, name="open_tracking"),
    path("failed/", views.email_index, {"folder": "failed"}, name="failed"),
    path("queued/", views.email_index, {"folder": "queued"}, name="queued"),
]
