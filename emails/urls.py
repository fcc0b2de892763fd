from django.urls import path

from .views import compose, email, folders

app_name = "emails"

urlpatterns = [
    path("", folders.email_index, name="index"),
    path("open-tracking/", folders.email_index, {"folder": "open-tracking"}, name="open_tracking"),
    path("failed/", folders.email_index, {"folder": "failed"}, name="failed"),
    path("queued/", folders.email_index, {"folder": "queued"}, name="queued"),
    path("compose/", compose.compose, name="compose"),
    path("compose/preview/", compose.compose_preview, name="compose_preview"),
    path("<int:pk>/", email.email_detail, name="detail"),
    path("<int:pk>/open-report/", email.email_open_report, name="open_report"),
    path("<int:pk>/retry/", email.email_retry_view, name="retry"),
    path("<int:pk>/recipients/<int:recipient_pk>/resend/", email.recipient_resend_view, name="resend_recipient"),
]
