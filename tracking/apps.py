from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"

    def ready(self) -> None:
        from contacts.models import open_tracking_withdrawn
        from emails import reports as email_reports
        from onepage import health

        from .backlog import open_backlog
        from .consent import on_withdrawal
        from .reports import attach_open_reports

        health.register_check("open_backlog", open_backlog)
        email_reports.provide(attach_open_reports)
        open_tracking_withdrawn.connect(on_withdrawal, dispatch_uid="tracking.consent.on_withdrawal")
