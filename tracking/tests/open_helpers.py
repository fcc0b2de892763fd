"""Test data for the open reports: emails with opens, recorded through the
real writer (tracking.writer.write_opens), so the counters are the ones
the recording pipeline sets."""

import datetime as dt
from collections.abc import Sequence

from contacts.models import Contact
from contacts.tests.factories import ContactFactory
from emails.models import Email, EmailRecipient
from emails.tests.factories import EmailFactory, EmailRecipientFactory
from onepage.models import Organization, User
from tracking.classify import Signals
from tracking.hits import Open
from tracking.models import Verdict
from tracking.writer import write_opens


def add_opens(recipient: EmailRecipient, times: Sequence[dt.datetime], *, verdict: str = Verdict.HUMAN) -> None:
    """Record that the recipient's pixel was fetched at `times`, by a person
    (the default) or by a machine whose signals gave `verdict`; the
    recipient's and its email's counters follow. The recipient must be one
    whose opens count."""
    signals = None if verdict == Verdict.HUMAN else Signals()
    opens = [Open(recipient_id=recipient.pk, opened_at=at, pre_verdict=verdict, signals=signals) for at in times]
    recorded = write_opens(opens=opens)
    assert recorded == len(times), f"the policy refused opens of {recipient}: is it tracked, on Business?"
    recipient.refresh_from_db()


def email_with_opens(
    *,
    organization: Organization,
    sender: User,
    opens: Sequence[dt.datetime] = (),
    contact: Contact | None = None,
    **fields,
) -> Email:
    """A sent, tracked email to one contact (a new one unless given), opened at `opens`."""
    email = EmailFactory(organization=organization, sender=sender, **fields)
    contact = contact or ContactFactory(organization=organization)
    recipient = EmailRecipientFactory(email=email, contact=contact, address=contact.email)
    add_opens(recipient, opens)
    email.refresh_from_db()
    return email


def minutes_ago(now: dt.datetime, *minutes: int) -> list[dt.datetime]:
    return [now - dt.timedelta(minutes=m) for m in minutes]
