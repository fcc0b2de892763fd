from django.apps import AppConfig


class OnePageConfig(AppConfig):
    name = "onepage"
    verbose_name = "OnePage"
