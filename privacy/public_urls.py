from django.urls import path

from . import public

app_name = "privacy_public"

# Under /o/ (see onepage.middleware): no organization, no login.
urlpatterns = [
    path("<str:token>/", public.preference, name="preference"),
]
