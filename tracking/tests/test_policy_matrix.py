"""Every cell of the tracking policy: plan x Allow open tracking x Track toggle
x the contact's privacy state x where the contact lives x the EU rule x source.

Each cell is checked twice: by emails.policy.decide, then the full way a
user meets it (the composer's POST, or a stored client email, then the send
task delivering to a real SMTP server), looking for the pixel in the copy the
server received."""

import itertools
from dataclasses import dataclass

import pytest
from django.urls import reverse

from contacts.models import Contact
from contacts.tests.factories import ContactFactory
from emails.models import Email, EmailConfiguration, EmailRecipient, NotTrackedReason
from emails.pixels import pixel_url
from emails.policy import Decision, decide
from emails.tasks import send_email
from emails.tests.factories import (
    EmailConfigurationFactory,
    EmailFactory,
    EmailRecipientFactory,
    MailboxFactory,
    SMTPMailboxFactory,
)
from onepage.models import Organization
from onepage.tests.factories import MembershipFactory

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
            return Decision(False, NotTrackedReason.CLIENT)
        if self.plan == Organization.Plan.PROFESSIONAL:
            return Decision(False, NotTrackedReason.PLAN)
        if not self.allow_open_tracking:
            return Decision(False, NotTrackedReason.DISABLED)
        if not self.toggle:
            return Decision(False, NotTrackedReason.TOGGLE_OFF)
        if self.contact_state == Contact.OpenTracking.REFUSED:
            return Decision(False, NotTrackedReason.CONTACT_REFUSED)
        if self.eu_rule and self.country == "IE" and self.contact_state != Contact.OpenTracking.ALLOWED:
            return Decision(False, NotTrackedReason.EU_CONSENT)
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
    # Each reason a user can be shown appears in the grid (recipients who are
    # no contact or of unknown country: tracking/tests/test_tracking_modes.py;
    # not the policy's: a consent request, privacy/tests/test_consent_request.py,
    # an erased recipient, privacy/tests/test_erasure.py; copies to
    # the team itself: tracking/tests/test_self_opens.py).
    assert {c.expected().reason for c in CELLS} == {"", *NotTrackedReason.values} - {
        NotTrackedReason.NO_MAILBOX,
        NotTrackedReason.UNKNOWN_RECIPIENT,
        NotTrackedReason.CONSENT_REQUEST,
        NotTrackedReason.ERASED,
        NotTrackedReason.INTERNAL,
    }


@pytest.mark.parametrize("cell", CELLS, ids=[c.id for c in CELLS])
def test_policy_cell(cell: Cell):
    org = Organization.objects.create(name="Cell Co", plan=cell.plan)
    sender = MembershipFactory(organization=org, user__password=None).user
    MailboxFactory(user=sender)
    EmailConfigurationFactory(
        organization=org, allow_open_tracking=cell.allow_open_tracking, track_eu_only_with_consent=cell.eu_rule
    )
    contact = ContactFactory(organization=org, open_tracking=cell.contact_state, country=cell.country)

    config = EmailConfiguration.objects.of(org)
    overall, (for_contact,) = decide(
        organization=org, sender=sender, contacts=[contact], config=config, toggle=cell.toggle, source=cell.source
    )

    assert for_contact == cell.expected()
    assert overall == cell.expected()


@pytest.mark.parametrize("plan", Organization.Plan.values)
def test_no_mailbox_cell(plan):
    org = Organization.objects.create(name="Cell Co", plan=plan)
    sender = MembershipFactory(organization=org, user__password=None).user
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    config = EmailConfiguration.objects.of(org)
    overall, _ = decide(organization=org, sender=sender, contacts=[ContactFactory(organization=org)], config=config)
    assert overall == Decision(False, NotTrackedReason.PLAN if plan == "professional" else NotTrackedReason.NO_MAILBOX)


# --- The full way: composer or stored client email -> send task -> SMTP ------------


def _setup(cell: Cell, smtp_server) -> tuple[Organization, Contact]:
    org = Organization.objects.create(name="Cell Co", plan=cell.plan)
    # No usable password: hashing one per cell would dominate the run.
    sender = MembershipFactory(organization=org, user__password=None, user__username="sender").user
    SMTPMailboxFactory(user=sender, server=smtp_server)
    EmailConfigurationFactory(
        organization=org, allow_open_tracking=cell.allow_open_tracking, track_eu_only_with_consent=cell.eu_rule
    )
    contact = ContactFactory(
        organization=org, open_tracking=cell.contact_state, country=cell.country, email="lead@client.example"
    )
    return org, contact


def _compose(client, django_capture_on_commit_callbacks, *, to: str, track: bool) -> Email:
    data = {"to": to, "subject": "Our proposal", "body": "Hello,\n\nHere it is."}
    if track:
        # Where the toggle is disabled or not offered, this is a crafted POST.
        data["track"] = "on"
    # The task is run below, by hand: in the PostgreSQL + Redis run it would
    # otherwise wait for a worker.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("emails:compose"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert len(callbacks) == 1
    return Email.objects.latest("pk")


def _delivered_copy(email: Email, smtp_server):
    send_email.apply(args=[email.pk])
    email.refresh_from_db()
    assert email.status == Email.Status.SENT, email.error
    (received,) = smtp_server.received
    return received


CRM_CELLS = [c for c in CELLS if c.source == Email.Source.CRM]
CLIENT_CELLS = [c for c in CELLS if c.source == Email.Source.CLIENT]


