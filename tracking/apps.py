from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"

    def ready(self) -> None:
        from contacts import reading_times as contact_reading_times
        from contacts.models import open_tracking_withdrawn
        from emails import reports as email_reports
        from onepage import health, lanes

        from .backlog import open_backlog
        from .consent import on_withdrawal
        from .pixel import asgi_lane as pixel_asgi_lane
        from .pixel import lane as pixel_lane
        from .reading_times import reading_times
        from .reports import attach_open_reports

        health.register_check("open_backlog", open_backlog)
        # /o/<token>.gif answered in front of Django's handlers (onepage.wsgi,
        # and onepage.asgi, where nginx sends it).
        lanes.register("/o/", pixel_lane, asgi=pixel_asgi_lane)
        email_reports.provide(attach_open_reports)
        contact_reading_times.provide(reading_times)
        open_tracking_withdrawn.connect(on_withdrawal, dispatch_uid="tracking.consent.on_withdrawal")
