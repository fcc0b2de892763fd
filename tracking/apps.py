from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"

    def ready(self) -> None:
        from onepage import health

        from .backlog import open_backlog

        health.register_check("open_backlog", open_backlog)
