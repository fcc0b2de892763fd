"""The development outbox (included at /dev/outbox/; its views answer 404
unless DEBUG is on)."""

from django.urls import path

from .views import outbox

urlpatterns = [
    path("", outbox.outbox_list, name="dev_outbox"),
    path("<str:key>/", outbox.outbox_detail, name="dev_outbox_message"),
    path("<str:key>/raw/", outbox.outbox_raw, name="dev_outbox_raw"),
]
