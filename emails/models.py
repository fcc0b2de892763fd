from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from contacts.models import Contact
from onepage.models import Organization


class Mailbox(models.Model):
    """The account a user sends from (Email Sync, sending side)."""

    class Kind(models.TextChoices):
        SMTP = "smtp", "SMTP server"
        DEVELOPMENT = "development", "Development mailbox"

    class Security(models.TextChoices):
        NONE = "none", "None"
        STARTTLS = "starttls", "STARTTLS"
        SSL = "ssl", "SSL/TLS"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mailbox")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="mailboxes")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.SMTP)
    smtp_host = models.CharField("SMTP host", max_length=255, blank=True)
    smtp_port = models.PositiveIntegerField("SMTP port", default=587)
    security = models.CharField(max_length=10, choices=Security.choices, default=Security.STARTTLS)
    username = models.CharField(max_length=255, blank=True)
    # Fernet token of the password (emails.crypto); never shown back.
    password_encrypted = models.TextField(blank=True)
    from_name = models.CharField(max_length=200, blank=True)
    from_address = models.EmailField(max_length=254)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Receiving side (IMAP sync); no imap_host: not synced.
    imap_host = models.CharField("IMAP host", max_length=255, blank=True)
    imap_port = models.PositiveIntegerField("IMAP port", default=993)
    imap_security = models.CharField("IMAP security", max_length=10, choices=Security.choices, default=Security.SSL)
    imap_username = models.CharField("IMAP user name", max_length=255, blank=True)
    imap_password_encrypted = models.TextField(blank=True)
    # Append a pixel-free copy to Sent when the server files none itself.
    save_sent_copies = models.BooleanField("Save sent copies", default=True)
    # Sync status, and the claim that keeps one mailbox from syncing twice at once.
    sync_claimed_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    sync_error = models.TextField(blank=True)
    sync_failures = models.PositiveSmallIntegerField(default=0)
    next_sync_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.from_address} ({self.get_kind_display()})"

    @property
    def syncs(self) -> bool:
        return bool(self.imap_host)


class MailboxFolder(models.Model):
    """Where the sync of one IMAP folder stands: a UIDVALIDITY change means
    the UIDs seen so far mean nothing any more (a safe resync)."""

    class Role(models.TextChoices):
        INBOX = "inbox", "Inbox"
        SENT = "sent", "Sent"

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="folders")
    role = models.CharField(max_length=10, choices=Role.choices)
    name = models.CharField(max_length=255)
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    uidnext = models.BigIntegerField(default=0)
    highestmodseq = models.BigIntegerField(null=True, blank=True)
    messages = models.PositiveIntegerField(default=0)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["role"]
        constraints = [models.UniqueConstraint(fields=["mailbox", "role"], name="mailbox_folder_role_unique")]

    def __str__(self) -> str:
        return f"{self.mailbox.from_address}: {self.name}"


class NotTrackedReason(models.TextChoices):
    """Why an email, or one recipient's copy, carries no pixel: decided by
    emails.policy and shown by the eye icon."""

    CLIENT = "client", "Sent from your email client: not tracked"
    PLAN = "plan", "Open tracking is a Business plan feature"
    NO_MAILBOX = "no_mailbox", "No mailbox is connected"
    DISABLED = "disabled", "Allow open tracking is off for your organization"
    TOGGLE_OFF = "toggle_off", "Track was switched off for this email"
    CONTACT_REFUSED = "contact_refused", "The contact refused open tracking"
    EU_CONSENT = "eu_consent", "Contacts in the EU/EEA and UK are tracked only when they have allowed it"
    UNKNOWN_RECIPIENT = "unknown_recipient", "Recipients who are not contacts, or of unknown country, are not tracked"
    CONSENT_REQUEST = "consent_request", "A request for consent to open tracking is never tracked"
    ERASED = "erased", "The recipient's data was erased"
    INTERNAL = "internal", "Sent to yourself or a colleague: not tracked"

    @classmethod
    def label_of(cls, value: str) -> str:
        """The words for a stored reason ("" when none or unknown)."""
        try:
            return cls(value).label if value else ""
        except ValueError:
            return ""

    @classmethod
    def in_sentence(cls, value: str) -> str:
        """The words to follow a colon mid-sentence: "Not tracked: the contact…"."""
        label = cls.label_of(value)
        return label[:1].lower() + label[1:]


# What an erased recipient's address becomes (privacy.erasure): not an
# address, so nothing is ever sent to it; the pages show it as it is.
ERASED_ADDRESS = "erased recipient"


class TrackingMode(models.TextChoices):
    """How a recipient's opens are tracked (decided by emails.policy)."""

    IDENTIFIED = "identified", "Identified: each person's opens"
    AGGREGATE = "aggregate", "Aggregate: counted in the email's total only, nobody's name on it"
    OFF = "off", "Off: not tracked"


