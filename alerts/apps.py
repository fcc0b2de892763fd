from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"

    def ready(self) -> None:
        from contacts import last_opened
        from tracking import recorded

        from .feed import with_last_opened
        from .tasks import hand_off

        recorded.register(hand_off)
        last_opened.provide(with_last_opened)
