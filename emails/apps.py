from django.apps import AppConfig


class EmailsConfig(AppConfig):
    name = "emails"

    def ready(self) -> None:
        from django.core.signals import request_started

        from contacts import forms, timeline
        from onepage import health
        from onepage.models import organization_time_zone_changed

        from . import rollup
        from .preview import country_help
        from .selectors import contact_emails, sending_figures
        from .sync import in_process

        health.register_panel("Emails", sending_figures)
        timeline.provide_emails(contact_emails)
        forms.provide_country_help(country_help)
        # Without beat, page loads start the sync of mailboxes due (MAILBOX_SYNC_ON_PAGE_LOADS).
        request_started.connect(in_process.on_page_load, dispatch_uid="emails.sync.on_page_load")
        # Reports' weeks are the organization's: counted again in its new zone.
        organization_time_zone_changed.connect(rollup.on_time_zone_changed, dispatch_uid="emails.rollup.time_zone")
