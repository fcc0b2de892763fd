from django.urls import path

from . import views

app_name = "emails"

urlpatterns = [
    path("", views.email_index, name="index"),
]
