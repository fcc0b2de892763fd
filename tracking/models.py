from django.db import models

from emails.models import Email, EmailRecipient


class OpenEvent(models.Model):
    """One load of a recipient's pixel: that it happened and when, nothing
    about the recipient's device or network."""

    # Null for an open tracked in aggregate (TrackingMode.AGGREGATE): it
    # counts in the email's total, and no recipient row shows it.
    recipient = models.ForeignKey(EmailRecipient, on_delete=models.CASCADE, related_name="opens", null=True, blank=True)
    email = models.ForeignKey(Email, on_delete=models.CASCADE, related_name="opens")
    opened_at = models.DateTimeField()
    # The idempotency key the pixel view gave the hit (tracking.recording.new_hit_key),
    # carried by every path (stream, direct write, spool): unique, so that a
    # hit written twice by any of them counts once. Null on rows written
    # before keys existed.
    hit_key = models.CharField(max_length=40, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        indexes = [
            models.Index(fields=["recipient", "-opened_at"], name="open_recipient_idx"),
            models.Index(fields=["email", "-opened_at"], name="open_email_idx"),
            # The retention purge finds the oldest opens by time.
            models.Index(fields=["opened_at"], name="open_opened_at_idx"),
        ]

    def __str__(self) -> str:
        return f"Open of {self.recipient_id} at {self.opened_at:%Y-%m-%d %H:%M:%S}"
