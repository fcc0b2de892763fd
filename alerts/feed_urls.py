from django.urls import path

from . import feed_views

app_name = "activity"

urlpatterns = [
    path("", feed_views.feed, name="feed"),
]
