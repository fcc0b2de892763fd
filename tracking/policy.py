"""Should this email be tracked? The one place that decides.

The composer asks it to show the Track toggle, the send task asks it again at
send time (it may only switch tracking off, never on), and the recording
pipeline asks `may_record_open` before counting an open. Nothing else
re-implements these rules: plan, mailbox, Allow open tracking, the toggle,
the contact's privacy state, the EU rule and the email's source.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import models

from contacts.countries import EU_EEA_UK
from contacts.models import Contact
from emails.models import Email, EmailConfiguration, EmailRecipient, Mailbox
from onepage.features import features_for
from onepage.models import Organization, User


class Reason(models.TextChoices):
    CLIENT = "client", "Sent from your email client: not tracked"
    PLAN = "plan", "Open tracking is a Business plan feature"
    NO_MAILBOX = "no_mailbox", "No mailbox is connected"
    DISABLED = "disabled", "Allow open tracking is off for your organization"
    TOGGLE_OFF = "toggle_off", "Track was switched off for this email"
    CONTACT_REFUSED = "contact_refused", "The contact refused open tracking"
    EU_CONSENT = "eu_consent", "Contacts in the EU/EEA and UK are tracked only when they have allowed it"


def reason_label(reason: str) -> str:
    """The words for a stored not_tracked_reason ("" when none or unknown)."""
    try:
        return Reason(reason).label if reason else ""
    except ValueError:
        return ""


@dataclass(frozen=True)
class Decision:
    track: bool
    reason: str = ""

    @property
    def message(self) -> str:
        return reason_label(self.reason)


TRACK = Decision(track=True)


def email_configuration(organization: Organization) -> EmailConfiguration:
    """The organization's configuration as stored now, created with its
    defaults on first use. Views pass `request.email_config` instead (loaded
    once per request by the middleware) as `config=`."""
    config, _ = EmailConfiguration.objects.get_or_create(organization=organization)
    return config


def sender_decision(
    *,
    organization: Organization,
    sender: User,
    toggle: bool = True,
    source: str = Email.Source.CRM,
    config: EmailConfiguration | None = None,
) -> Decision:
    """The checks that hold for the whole email, before any recipient.

    Pass `config` (e.g. `request.email_config`) to reuse an already loaded
    configuration."""
    if source != Email.Source.CRM:
        return Decision(False, Reason.CLIENT)
    if not features_for(organization).open_tracking:
        return Decision(False, Reason.PLAN)
    if not Mailbox.objects.filter(user=sender, organization=organization).exists():
        return Decision(False, Reason.NO_MAILBOX)
    config = config or email_configuration(organization)
    if not config.allow_open_tracking:
        return Decision(False, Reason.DISABLED)
    if not toggle:
        return Decision(False, Reason.TOGGLE_OFF)
    return TRACK


def contact_decision(*, contact: Contact | None, config: EmailConfiguration) -> Decision:
    """The recipient's own privacy state. An address that is no contact has
    no state to honour."""
    if contact is None:
        return TRACK
    if contact.open_tracking == Contact.OpenTracking.REFUSED:
        return Decision(False, Reason.CONTACT_REFUSED)
    if (
        config.track_eu_only_with_consent
        and contact.country.code in EU_EEA_UK
        and contact.open_tracking != Contact.OpenTracking.ALLOWED
    ):
        return Decision(False, Reason.EU_CONSENT)
    return TRACK


def decide(
    *,
    organization: Organization,
    sender: User,
    contacts: Sequence[Contact | None],
    toggle: bool = True,
    source: str = Email.Source.CRM,
    config: EmailConfiguration | None = None,
) -> tuple[Decision, list[Decision]]:
    """The email's decision and one per recipient, in the order given.

    The email is tracked when at least one recipient is; when none is, its
    reason is the first recipient's."""
    config = config or email_configuration(organization)
    overall = sender_decision(organization=organization, sender=sender, toggle=toggle, source=source, config=config)
    if not overall.track:
        return overall, [overall] * len(contacts)
    per_recipient = [contact_decision(contact=c, config=config) for c in contacts]
    if per_recipient and not any(d.track for d in per_recipient):
        return per_recipient[0], per_recipient
    return overall, per_recipient


def may_record_open(*, email: Email, organization: Organization, recipient: EmailRecipient | None = None) -> bool:
    """Opens count only for tracked CRM emails (and tracked recipients) of an
    organization whose plan includes open tracking: after a downgrade, opens
    that arrive are not recorded. What was recorded before stays."""
    if recipient is not None and not recipient.track_opens:
        return False
    return email.track_opens and email.source == Email.Source.CRM and features_for(organization).open_tracking
