from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    """The workflows of a person's rights that span apps: erasing a contact,
    exporting what is held about them, asking their consent, and their own
    page to choose. It sits above contacts, emails and tracking and calls
    each app's own functions for that app's data."""

    name = "privacy"
