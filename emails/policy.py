"""Should this email be tracked? The one place that decides.

The composer asks it to show the Track toggle, the send task asks it again at
send time (it may only switch tracking off, never on), and the recording
pipeline asks `may_record_open` before counting an open. Nothing else
re-implements these rules: plan, mailbox, Allow open tracking, the toggle,
the contact's privacy state, the EU rule and the email's source.

Callers pass the configuration they loaded (`EmailConfiguration.objects.of`),
so a request reads it once.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from contacts.countries import gdpr_protects
from contacts.models import Contact
from onepage.models import Organization, User

from .models import Email, EmailConfiguration, EmailRecipient, Mailbox, NotTrackedReason, TrackingMode


@dataclass(frozen=True)
class Decision:
    track: bool
    reason: str = ""
    # Tracked in aggregate only: counted in the email's total, nobody's name on it.
    aggregate: bool = False

    @property
    def message(self) -> str:
        return NotTrackedReason.label_of(self.reason)

    @property
    def in_sentence(self) -> str:
        return NotTrackedReason.in_sentence(self.reason)


TRACK = Decision(track=True)
AGGREGATE = Decision(track=True, aggregate=True)


class Decisions(NamedTuple):
    """The email's decision and the final one of each of its recipients, in
    the order given: a recipient is tracked exactly when its decision says so."""

    email: Decision
    recipients: list[Decision]


# The reasons sender_decision gives: decided for the email as a whole, before
# any recipient (the composer's preview says them once, not per recipient).
SENDER_REASONS = frozenset(
    {
        NotTrackedReason.CLIENT,
        NotTrackedReason.PLAN,
        NotTrackedReason.NO_MAILBOX,
        NotTrackedReason.DISABLED,
        NotTrackedReason.TOGGLE_OFF,
    }
)


def sender_decision(
    *,
    organization: Organization,
    sender: User,
    config: EmailConfiguration,
    toggle: bool = True,
    source: str = Email.Source.CRM,
) -> Decision:
    """The checks that hold for the whole email, before any recipient."""
    if source != Email.Source.CRM:
        return Decision(False, NotTrackedReason.CLIENT)
    if not organization.features.open_tracking:
        return Decision(False, NotTrackedReason.PLAN)
    if not Mailbox.objects.filter(user=sender, organization=organization).exists():
        return Decision(False, NotTrackedReason.NO_MAILBOX)
    if not config.allow_open_tracking:
        return Decision(False, NotTrackedReason.DISABLED)
    if not toggle:
        return Decision(False, NotTrackedReason.TOGGLE_OFF)
    return TRACK


def contact_decision(*, contact: Contact | None, config: EmailConfiguration) -> Decision:
    """The recipient's own privacy state. Under the EU rule, an address that
    is no contact, or a contact of unknown country who has not allowed it,
    gets what the organization set for them (aggregate by default)."""
    if contact is not None and contact.open_tracking == Contact.OpenTracking.REFUSED:
        return Decision(False, NotTrackedReason.CONTACT_REFUSED)
    if not config.track_eu_only_with_consent:
        return TRACK
    allowed = contact is not None and contact.open_tracking == Contact.OpenTracking.ALLOWED
    if contact is None:
        return _unknown_recipient(config)
    # Read once: the field builds a new Country at every read (5 us, on each
    # recipient of the recorder's batches).
    country = contact.country
    if not country and not allowed:
        return _unknown_recipient(config)
    if gdpr_protects(country) and not allowed:
        return Decision(False, NotTrackedReason.EU_CONSENT)
    return TRACK


def _unknown_recipient(config: EmailConfiguration) -> Decision:
    if config.unknown_recipients == TrackingMode.IDENTIFIED:
        return TRACK
    if config.unknown_recipients == TrackingMode.OFF:
        return Decision(False, NotTrackedReason.UNKNOWN_RECIPIENT)
    return AGGREGATE


def internal_addresses(organization: Organization) -> set[str]:
    """The addresses of the organization's own people (its users' and their
    mailboxes'), lowercased, in one query: a copy to one of them is the team
    reading its own mail, never a prospect's open."""
    users = User.objects.filter(membership__organization=organization).exclude(email="").values_list("email")
    boxes = Mailbox.objects.filter(organization=organization).values_list("from_address")
    return {address.lower() for (address,) in users.union(boxes)}


INTERNAL = Decision(False, NotTrackedReason.INTERNAL)


def decide(
    *,
    organization: Organization,
    sender: User,
    contacts: Sequence[Contact | None],
    config: EmailConfiguration,
    toggle: bool = True,
    source: str = Email.Source.CRM,
    addresses: Sequence[str] | None = None,
) -> Decisions:
    """The email's decision and one final decision per recipient.

    When the email as a whole is not tracked, every recipient carries its
    reason. Otherwise each recipient is decided by its contact; the email is
    tracked when at least one recipient is, and when none is, its reason is
    the first recipient's. With `addresses` (one per contact), a copy to the
    sender or any user of the organization (Bcc to self included) gets no
    pixel (NotTrackedReason.INTERNAL)."""
    overall = sender_decision(organization=organization, sender=sender, toggle=toggle, source=source, config=config)
    if not overall.track:
        return Decisions(overall, [overall] * len(contacts))
    internal = internal_addresses(organization) | {sender.email.lower()} if addresses is not None else set()
    per_recipient = [
        INTERNAL
        if addresses is not None and addresses[n].lower() in internal
        else contact_decision(contact=c, config=config)
        for n, c in enumerate(contacts)
    ]
    if per_recipient and not any(d.track for d in per_recipient):
        return Decisions(per_recipient[0], per_recipient)
    return Decisions(overall, per_recipient)


def open_mode(*, email: Email, organization: Organization, recipient: EmailRecipient | None = None) -> str | None:
    """How an open arriving now is recorded: TrackingMode.IDENTIFIED (linked
    to its recipient), TrackingMode.AGGREGATE (in the email's total only), or
    None (not at all).

    Opens count only for tracked CRM emails (and tracked recipients) of an
    organization whose plan includes open tracking: after a downgrade, opens
    that arrive are not recorded. What was recorded before stays.

    Decided again at open time with the contact's current choice: a contact
    who refused since (or, under the EU rule, no longer allows it) stops the
    recording of every email already sent to them, and a recipient may go
    from identified to aggregate, never back. Pass recipients loaded with
    their contact (and the organization with its configuration) so a batch
    costs no query per open."""
    if recipient is not None and not recipient.track_opens:
        return None
    if not (email.track_opens and email.source == Email.Source.CRM and organization.features.open_tracking):
        return None
    if recipient is None:
        return TrackingMode.IDENTIFIED
    decision = contact_decision(contact=recipient.contact, config=_configuration(organization))
    if not decision.track:
        return None
    return TrackingMode.AGGREGATE if decision.aggregate or recipient.aggregate_only else TrackingMode.IDENTIFIED


def _configuration(organization: Organization) -> EmailConfiguration:
    """The organization's configuration as loaded with it, or its defaults
    when it has none yet: asking at open time must neither query nor write."""
    try:
        return organization.email_configuration
    except EmailConfiguration.DoesNotExist:
        return EmailConfiguration(organization=organization)


def may_record_open(*, email: Email, organization: Organization, recipient: EmailRecipient | None = None) -> bool:
    """Whether an open arriving now is recorded at all; see open_mode."""
    return open_mode(email=email, organization=organization, recipient=recipient) is not None
