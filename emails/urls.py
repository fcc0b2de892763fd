from django.urls import path

from . import views, views_compose

app_name = "emails"

urlpatterns = [
    path("", views.email_index, name="index"),
    path("compose/", views_compose.compose, name="compose"),
    path("<int:pk>/", views_compose.email_detail, name="detail"),
    path("<int:pk>/retry/", views_compose.email_retry_view, name="retry"),
    path("open-tracking/", views.email_index, {"folder": "open-tracking"}, name="open_tracking"),
    path("failed/", views.email_index, {"folder": "failed"}, name="failed"),
    path("queued/", views.email_index, {"folder": "queued"}, name="queued"),
]
