from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"

    def ready(self) -> None:
        from contacts import last_opened
        from tracking import recorded

        from .creation import notify
        from .feed import with_last_opened

        recorded.register(notify)
        last_opened.provide(with_last_opened)
