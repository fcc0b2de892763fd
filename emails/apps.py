from django.apps import AppConfig


class EmailsConfig(AppConfig):
    name = "emails"

    def ready(self) -> None:
        from onepage import health

        from .selectors import sending_figures

        health.register_panel("Emails", sending_figures)
