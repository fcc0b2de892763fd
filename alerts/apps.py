from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"

    def ready(self) -> None:
        from tracking import recorded

        from .creation import notify

        recorded.register(notify)
