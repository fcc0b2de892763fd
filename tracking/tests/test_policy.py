"""emails.policy, rule by rule. The full grid of cells is in test_policy_matrix.py."""

import pytest

from contacts.models import Contact
from contacts.tests.factories import ContactFactory
from emails.models import Email, EmailConfiguration, NotTrackedReason
from emails.policy import Decision, decide, may_record_open, sender_decision
from emails.tests.factories import EmailConfigurationFactory, EmailFactory, EmailRecipientFactory, MailboxFactory
from onepage.models import Organization
from onepage.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _config(org):
    # Read afresh, as a new request would.
    return EmailConfiguration.objects.of(Organization.objects.get(pk=org.pk))


def _decide(org, sender, *contacts, **kwargs):
    return decide(organization=org, sender=sender, contacts=list(contacts), config=_config(org), **kwargs)


def _sender_decision(org, sender, **kwargs):
    return sender_decision(organization=org, sender=sender, config=_config(org), **kwargs)


def test_business_sender_with_mailbox_and_tracking_allowed_tracks(org, sender):
    overall, per_recipient = _decide(org, sender, ContactFactory(organization=org, country="US"))
    assert overall == Decision(True)
    assert per_recipient == [Decision(True)]


def test_email_from_the_mail_client_is_never_tracked(org, sender):
    overall, per_recipient = _decide(org, sender, ContactFactory(organization=org), source=Email.Source.CLIENT)
    assert overall == Decision(False, NotTrackedReason.CLIENT)
    assert overall.message == "Sent from your email client: not tracked"
    assert per_recipient == [overall]


def test_professional_plan_tracks_nothing(org, sender):
    org.plan = Organization.Plan.PROFESSIONAL
    overall, _ = _decide(org, sender, ContactFactory(organization=org))
    assert overall == Decision(False, NotTrackedReason.PLAN)


def test_sender_without_mailbox_is_not_tracked(org, admin_user, sender):
    overall, _ = _decide(org, admin_user, ContactFactory(organization=org))
    assert overall == Decision(False, NotTrackedReason.NO_MAILBOX)


def test_a_mailbox_in_another_organization_does_not_count(org, other_org):
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    mover = MembershipFactory(organization=org).user
    # Left over from an organization the user used to belong to.
    MailboxFactory(user=mover, organization=other_org)
    assert _sender_decision(org, mover) == Decision(False, NotTrackedReason.NO_MAILBOX)


def test_allow_open_tracking_off_wins_over_the_toggle(org, sender):
    EmailConfiguration.objects.filter(organization=org).update(allow_open_tracking=False)
    assert _sender_decision(org, sender, toggle=True) == Decision(False, NotTrackedReason.DISABLED)


def test_toggle_off_is_not_tracked(org, sender):
    assert _sender_decision(org, sender, toggle=False) == Decision(False, NotTrackedReason.TOGGLE_OFF)


def test_refused_contact_gets_no_pixel_while_the_others_do(org, sender):
    refused = ContactFactory(organization=org, open_tracking=Contact.OpenTracking.REFUSED)
    fine = ContactFactory(organization=org, country="US")
    overall, per_recipient = _decide(org, sender, refused, fine, None)
    assert overall.track
    # The address that is no contact: in aggregate, under the EU rule (on by default).
    aggregate = Decision(True, aggregate=True)
    assert per_recipient == [Decision(False, NotTrackedReason.CONTACT_REFUSED), Decision(True), aggregate]


def test_email_is_untracked_when_no_recipient_may_be_tracked(org, sender):
    refused = ContactFactory(organization=org, open_tracking=Contact.OpenTracking.REFUSED)
    eu = ContactFactory(organization=org, country="FR", open_tracking=Contact.OpenTracking.NOT_ASKED)
    overall, per_recipient = _decide(org, sender, eu, refused)
    assert overall == Decision(False, NotTrackedReason.EU_CONSENT)
    assert [d.reason for d in per_recipient] == [NotTrackedReason.EU_CONSENT, NotTrackedReason.CONTACT_REFUSED]


@pytest.mark.parametrize("country", ["IE", "DE", "NO", "GB"])
def test_eu_eea_uk_contact_not_asked_is_tracked_only_without_the_eu_rule(org, sender, country):
    contact = ContactFactory(organization=org, country=country, open_tracking=Contact.OpenTracking.NOT_ASKED)
    assert _decide(org, sender, contact)[0] == Decision(False, NotTrackedReason.EU_CONSENT)

    EmailConfiguration.objects.filter(organization=org).update(track_eu_only_with_consent=False)
    assert _decide(org, sender, contact)[0] == Decision(True)


def test_eu_contact_who_allowed_tracking_is_tracked(org, sender):
    contact = ContactFactory(organization=org, country="IT", open_tracking=Contact.OpenTracking.ALLOWED)
    assert _decide(org, sender, contact)[0] == Decision(True)


def test_contact_without_country_is_not_subject_to_the_eu_rule(org, sender):
    contact = ContactFactory(organization=org, country="", open_tracking=Contact.OpenTracking.NOT_ASKED)
    assert _decide(org, sender, contact)[0] == Decision(True)


def test_configuration_is_created_with_tracking_off_and_the_eu_rule_on(org):
    config = EmailConfiguration.objects.of(org)
    assert (config.allow_open_tracking, config.track_eu_only_with_consent) == (False, True)
    assert EmailConfiguration.objects.filter(organization=org).count() == 1


def test_configuration_is_read_once_per_organization_object(org, sender, django_assert_num_queries):
    org = Organization.objects.get(pk=org.pk)
    with django_assert_num_queries(1):
        first = EmailConfiguration.objects.of(org)
        again = EmailConfiguration.objects.of(org)
    assert first is again and first.allow_open_tracking


def test_sender_decision_reuses_a_given_configuration(org, sender, django_assert_num_queries):
    config = EmailConfiguration.objects.get(organization=org)
    org = Organization.objects.get(pk=org.pk)
    with django_assert_num_queries(1):  # the mailbox check only
        assert sender_decision(organization=org, sender=sender, config=config).track


def test_opens_are_recorded_for_tracked_crm_emails_of_business_organizations(org):
    recipient = EmailRecipientFactory(email=EmailFactory(organization=org, track_opens=True))
    assert may_record_open(email=recipient.email, organization=org, recipient=recipient)


def test_no_open_is_recorded_after_a_downgrade(org):
    email = EmailFactory(organization=org, track_opens=True)
    org.plan = Organization.Plan.PROFESSIONAL
    assert not may_record_open(email=email, organization=org)


def test_no_open_is_recorded_for_untracked_or_client_emails(org):
    assert not may_record_open(email=EmailFactory(organization=org, track_opens=False), organization=org)
    client_email = EmailFactory(organization=org, track_opens=True, source=Email.Source.CLIENT)
    assert not may_record_open(email=client_email, organization=org)


def test_no_open_is_recorded_for_a_recipient_whose_copy_was_untracked(org):
    email = EmailFactory(organization=org, track_opens=True)
    refused = EmailRecipientFactory(email=email, track_opens=False)
    assert not may_record_open(email=email, organization=org, recipient=refused)
