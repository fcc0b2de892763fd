"""Changing the organization's email configuration: the switches an admin
sets in Settings -> Email configuration, and the one the organization's first
mailbox sets by itself. To read it, `EmailConfiguration.objects.of(org)`."""

from django.db import transaction

from onepage.models import Organization, SettingChange, User
from onepage.services import on_off, setting_change_record

from .models import EmailConfiguration

# The switches an admin changes on the page, in the order the log lists them.
SWITCHES = (
    "allow_open_tracking",
    "track_eu_only_with_consent",
    "delete_opens_on_withdrawal",
    "preference_link",
    "count_machine_opens",
)
# The settings that are words, not switches: logged with their old and new words.
TEXTS = ("preference_link_text", "unknown_recipients", "open_retention_months")


def configuration_for_update(organization: Organization) -> EmailConfiguration:
    """The organization's configuration, created if missing and locked until
    the transaction ends, so that concurrent changes log true old values.
    Call inside transaction.atomic()."""
    EmailConfiguration.objects.get_or_create(organization=organization)
    config = EmailConfiguration.objects.select_for_update().get(organization=organization)
    config.organization = organization
    return config


def email_configuration_update(
    *,
    organization: Organization,
    actor: User,
    allow_open_tracking: bool,
    track_eu_only_with_consent: bool,
    delete_opens_on_withdrawal: bool = True,
    preference_link: bool = False,
    count_machine_opens: bool = False,
    preference_link_text: str | None = None,
    unknown_recipients: str | None = None,
    open_retention_months: int | None = None,
) -> list[SettingChange]:
    """Apply the switches and record one SettingChange per switch that changed."""
    wanted = {
        "allow_open_tracking": allow_open_tracking,
        "track_eu_only_with_consent": track_eu_only_with_consent,
        "delete_opens_on_withdrawal": delete_opens_on_withdrawal,
        "preference_link": preference_link,
        "count_machine_opens": count_machine_opens,
    }
    with transaction.atomic():
        config = configuration_for_update(organization)
        changed = [name for name in SWITCHES if getattr(config, name) != wanted[name]]
        changes = [_switch(config, name, wanted[name], actor=actor) for name in changed]
        texts = {
            "preference_link_text": preference_link_text,
            "unknown_recipients": unknown_recipients,
            "open_retention_months": open_retention_months,
        }
        for name, value in texts.items():
            old = getattr(config, name)
            if value is not None and value != old:
                changes.append(
                    setting_change_record(
                        organization=organization, actor=actor, setting=name, old=str(old), new=str(value)
                    )
                )
                setattr(config, name, value)
                changed.append(name)
        if changed:
            config.save(update_fields=[*changed, "updated_at"])
    return changes


def switch_on_for_first_mailbox(*, config: EmailConfiguration, actor: User) -> bool:
    """The product promise: connecting the organization's first mailbox
    switches Allow open tracking on, and the log says so. Once an admin has
    chosen (any logged change of the switch), their choice stands. Call with
    the configuration locked (configuration_for_update), in the mailbox's
    transaction, so two first mailboxes at once switch it on once."""
    organization = config.organization
    already_chosen = SettingChange.objects.filter(organization=organization, setting="allow_open_tracking").exists()
    if config.allow_open_tracking or already_chosen:
        return False
    _switch(config, "allow_open_tracking", True, actor=actor)
    config.save(update_fields=["allow_open_tracking", "updated_at"])
    return True


def _switch(config: EmailConfiguration, name: str, value: bool, *, actor: User) -> SettingChange:
    change = setting_change_record(
        organization=config.organization,
        actor=actor,
        setting=name,
        old=on_off(getattr(config, name)),
        new=on_off(value),
    )
    setattr(config, name, value)
    return change
