from django.apps import AppConfig


class EmailsConfig(AppConfig):
    name = "emails"

    def ready(self) -> None:
        from contacts import timeline
        from onepage import health

        from .selectors import contact_emails, sending_figures

        health.register_panel("Emails", sending_figures)
        timeline.provide_emails(contact_emails)
