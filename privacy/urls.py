from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("contacts/<int:pk>/delete/", views.contact_delete, name="erase"),
    path("contacts/<int:pk>/export/", views.contact_export_download, name="export"),
    path("email/ask-consent/<int:contact_pk>/", views.consent_request, name="consent_request"),
]
