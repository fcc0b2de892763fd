"""Organization-wide setting changes, each recorded as a SettingChange."""

from collections.abc import Iterable, Mapping

from django.db import transaction

from .models import Organization, SettingChange, User

# How the plan's change log names the setting and its values.
PLAN_LABELS = {"plan": "Plan"}
PLAN_VALUES = dict(Organization.Plan.choices)


def on_off(value: bool) -> str:
    """The stored form of a switch in SettingChange.old_value/new_value."""
    return "on" if value else "off"


def setting_change_record(
    *, organization: Organization, actor: User | None, setting: str, old: str, new: str
) -> SettingChange:
    return SettingChange.objects.create(
        organization=organization, actor=actor, setting=setting, old_value=old, new_value=new
    )


def setting_changes_describe(
    changes: Iterable[SettingChange], *, labels: Mapping[str, str], values: Mapping[str, str] | None = None
) -> list[SettingChange]:
    """Attach readable labels (label, old_label, new_label) for the change-log
    templates: each app names its own settings (`labels`, the words of its
    form) and their stored values (`values`; on and off are named here)."""
    values = {"on": "On", "off": "Off", **(values or {})}
    described = list(changes)
    for change in described:
        change.label = labels.get(change.setting, change.setting)
        change.old_label = values.get(change.old_value, change.old_value)
        change.new_label = values.get(change.new_value, change.new_value)
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
