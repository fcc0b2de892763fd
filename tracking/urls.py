from django.urls import path

from . import views

app_name = "tracking"

urlpatterns = [
    path("o/<str:token>.gif", views.pixel, name="pixel"),
]
