from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"

    def ready(self) -> None:
        from contacts import last_opened
        from tracking import erasure, recorded

        from .feed import with_last_opened
        from .live import publish_after_deletion
        from .tasks import hand_off

        recorded.register(hand_off)
        erasure.register(publish_after_deletion)
        last_opened.provide(with_last_opened)
