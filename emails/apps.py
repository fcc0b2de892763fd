from django.apps import AppConfig


class EmailsConfig(AppConfig):
    name = "emails"

    def ready(self) -> None:
        from contacts.models import contact_erasing
        from onepage import health

        from .erasure import on_contact_erasing
        from .selectors import sending_figures

        health.register_panel("Emails", sending_figures)
        contact_erasing.connect(on_contact_erasing, dispatch_uid="emails.erasure.on_contact_erasing")
