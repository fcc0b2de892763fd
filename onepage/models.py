import zoneinfo
from functools import cached_property

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.dispatch import Signal

from .plans import Features, Plan, features_of

# Sent with `organization` after its time zone changed (the admin site):
# what is kept per day or week in that zone is counted again (emails.rollup).
organization_time_zone_changed = Signal()


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not a known time zone.") from None


TIME_ZONE_CHOICES = [(tz, tz.replace("_", " ")) for tz in sorted(zoneinfo.available_timezones()) if "/" in tz] + [
    ("UTC", "UTC")
]


class User(AbstractUser):
    # Blank means "use my organization's time zone".
    time_zone = models.CharField(max_length=64, blank=True, validators=[validate_time_zone])

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The user's time zone, else their organization's (a member's)."""
        return zoneinfo.ZoneInfo(self.time_zone or self.membership.organization.time_zone)


class Organization(models.Model):
    Plan = Plan

    name = models.CharField(max_length=200)
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.BUSINESS)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    @property
    def features(self) -> Features:
        """What the organization's plan includes (onepage.plans)."""
        return features_of(self.plan)

    @cached_property
    def was_on_business(self) -> bool:
        """Whether it has left the Business plan: its earlier opens are history."""
        return self.setting_changes.filter(setting="plan", old_value=Plan.BUSINESS).exists()


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        REP = "rep", "Sales rep"

    # One organization per user.
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="membership")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.REP)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}, {self.organization})"

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN


class SettingChange(models.Model):
    """Who changed an organization-wide setting, when, from what to what."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="setting_changes")
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True)
    setting = models.CharField(max_length=60)
    old_value = models.CharField(max_length=200, blank=True)
    new_value = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["organization", "-at"], name="settingchange_org_idx")]

    def __str__(self) -> str:
        return f"{self.setting}: {self.old_value} -> {self.new_value}"
