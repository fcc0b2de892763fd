"""Every way opens leave the database (the retention purge, a withdrawal of
consent, a contact erased) leaves the counters as the writer would have
set them: a person's opens in open_count, the machines' fetches apart in
automatic_count. A scanner's fetch that survives a deletion must never turn
into a person's open."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from contacts.consent import consent_change
from contacts.models import ConsentRecord, Contact
from emails.models import EmailRecipient
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


def test_deleting_an_email_in_the_admin_takes_its_opens_and_its_recipients(client, email_with_a_reader_and_a_scanner):
    from onepage.models import User

    email, bea, carl = email_with_a_reader_and_a_scanner
    client.force_login(User.objects.create_superuser("root", "root@example.net", "secret-pass-123"))

    response = client.post(reverse("admin:emails_email_delete", args=[email.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not OpenEvent.objects.exists()
    assert not EmailRecipient.objects.filter(pk__in=[bea.pk, carl.pk]).exists()
    assert "0 counters differ" in recount_check()


def test_the_admin_cannot_remove_one_recipient_of_an_email(client, email_with_a_reader_and_a_scanner):
    """Removed alone, a recipient would take its opens without its email's
    counters knowing: the email's form offers no way to do it."""
    from onepage.models import User

    email, _, _ = email_with_a_reader_and_a_scanner
    client.force_login(User.objects.create_superuser("root", "root@example.net", "secret-pass-123"))

    page = client.get(reverse("admin:emails_email_change", args=[email.pk]))

    assert page.status_code == 200
    assert "recipients-0-DELETE" not in page.content.decode()


def test_recount_opens_finds_an_open_whose_recipient_is_gone_and_removes_it(email_with_a_reader_and_a_scanner):
    """OpenEvent.recipient has no database constraint: a recipient row
    removed behind Django's back (raw SQL) leaves its opens, which the check
    names and the repair deletes, the email's counters recounted."""
    email, bea, carl = email_with_a_reader_and_a_scanner
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {EmailRecipient._meta.db_table} WHERE id = %s", [bea.pk])

    assert "2 counters differ" in recount_check()  # Bea's open and her scanner's fetch

    call_command("recount_opens", stdout=StringIO())

    assert list(OpenEvent.objects.values_list("recipient_id", flat=True)) == [carl.pk]
    assert counters_of(email) == (1, 0, 0)
    assert "0 counters differ" in recount_check()
