"""Every cell of the tracking policy: plan x Allow open tracking x Track toggle
x the contact's privacy state x where the contact lives x the EU rule x source.

The cells are decided by tracking.policy.decide here; representative cells
then go the full way (composer -> send task -> a real SMTP server) in
test_policy_end_to_end.py, which looks for the pixel in the copies received."""

import itertools
from dataclasses import dataclass

import pytest

from contacts.models import Contact
from contacts.tests.factories import ContactFactory
from emails.models import Email
from emails.tests.factories import EmailConfigurationFactory, MailboxFactory
from onepage.models import Organization
from onepage.tests.factories import MembershipFactory
from tracking.policy import Decision, Reason, decide

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Cell:
    plan: str
    allow_open_tracking: bool
    toggle: bool
    contact_state: str
    country: str  # IE: in the EU, US: outside it
    eu_rule: bool
    source: str

    @property
    def id(self) -> str:
        return "-".join(
            [
                self.plan,
                "allow_on" if self.allow_open_tracking else "allow_off",
                "track_on" if self.toggle else "track_off",
                self.contact_state,
                self.country,
                "eu_rule_on" if self.eu_rule else "eu_rule_off",
                self.source,
            ]
        )

    def expected(self) -> Decision:
        """The product's rules, in the order a user would be told about them."""
        if self.source == Email.Source.CLIENT:
            return Decision(False, Reason.CLIENT)
        if self.plan == Organization.Plan.PROFESSIONAL:
            return Decision(False, Reason.PLAN)
        if not self.allow_open_tracking:
            return Decision(False, Reason.DISABLED)
        if not self.toggle:
            return Decision(False, Reason.TOGGLE_OFF)
        if self.contact_state == Contact.OpenTracking.REFUSED:
            return Decision(False, Reason.CONTACT_REFUSED)
        if self.eu_rule and self.country == "IE" and self.contact_state != Contact.OpenTracking.ALLOWED:
            return Decision(False, Reason.EU_CONSENT)
        return Decision(True)


CELLS = [
    Cell(*values)
    for values in itertools.product(
        Organization.Plan.values,
        (True, False),
        (True, False),
        Contact.OpenTracking.values,
        ("IE", "US"),
        (True, False),
        Email.Source.values,
    )
]


def test_the_matrix_has_every_cell():
    assert len(CELLS) == 2 * 2 * 2 * 3 * 2 * 2 * 2 == len({c.id for c in CELLS})
    # Each reason a user can be shown appears in the grid.
    assert {c.expected().reason for c in CELLS} == {"", *Reason.values} - {Reason.NO_MAILBOX}


@pytest.mark.parametrize("cell", CELLS, ids=[c.id for c in CELLS])
def test_policy_cell(cell: Cell):
    org = Organization.objects.create(name="Cell Co", plan=cell.plan)
    sender = MembershipFactory(organization=org, user__password=None).user
    MailboxFactory(user=sender)
    EmailConfigurationFactory(
        organization=org, allow_open_tracking=cell.allow_open_tracking, track_eu_only_with_consent=cell.eu_rule
    )
    contact = ContactFactory(organization=org, open_tracking=cell.contact_state, country=cell.country)

    overall, (for_contact,) = decide(
        organization=org, sender=sender, contacts=[contact], toggle=cell.toggle, source=cell.source
    )

    assert for_contact == cell.expected()
    assert overall == cell.expected()


@pytest.mark.parametrize("plan", Organization.Plan.values)
def test_no_mailbox_cell(plan):
    org = Organization.objects.create(name="Cell Co", plan=plan)
    sender = MembershipFactory(organization=org, user__password=None).user
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    overall, _ = decide(organization=org, sender=sender, contacts=[ContactFactory(organization=org)])
    assert overall == Decision(False, Reason.PLAN if plan == "professional" else Reason.NO_MAILBOX)
