from django.db import models

from emails.models import Email, EmailRecipient


class Verdict(models.TextChoices):
    """Who fetched the pixel, as tracking.classify decides it when the open is
    written. Human and proxy are a person's opens and count; the others are
    kept apart (shown as automatic fetches)."""

    HUMAN = "human", "Opened"
    PROXY = "proxy", "Opened through the mail provider's image proxy"
    PRIVACY_PREFETCH = "privacy_prefetch", "Apple Mail privacy protection"
    SCANNER = "scanner", "Security scanner"
    EARLY = "early", "On delivery, before anyone could read it"
    REPEAT = "repeat", "Loaded again within seconds"
    SELF = "self", "Your team's own browser"


# A person's opens: what open_count, first_opened_at and last_opened_at count.
COUNTED = frozenset({Verdict.HUMAN, Verdict.PROXY})
# The verdicts that are not a person's open, each a bit of the counters'
# automatic_kinds (which kinds a recipient's or email's automatic fetches were).
AUTOMATIC_BITS = {
    Verdict.PRIVACY_PREFETCH: 1,
    Verdict.SCANNER: 2,
    Verdict.EARLY: 4,
    Verdict.REPEAT: 8,
    Verdict.SELF: 16,
}


class OpenEvent(models.Model):
    """One load of a recipient's pixel: that it happened, when, and who
    fetched it (its verdict); nothing about the recipient's device or
    network (the client address and user agent are read, classified and
    dropped)."""

    Verdict = Verdict

    # Null for an open tracked in aggregate (TrackingMode.AGGREGATE): it
    # counts in the email's total, and no recipient row shows it.
    # No single-column indexes on the two keys: open_recipient_idx and
    # open_email_idx lead with them, and every index costs each insert
    # (the recorder's batch, issue 23).
    # No database constraint on the recipient either: its check, one locked
    # lookup per inserted row at the commit, was half of the recorder's commit
    # (7 of 14 ms a batch of 2,000; issue 23). What it guaranteed holds
    # without it: the one writer (tracking.writer) inserts only recipients it
    # read under their email's lock; a recipient row is deleted only with its
    # email (the admin's inline cannot delete one), which the email's
    # constraint below guards; Django still cascades the deletion; and
    # `recount_opens --check` lists any open whose recipient is gone.
    recipient = models.ForeignKey(
        EmailRecipient,
        on_delete=models.CASCADE,
        related_name="opens",
        null=True,
        blank=True,
        db_index=False,
        db_constraint=False,
    )
    email = models.ForeignKey(Email, on_delete=models.CASCADE, related_name="opens", db_index=False)
    opened_at = models.DateTimeField()
    # The idempotency key the pixel view gave the hit (tracking.recording.new_hit_key),
    # carried by every path (stream, direct write, spool): unique, so that a
    # hit written twice by any of them counts once. Null on rows written
    # before keys existed.
    hit_key = models.CharField(max_length=40, null=True, blank=True, unique=True)
    verdict = models.CharField(max_length=20, choices=Verdict.choices, default=Verdict.HUMAN)

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
