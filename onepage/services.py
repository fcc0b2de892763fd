"""Organization-wide setting changes, each recorded as a SettingChange."""

from collections.abc import Iterable

from django.db import transaction

from .models import Organization, SettingChange, User

# How the change logs name each setting and its stored values.
SETTING_LABELS = {
    "plan": "Plan",
    "allow_open_tracking": "Allow open tracking",
    "track_eu_only_with_consent": "Track EU/EEA and UK contacts only when they have allowed it",
    "delete_opens_on_withdrawal": "Delete a contact's recorded opens when they refuse tracking",
    "unknown_recipients": "Recipients who are not contacts, or whose country is unknown",
    "open_retention_months": "Keep recorded opens for (months)",
    "preference_link": "Add a link to refuse tracking in tracked emails",
    "preference_link_text": "Words of the link to refuse tracking",
    "count_machine_opens": "Count automatic fetches as opens",
}
VALUE_LABELS = {
    "on": "On",
    "off": "Off",
    "identified": "Identified",
    "aggregate": "Aggregate",
    **dict(Organization.Plan.choices),
}


def on_off(value: bool) -> str:
    """The stored form of a switch in SettingChange.old_value/new_value."""
    return "on" if value else "off"


def setting_change_record(
    *, organization: Organization, actor: User | None, setting: str, old: str, new: str
) -> SettingChange:
    return SettingChange.objects.create(
        organization=organization, actor=actor, setting=setting, old_value=old, new_value=new
    )


def setting_changes_describe(changes: Iterable[SettingChange]) -> list[SettingChange]:
    """Attach readable labels (label, old_label, new_label) for the change-log templates."""
    described = list(changes)
    for change in described:
        change.label = SETTING_LABELS.get(change.setting, change.setting)
        change.old_label = VALUE_LABELS.get(change.old_value, change.old_value)
        change.new_label = VALUE_LABELS.get(change.new_value, change.new_value)
    return described


def organization_plan_change(*, organization: Organization, actor: User, plan: str) -> SettingChange | None:
    """Switch the organization's plan; None when it already was on that plan.

    No payment involved. On Professional, emails.policy stops tracking new
    emails and recording new opens; switching back restores both."""
    with transaction.atomic():
        # Locked so that two admins switching at once log true old values.
        current = Organization.objects.select_for_update().get(pk=organization.pk)
        if current.plan == plan:
            return None
        change = setting_change_record(organization=current, actor=actor, setting="plan", old=current.plan, new=plan)
        current.plan = plan
        current.save(update_fields=["plan"])
    organization.plan = plan
    return change
