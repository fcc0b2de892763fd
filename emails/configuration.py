"""Changing the organization's email configuration (Settings -> Email configuration)."""

from django.db import transaction

from onepage.models import Organization, SettingChange, User
from onepage.services import on_off, setting_change_record

from .models import EmailConfiguration

# The switches an admin changes on the page, in the order the log lists them.
SWITCHES = ("allow_open_tracking", "track_eu_only_with_consent")


def configuration_for_update(organization: Organization) -> EmailConfiguration:
    """The organization's configuration, created if missing and locked until
    the transaction ends, so that concurrent changes log true old values.
    Call inside transaction.atomic()."""
    EmailConfiguration.objects.get_or_create(organization=organization)
    return EmailConfiguration.objects.select_for_update().get(organization=organization)


def email_configuration_update(
    *, organization: Organization, actor: User, allow_open_tracking: bool, track_eu_only_with_consent: bool
) -> list[SettingChange]:
    """Apply the switches and record one SettingChange per switch that changed."""
    wanted = {"allow_open_tracking": allow_open_tracking, "track_eu_only_with_consent": track_eu_only_with_consent}
    with transaction.atomic():
        config = configuration_for_update(organization)
        changed = [name for name in SWITCHES if getattr(config, name) != wanted[name]]
        changes = []
        for name in changed:
            changes.append(
                setting_change_record(
                    organization=organization,
                    actor=actor,
                    setting=name,
                    old=on_off(getattr(config, name)),
                    new=on_off(wanted[name]),
                )
            )
            setattr(config, name, wanted[name])
        if changed:
            config.save(update_fields=[*changed, "updated_at"])
    return changes
