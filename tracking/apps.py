from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"

    def ready(self) -> None:
        from onepage import health

        from .backlog import stream_health

        health.register_check("open_backlog", stream_health)
