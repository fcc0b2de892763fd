from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.dispatch import Signal
from django_countries.fields import CountryField

from onepage.models import Organization

from .countries import gdpr_protects

# Sent by contacts.consent when a contact withdraws consent to open tracking
# (switched to Refused), with `contact`. tracking connects to it to delete the
# opens already recorded (when the organization says so); receivers return
# how many they deleted. A signal so that contacts imports no tracking.
open_tracking_withdrawn = Signal()


class Contact(models.Model):
    class OpenTracking(models.TextChoices):
        ALLOWED = "allowed", "Allowed"
        NOT_ASKED = "not_asked", "Not asked"
        REFUSED = "refused", "Refused"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="contacts")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    company = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    country = CountryField(blank=True)
    # The contact's consent to email open tracking (GDPR); see emails.policy.
    open_tracking = models.CharField(
        "open tracking", max_length=20, choices=OpenTracking.choices, default=OpenTracking.NOT_ASKED
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["first_name", "last_name", "pk"]
        constraints = [
            # Case-insensitive: Ann@x.com and ann@x.com are one person.
            models.UniqueConstraint(
                "organization",
                Lower("email"),
                condition=~models.Q(email=""),
                name="contact_email_unique_per_org",
            ),
        ]
        indexes = [models.Index(fields=["organization", "first_name", "last_name"])]

    def __str__(self) -> str:
        return self.full_name

    @property
    def in_eu_eea_uk(self) -> bool:
        """Whether GDPR (or the UK GDPR) protects the contact, by country."""
        return gdpr_protects(self.country)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class ContactActivity(models.Model):
    """What happened to a contact, for the All tab of its activity timeline."""

    class Kind(models.TextChoices):
        CREATED = "created", "Contact created"
        UPDATED = "updated", "Contact updated"
        # A consent-request email was sent (the answer, if any, is a ConsentRecord).
        CONSENT_ASKED = "consent_asked", "Asked for consent to open tracking"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    # Field names changed by an update, e.g. "email, phone".
    detail = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["contact", "-at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.contact})"


class ConsentRecord(models.Model):
    """One change of a contact's open-tracking preference: the proof of who
    set it, when, how and with which words shown. Written only by
    contacts.consent."""

    class Method(models.TextChoices):
        FORM = "form", "Contact form"
        IMPORT = "import", "Import"
        LINK = "link", "The recipient's own link"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consent_records")
    old_value = models.CharField(max_length=20, choices=Contact.OpenTracking.choices)
    new_value = models.CharField(max_length=20, choices=Contact.OpenTracking.choices)
    # Null with by_recipient: the recipient chose through their own link.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    by_recipient = models.BooleanField(default=False)
    method = models.CharField(max_length=10, choices=Method.choices)
    # The words the person choosing saw, as they were then.
    wording = models.TextField(blank=True)
    # On a withdrawal: the opens deleted with it (None: kept, or none applied).
    opens_deleted = models.PositiveIntegerField(null=True, blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["contact", "-at"], name="consent_contact_idx")]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.old_value} -> {self.new_value}"

    @property
    def who(self) -> str:
        if self.by_recipient:
            return "The recipient"
        return self.actor.display_name if self.actor else "A former user"


class ContactErasure(models.Model):
    """That a contact was erased: who, when, how much. No personal data (no
    name, no address): the contact's id only, which points at nothing once
    it is gone. Written by privacy.erasure (contacts.services.contact_erased)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="contact_erasures")
    contact_id = models.PositiveBigIntegerField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    opens_deleted = models.PositiveIntegerField(default=0)
    recipients_erased = models.PositiveIntegerField(default=0)
    emails_erased = models.PositiveIntegerField(default=0)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["organization", "-at"], name="erasure_org_idx")]

    def __str__(self) -> str:
        return f"Contact {self.contact_id} erased"