class EmailConfigurationManager(models.Manager):
    def of(self, organization: Organization) -> "EmailConfiguration":
        """The organization's configuration, created with its defaults on
        first use. Read through the organization's reverse accessor, so a
        request that asks again costs no second query. To change it, see
        emails.configuration (which locks the row)."""
        try:
            return organization.email_configuration
        except EmailConfiguration.DoesNotExist:
            config, _ = self.get_or_create(organization=organization)
            organization.email_configuration = config
            return config


# A bound that keeps the purge's cutoff a date: 99999 months reached before
# the year 1 and failed the purge. Rows stored before the bound may hold more;
# the purge skips them (tracking.retention) and the settings page says so.
MAX_RETENTION_MONTHS = 120
RETENTION_BOUND = f"Enter a number of months from 1 to {MAX_RETENTION_MONTHS}, or 0 to keep recorded opens forever."


class EmailConfiguration(models.Model):
    """The organization's email settings, changed by admins."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="email_configuration")
    # Switched on automatically when the organization's first mailbox is connected.
    allow_open_tracking = models.BooleanField(default=False)
    track_eu_only_with_consent = models.BooleanField(
        "Track contacts in the EU/EEA and UK only when they have allowed it", default=True
    )
    # When a contact refuses tracking: delete the opens recorded before (the
    # default), or keep them. Either way no open is recorded from then on.
    delete_opens_on_withdrawal = models.BooleanField(
        "Delete a contact's recorded opens when they refuse tracking", default=True
    )
    # Under the EU rule: recipients who are not contacts, or contacts of
    # unknown country who have not allowed tracking.
    unknown_recipients = models.CharField(
        "Recipients who are not contacts, or whose country is unknown",
        max_length=10,
        choices=TrackingMode.choices,
        default=TrackingMode.AGGREGATE,
    )
    # Open events older than this are purged (tracking.retention); 0 keeps them.
    open_retention_months = models.PositiveSmallIntegerField(
        "Keep recorded opens for (months)",
        default=12,
        validators=[MaxValueValidator(MAX_RETENTION_MONTHS, RETENTION_BOUND)],
    )
    # A link in the footer of every tracked copy to the recipient's own page
    # (privacy.public), where they refuse or allow tracking.
    preference_link = models.BooleanField("Add a link to refuse tracking in tracked emails", default=False)
    preference_link_text = models.CharField(
        "Words of the link", max_length=200, default="Don't want us to see when you open our emails? Choose here."
    )
    # Fetches by machines (privacy prefetch, scanners, on delivery, repeats,
    # the team's own): off, they are kept apart and shown on hover; on, the
    # reports count them with the opens.
    count_machine_opens = models.BooleanField("Count automatic fetches as opens", default=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EmailConfigurationManager()

    def __str__(self) -> str:
        return f"Email configuration of {self.organization}"


def stale_claims() -> Q:
    """Sends that made no progress for EMAIL_CLAIM_TIMEOUT: their worker died
    (a live one renews the claim after each copy, and waits at most
    SMTP_DATA_TIMEOUT for one). A redelivered task finds the email claimed
    and leaves it alone; the sweep takes these over."""
    cutoff = timezone.now() - timedelta(seconds=settings.EMAIL_CLAIM_TIMEOUT)
    return Q(status=Email.Status.SENDING, claimed_at__lt=cutoff)


def uncertain_delivery() -> Q:
    """Copies whose delivery is uncertain: handed over whole, the server's
    reply never came (or their worker died with them in flight), so they may
    have arrived. Never sent again by themselves; the rep may resend one."""
    return Q(delivery_uncertain_at__isnull=False, delivered_at__isnull=True)


def retryable() -> Q:
    """The one retry rule: a failed email, or one whose sending was abandoned
    by a dead worker. Used by the retry itself (a conditional UPDATE) and,
    as an annotation, by the page that offers the Retry button."""
    return Q(status=Email.Status.FAILED) | stale_claims()


class OpenCounters(models.Model):
    """The open counters of an email, or of one recipient's copy: a person's
    opens (open_count, first and last: verdicts human and proxy) and the
    other fetches apart (how many, and which kinds: tracking.models.
    AUTOMATIC_BITS). Kept equal to the OpenEvents by tracking, written only
    through emails.counters."""

    open_count = models.PositiveIntegerField(default=0)
    first_opened_at = models.DateTimeField(null=True, blank=True)
    last_opened_at = models.DateTimeField(null=True, blank=True)
    automatic_count = models.PositiveIntegerField(default=0)
    automatic_kinds = models.PositiveSmallIntegerField(default=0)

    class Meta:
        abstract = True


class Email(OpenCounters):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        CRM = "crm", "Sent from OnePage"
        CLIENT = "client", "Sent from your email client"

    class Direction(models.TextChoices):
        OUTGOING = "outgoing", "Sent"
        INCOMING = "incoming", "Received"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="emails")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sent_emails")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.CRM)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    # Generated from body_text when sent from the composer; never holds a pixel.
    body_html = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When a send task last claimed it (status SENDING). A claim that old was
    # abandoned by a worker that died: the email may then be retried.
    claimed_at = models.DateTimeField(null=True, blank=True)
    # While queued: when it is due to be sent (now, or after the backoff of
    # a transient failure). Queued well past it, its task was lost (Redis
    # lost it, or it could not be published): the sweep queues it again.
    send_after = models.DateTimeField(default=timezone.now)
    message_id = models.CharField(max_length=255, blank=True)
    # Imported by the IMAP sync: incoming replies, and the threading headers.
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.OUTGOING)
    from_address = models.EmailField(max_length=254, blank=True)
    in_reply_to = models.CharField(max_length=255, blank=True)
    reply_to_email = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replies")
    # When a recipient first replied (a reply is a strong human signal).
    replied_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    # Decided by emails.policy at send time and stored; see tracking/policy.py.
    track_opens = models.BooleanField(default=False)
    not_tracked_reason = models.CharField(max_length=30, blank=True, choices=NotTrackedReason.choices)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The Open tracking folder: opened emails by latest open.
            models.Index(
                fields=["organization", "-last_opened_at"],
                condition=Q(last_opened_at__isnull=False),
                name="email_open_tracking_idx",
            ),
            # The activity feed's "Mine" (alerts.feed): one sender's opened emails by latest open.
            models.Index(
                fields=["organization", "sender", "-last_opened_at"],
                condition=Q(last_opened_at__isnull=False),
                name="email_sender_open_idx",
            ),
            models.Index(fields=["organization", "sender", "-created_at"], name="email_sender_idx"),
            models.Index(fields=["organization", "status", "-created_at"], name="email_status_idx"),
            # The Sent folder, newest sent first: everyone's, and one sender's.
            models.Index(fields=["organization", "-sent_at"], condition=Q(status="sent"), name="email_sent_idx"),
            models.Index(
                fields=["organization", "sender", "-sent_at"], condition=Q(status="sent"), name="email_sender_sent_idx"
            ),
        ]
        constraints = [
            # One Email per message: a message seen in INBOX and Sent, synced
            # twice, or the Sent copy of a CRM email is stored once.
            models.UniqueConstraint(
                fields=["organization", "message_id"], condition=~Q(message_id=""), name="email_message_id_unique"
            )
        ]

    def __str__(self) -> str:
        return self.subject


class EmailRecipient(OpenCounters):
    class Kind(models.TextChoices):
        TO = "to", "To"
        CC = "cc", "Cc"
        BCC = "bcc", "Bcc"
        # The contact who wrote an incoming email (a reply).
        FROM = "from", "From"

    email = models.ForeignKey(Email, on_delete=models.CASCADE, related_name="recipients")
    kind = models.CharField(max_length=4, choices=Kind.choices, default=Kind.TO)
    address = models.EmailField(max_length=254)
    # Indexed by recipient_contact_idx, which leads with it: one index less
    # for the recorder's counter updates to maintain.
    contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="email_recipients", db_index=False
    )
    # Per recipient: a contact who refused tracking gets a copy without a pixel.
    track_opens = models.BooleanField(default=False)
    # Tracked, but in aggregate only (TrackingMode.AGGREGATE): its opens count
    # in the email's total and are linked to no recipient row.
    aggregate_only = models.BooleanField(default=False)
    not_tracked_reason = models.CharField(max_length=30, blank=True, choices=NotTrackedReason.choices)
    # Set once this recipient's copy was handed to the SMTP server, so that a
    # retry after a partial failure never sends it twice.
    delivered_at = models.DateTimeField(null=True, blank=True)
    # Set when this recipient's copy is handed to the SMTP server, cleared
    # when the server refuses it: set without delivered_at, the copy is in
    # flight, or was when its worker died.
    attempted_at = models.DateTimeField(null=True, blank=True)
    # The copy was handed over whole but the server's reply never came (or
    # its worker died with it in flight): it may have been delivered, so it
    # is never sent again automatically; the rep may resend it.
    delivery_uncertain_at = models.DateTimeField(null=True, blank=True)
    # This recipient replied (the IMAP sync found the reply).
    replied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["contact", "email"], name="recipient_contact_idx"),
            # A contact's latest open by name (the contacts list's Last opened, and its sort).
            models.Index(
                fields=["contact", "-last_opened_at"],
                condition=Q(last_opened_at__isnull=False),
                name="recipient_contact_open_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.address}"

    @property
    def delivery_uncertain(self) -> bool:
        """See uncertain_delivery."""
        return self.delivery_uncertain_at is not None and self.delivered_at is None

    @property
    def erased(self) -> bool:
        return self.address == ERASED_ADDRESS

    @property
    def tracking_mode(self) -> str:
        if not self.track_opens:
            return TrackingMode.OFF
        return TrackingMode.AGGREGATE if self.aggregate_only else TrackingMode.IDENTIFIED


# The outreach rollup (emails.rollup keeps it), in its own module for its many columns.
from .outreach_week import OutreachWeek  # noqa: E402, F401
