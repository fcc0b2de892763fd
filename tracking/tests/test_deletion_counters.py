"""Every way opens leave the database (the retention purge, a withdrawal of
consent, a contact erased) leaves the counters as the writer would have
set them: a person's opens in open_count, the machines' fetches apart in
automatic_count. A scanner's fetch that survives a deletion must never turn
into a person's open."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from contacts.consent import consent_change
from contacts.models import ConsentRecord, Contact
from emails.tests.factories import EmailConfigurationFactory, EmailFactory, EmailRecipientFactory
from privacy.erasure import contact_erase
from tracking.models import AUTOMATIC_BITS, OpenEvent, Verdict
from tracking.retention import purge_old_opens
from tracking.tests.open_helpers import add_opens

pytestmark = pytest.mark.django_db


def recount_check() -> str:
    out = StringIO()
    call_command("recount_opens", "--check", stdout=out)
    return out.getvalue()


def counters_of(row) -> tuple:
    row.refresh_from_db()
    return row.open_count, row.automatic_count, row.automatic_kinds


@pytest.fixture
def email_with_a_reader_and_a_scanner(org):
    """One email: Bea read it (a person's open) and a gateway scanner fetched
    her copy; Carl read his copy too."""
    EmailConfigurationFactory(organization=org)
    email = EmailFactory(organization=org)
    bea = EmailRecipientFactory(email=email)
    carl = EmailRecipientFactory(email=email)
    now = timezone.now()
    add_opens(bea, [now - timedelta(hours=2)])
    add_opens(bea, [now - timedelta(hours=3)], verdict=Verdict.SCANNER)
    add_opens(carl, [now - timedelta(hours=1)])
    assert counters_of(email) == (2, 1, AUTOMATIC_BITS[Verdict.SCANNER])
    return email, bea, carl


def test_the_retention_purge_keeps_a_scanner_fetch_out_of_the_people_count(org):
    EmailConfigurationFactory(organization=org)  # 12 months
    recipient = EmailRecipientFactory(email=EmailFactory(organization=org))
    now = timezone.now()
    add_opens(recipient, [now - timedelta(days=400)])  # expired
    add_opens(recipient, [now - timedelta(days=3)])
    add_opens(recipient, [now - timedelta(days=3, hours=1)], verdict=Verdict.SCANNER)

    assert purge_old_opens() == 1

    assert counters_of(recipient) == (1, 1, AUTOMATIC_BITS[Verdict.SCANNER])
    assert counters_of(recipient.email) == (1, 1, AUTOMATIC_BITS[Verdict.SCANNER])
    assert recipient.first_opened_at == recipient.last_opened_at == now - timedelta(days=3)
    assert recount_check().startswith("0 counters differ")


def test_a_withdrawal_keeps_the_other_recipients_people_and_machines_apart(email_with_a_reader_and_a_scanner):
    email, bea, carl = email_with_a_reader_and_a_scanner

    record = consent_change(
        contact_id=carl.contact_id, new=Contact.OpenTracking.REFUSED, method=ConsentRecord.Method.FORM, wording="x"
    )

    assert record.opens_deleted == 1
    assert counters_of(email) == (1, 1, AUTOMATIC_BITS[Verdict.SCANNER])
    assert counters_of(bea) == (1, 1, AUTOMATIC_BITS[Verdict.SCANNER])
    assert counters_of(carl) == (0, 0, 0)
    assert recount_check().startswith("0 counters differ")


def test_an_erasure_takes_the_machines_fetch_with_the_persons_open(email_with_a_reader_and_a_scanner):
    email, bea, carl = email_with_a_reader_and_a_scanner

    erasure = contact_erase(contact=bea.contact, actor=None)

    assert erasure.opens_deleted == 2
    assert counters_of(email) == (1, 0, 0)
    assert counters_of(carl) == (1, 0, 0)
    assert set(OpenEvent.objects.values_list("verdict", flat=True)) == {Verdict.HUMAN}
    assert recount_check().startswith("0 counters differ")
