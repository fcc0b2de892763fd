from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"

    def ready(self) -> None:
        from contacts.models import contact_erasing, open_tracking_withdrawn
        from onepage import health

        from .backlog import open_backlog
        from .consent import on_contact_erasing, on_withdrawal

        health.register_check("open_backlog", open_backlog)
        open_tracking_withdrawn.connect(on_withdrawal, dispatch_uid="tracking.consent.on_withdrawal")
        contact_erasing.connect(on_contact_erasing, dispatch_uid="tracking.consent.on_contact_erasing")
