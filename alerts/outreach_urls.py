from django.urls import path

from . import outreach_views

app_name = "reports"

urlpatterns = [
    path("", outreach_views.outreach_page, name="outreach"),
    path("outreach-<slug:table>.csv", outreach_views.outreach_csv, name="outreach_csv"),
]
