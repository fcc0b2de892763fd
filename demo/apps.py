from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data for development (`manage.py seed_demo`). It sits above every
    other app: it may use them all, and none of them uses it."""

    name = "demo"
