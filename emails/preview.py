"""What the composer promises before sending: for each address typed, whether
its copy will be tracked by name, counted in the email's total only, or not
tracked, why, and what would change it. It asks emails.policy, the one place
that decides (the send asks again), with the contacts the addresses belong
to; it adds the words and the fixes, never a rule of its own."""

from collections.abc import Sequence
from dataclasses import dataclass

from contacts.access import contacts_by_address
from contacts.models import Contact
from onepage.models import Organization, User

from . import policy
from .models import EmailConfiguration, NotTrackedReason, TrackingMode
from .tracking_words import TOTAL_ONLY

MODE_LABELS = {
    TrackingMode.IDENTIFIED: "By name",
    TrackingMode.AGGREGATE: "Total only",
    TrackingMode.OFF: "Not tracked",
}
RULE = "your organization's EU/EEA/UK rule"


class Fix:
    """What the rep (or an admin) can do about a recipient's tracking."""

    ADD_CONTACT = "add_contact"
    SET_COUNTRY = "set_country"
    ASK_CONSENT = "ask_consent"
    CHANGE_RULE = "change_rule"  # admins only


@dataclass(frozen=True)
class RecipientPreview:
    address: str
    contact: Contact | None
    decision: policy.Decision
    # The viewer is an admin: the organization's rule is theirs to change.
    admin: bool = False

    @property
    def mode(self) -> str:
        if not self.decision.track:
            return TrackingMode.OFF
        return TrackingMode.AGGREGATE if self.decision.aggregate else TrackingMode.IDENTIFIED

    @property
    def mode_label(self) -> str:
        return MODE_LABELS[self.mode]

    @property
    def name(self) -> str:
        return self.contact.full_name if self.contact is not None else self.address

    @property
    def _unknown(self) -> str:
        """Why the EU rule does not know where the recipient is ("" if it does)."""
        if self.contact is None:
            return "Not a contact yet"
        if not self.contact.country:
            return "No country on the contact"
        return ""

    @property
    def words(self) -> str:
        """Why, in words ("" when tracked by name)."""
        reason = self.decision.reason
        if self.mode == TrackingMode.IDENTIFIED:
            return ""
        if self.mode == TrackingMode.AGGREGATE:
            return f"{self._unknown}: {TOTAL_ONLY[0].lower()}{TOTAL_ONLY[1:]}, under {RULE}."
        if reason == NotTrackedReason.UNKNOWN_RECIPIENT:
            return f"{self._unknown}: not tracked, under {RULE}."
        if reason == NotTrackedReason.EU_CONSENT:
            return f"In {self.contact.country.name}: not tracked until they allow it, under {RULE}."
        if reason == NotTrackedReason.CONTACT_REFUSED:
            return "Refused open tracking: never tracked."
        if reason == NotTrackedReason.INTERNAL:
            return "You or a colleague: never tracked."
        return f"{self.decision.message}."

    @property
    def fixes(self) -> list[str]:
        reason = self.decision.reason
        fixable = ("", NotTrackedReason.UNKNOWN_RECIPIENT, NotTrackedReason.EU_CONSENT)
        if self.mode == TrackingMode.IDENTIFIED or reason not in fixable:
            return []
        if self.contact is None:
            fixes = [Fix.ADD_CONTACT]
        elif not self.contact.country:
            fixes = [Fix.SET_COUNTRY, Fix.ASK_CONSENT]
        else:
            fixes = [Fix.ASK_CONSENT]
        return [*fixes, Fix.CHANGE_RULE] if self.admin else fixes


@dataclass(frozen=True)
class Preview:
    email: policy.Decision
    recipients: list[RecipientPreview]

    @property
    def for_the_whole_email(self) -> bool:
        """Decided for the email as a whole (plan, mailbox, Allow open
        tracking, the toggle): every recipient shares that reason."""
        return not self.email.track and self.email.reason in policy.SENDER_REASONS

    @property
    def line(self) -> str:
        """The Track line: what happens to the email as a whole."""
        if self.for_the_whole_email:
            if self.email.reason == NotTrackedReason.TOGGLE_OFF:
                return "Off: this email is sent without tracking."
            return self.email.message
        if not self.recipients:
            return "Find out when and how often it is opened."
        modes = [r.mode for r in self.recipients]
        if len(modes) == 1:
            return {
                TrackingMode.IDENTIFIED: "Tracked by name: you see when and how often it is opened.",
                TrackingMode.AGGREGATE: f"{TOTAL_ONLY}.",
            }.get(modes[0], "Not tracked.")
        by_name = modes.count(TrackingMode.IDENTIFIED)
        if by_name == len(modes):
            return f"All {len(modes)} recipients by name."
        parts = [f"{by_name} of {len(modes)} recipients by name"]
        if aggregate := modes.count(TrackingMode.AGGREGATE):
            parts.append(f"{aggregate} in the email's total only")
        if off := modes.count(TrackingMode.OFF):
            parts.append(f"{off} not tracked")
        return " · ".join(parts)


def preview(
    *,
    organization: Organization,
    sender: User,
    config: EmailConfiguration,
    addresses: Sequence[str],
    toggle: bool = True,
    admin: bool = False,
) -> Preview:
    contacts = contacts_by_address(organization, addresses)
    matched = [contacts.get(a.lower()) for a in addresses]
    decisions = policy.decide(
        organization=organization,
        sender=sender,
        contacts=matched,
        config=config,
        toggle=toggle,
        addresses=list(addresses),
    )
    return Preview(
        email=decisions.email,
        recipients=[
            RecipientPreview(address=a, contact=c, decision=d, admin=admin)
            for a, c, d in zip(addresses, matched, decisions.recipients, strict=True)
        ],
    )


def country_help(organization: Organization) -> str:
    """What the contact form says under Country while the EU rule is on: what
    a missing country means for the tracking of emails to the contact
    (contacts.forms.provide_country_help)."""
    config = EmailConfiguration.objects.of(organization)
    if not config.track_eu_only_with_consent:
        return ""
    unknown = {
        TrackingMode.AGGREGATE: "their opens are counted in the email's total only, with nobody's name on them",
        TrackingMode.OFF: "emails to them are not tracked",
        TrackingMode.IDENTIFIED: "their opens are tracked by name",
    }[config.unknown_recipients]
    return (
        f"Under {RULE}: without a country, {unknown}, unless they allowed open tracking. "
        "In the EU/EEA or the UK, they are tracked only once they allow it."
    )