@pytest.mark.parametrize("cell", CRM_CELLS, ids=[c.id for c in CRM_CELLS])
def test_cell_through_the_composer_and_the_send_task(cell, client, smtp_server, django_capture_on_commit_callbacks):
    org, contact = _setup(cell, smtp_server)
    client.force_login(org.memberships.get().user)

    email = _compose(client, django_capture_on_commit_callbacks, to=contact.email, track=cell.toggle)
    received = _delivered_copy(email, smtp_server)

    expected = cell.expected()
    recipient = email.recipients.get()
    assert received.rcpt_tos == [contact.email]
    assert (pixel_url(recipient.pk) in received.part("text/html")) is expected.track
    assert "/o/" not in received.part("text/plain")
    assert (email.track_opens, email.not_tracked_reason) == (expected.track, expected.reason)
    assert (recipient.track_opens, recipient.not_tracked_reason) == (expected.track, expected.reason)


@pytest.mark.parametrize("cell", CLIENT_CELLS, ids=[c.id for c in CLIENT_CELLS])
def test_client_cell_through_the_send_task(cell, smtp_server):
    """A client email never reaches the composer; even a stored one that claims
    to be tracked goes out without a pixel when the send task handles it."""
    org, contact = _setup(cell, smtp_server)
    email = EmailFactory(
        organization=org,
        sender=org.memberships.get().user,
        source=Email.Source.CLIENT,
        status=Email.Status.QUEUED,
        sent_at=None,
        track_opens=True,
    )
    recipient = EmailRecipientFactory(email=email, contact=contact, address=contact.email, track_opens=True)

    received = _delivered_copy(email, smtp_server)

    assert "/o/" not in received.part("text/html")
    assert pixel_url(recipient.pk) not in received.content.decode()
    recipient.refresh_from_db()
    assert (email.track_opens, email.not_tracked_reason) == (False, NotTrackedReason.CLIENT)
    assert (recipient.track_opens, recipient.not_tracked_reason) == (False, NotTrackedReason.CLIENT)


def test_refused_contact_gets_a_copy_without_pixel_while_the_others_are_tracked(
    client, smtp_server, django_capture_on_commit_callbacks
):
    cell = Cell("business", True, True, Contact.OpenTracking.ALLOWED, "US", True, "crm")
    org, allowed = _setup(cell, smtp_server)
    refused = ContactFactory(organization=org, email="no-tracking@client.example", open_tracking="refused")
    eu_not_asked = ContactFactory(organization=org, email="eu@client.example", country="FR")
    client.force_login(org.memberships.get().user)

    email = _compose(
        client,
        django_capture_on_commit_callbacks,
        to=f"{allowed.email}, {refused.email}, {eu_not_asked.email}, stranger@elsewhere.example",
        track=True,
    )
    send_email.apply(args=[email.pk])

    copies = {r.rcpt_tos[0]: r.part("text/html") for r in smtp_server.received}
    recipients = {r.address: r for r in email.recipients.all()}
    tracked = {address for address, html in copies.items() if pixel_url(recipients[address].pk) in html}
    assert tracked == {allowed.email, "stranger@elsewhere.example"}
    assert all(html.count("/o/") <= 1 for html in copies.values())
    assert recipients[refused.email].not_tracked_reason == NotTrackedReason.CONTACT_REFUSED
    assert recipients[eu_not_asked.email].not_tracked_reason == NotTrackedReason.EU_CONSENT
    email.refresh_from_db()
    assert email.track_opens is True


def test_contact_refusing_between_compose_and_send_gets_no_pixel(
    client, smtp_server, django_capture_on_commit_callbacks
):
    cell = Cell("business", True, True, Contact.OpenTracking.ALLOWED, "US", True, "crm")
    org, contact = _setup(cell, smtp_server)
    client.force_login(org.memberships.get().user)
    email = _compose(client, django_capture_on_commit_callbacks, to=contact.email, track=True)
    assert EmailRecipient.objects.get(email=email).track_opens

    Contact.objects.filter(pk=contact.pk).update(open_tracking=Contact.OpenTracking.REFUSED)
    received = _delivered_copy(email, smtp_server)

    assert "/o/" not in received.part("text/html")
    assert email.not_tracked_reason == NotTrackedReason.CONTACT_REFUSED


# --- What the composer shows, per sender-level cell ---------------------------------


@pytest.mark.parametrize(
    ("plan", "allow", "shows"),
    [
        ("business", True, "enabled"),
        ("business", False, "disabled"),
        ("professional", True, "upgrade"),
        ("professional", False, "upgrade"),
    ],
    ids=["business-allow_on", "business-allow_off", "professional-allow_on", "professional-allow_off"],
)
def test_composer_track_toggle(client, smtp_server, plan, allow, shows):
    cell = Cell(plan, allow, True, Contact.OpenTracking.ALLOWED, "US", True, "crm")
    org, contact = _setup(cell, smtp_server)
    client.force_login(org.memberships.get().user)
    content = client.get(reverse("emails:compose"), {"contact": contact.pk}).content.decode()
    toggle = 'type="checkbox" role="switch" name="track"'
    if shows == "enabled":
        assert f'{toggle} id="id_track" checked>' in content
    elif shows == "disabled":
        assert f'{toggle} id="id_track" disabled aria-describedby="track-line">' in content
        assert "Allow open tracking is off for your organization" in content
    else:
        assert toggle not in content
        assert "Upgrade to Business to track opens" in content
