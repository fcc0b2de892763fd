"""The notifications a user gets about people's opens of the emails they
sent, and what each user chose to get. Made by alerts.creation from the
opens tracking.writer has just recorded (the tracking.recorded slot)."""

from datetime import time, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q

from emails.models import Email, EmailRecipient
from onepage.models import Organization
from tracking.models import OpenEvent

DEFAULT_CAME_BACK_AFTER_HOURS = 24


class Notification(models.Model):
    """One thing a user is told about a recipient's opens of one email: its
    first open, its coming back after a quiet period, or the day's other
    opens as one line updated in place (count, last time). It names the
    recipient row (its contact's name where there is one, else the address
    the rep wrote to), never a copy of the address: an erased contact's
    notifications say what the erased row says."""

    class Kind(models.TextChoices):
        FIRST_OPEN = "first_open", "Opened for the first time"
        CAME_BACK = "came_back", "Opened again after a while"
        DIGEST = "digest", "Opened again today"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    email = models.ForeignKey(Email, on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(EmailRecipient, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # The open it came from (a digest line: the first of its day), by its
    # hit key: one notification per open and user (the sender, an admin
    # following them), whatever replays the batch; and it goes when that
    # open goes (the retention purge, a withdrawal, an erasure: every
    # deletion of opens cascades here).
    open = models.ForeignKey(
        OpenEvent, to_field="hit_key", db_column="hit_key", on_delete=models.CASCADE, related_name="+"
    )
    # How many opens it tells of (1, or a digest line's opens so far).
    count = models.PositiveIntegerField(default=1)
    opened_at = models.DateTimeField()
    # A digest line's latest open; the others' is opened_at.
    last_opened_at = models.DateTimeField()
    # Came back: the counted open before it ("opened again after 3 days").
    previous_opened_at = models.DateTimeField(null=True, blank=True)
    # A digest line's day, in the user's time zone.
    day = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_opened_at", "-pk"]
        indexes = [
            # A user's latest, and their unread count.
            models.Index(fields=["user", "-last_opened_at"], name="notification_latest_idx"),
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["user", "open"], name="notification_one_per_open_and_user"),
            # One digest line per user, email, recipient and day.
            models.UniqueConstraint(
                fields=["user", "email", "recipient", "day"],
                condition=Q(kind="digest"),
                name="notification_one_digest_a_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: recipient {self.recipient_id} for user {self.user_id}"

    @property
    def quiet_for(self) -> timedelta | None:
        """Came back: how long the recipient had not opened it."""
        if self.previous_opened_at is None:
            return None
        return self.opened_at - self.previous_opened_at


class EmailMute(models.Model):
    """A user asked to hear no more about the opens of one email."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_mutes")
    email = models.ForeignKey(Email, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "email"], name="email_mute_once")]

    def __str__(self) -> str:
        return f"Email {self.email_id} muted by user {self.user_id}"


class AlertSettings(models.Model):
    """What a user chose to be told. No row: the defaults."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_settings")
    first_open = models.BooleanField(default=True)
    came_back = models.BooleanField(default=True)
    digest = models.BooleanField(default=True)
    # "Came back" after this many hours without a counted open.
    came_back_after_hours = models.PositiveIntegerField(default=DEFAULT_CAME_BACK_AFTER_HOURS)
    # A browser notification (the Notification API) as well as the bell:
    # only when the user asked for it here (and their browser allowed it).
    browser = models.BooleanField(default=False)
    # The day's opens by email, through the system's mail (never tracked),
    # at this time of the user's day, in their time zone.
    daily_email = models.BooleanField(default=False)
    daily_email_at = models.TimeField(default=time(17, 0))
    # An admin may also be told of these teammates' emails' opens.
    follows = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="followed_by")

    def __str__(self) -> str:
        return f"Alert settings of user {self.user_id}"

    def wants(self, kind: str) -> bool:
        return {
            Notification.Kind.FIRST_OPEN: self.first_open,
            Notification.Kind.CAME_BACK: self.came_back,
            Notification.Kind.DIGEST: self.digest,
        }[kind]

    @property
    def came_back_after(self) -> timedelta:
        return timedelta(hours=self.came_back_after_hours)


class DailyEmail(models.Model):
    """A user's daily email of one day (their time zone), claimed before it
    is sent: never two for one day, whatever retries the task."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="daily_email_once_a_day")]

    def __str__(self) -> str:
        return f"Daily email of {self.day} for user {self.user_id}"
