"""Test data for the open reports: emails with opens and the counters the
recording pipeline would have set."""

import datetime as dt
from collections.abc import Sequence

from django.db.models import Count, Max, Min

from contacts.models import Contact
from contacts.tests.factories import ContactFactory
from emails.models import Email, EmailRecipient
from emails.tests.factories import EmailFactory, EmailRecipientFactory
from onepage.models import Organization, User
from tracking.models import OpenEvent


def sync_counters(email: Email) -> Email:
    """Recompute the denormalized counters from the OpenEvents, as the
    recording pipeline does."""
    for recipient in email.recipients.all():
        agg = recipient.opens.aggregate(n=Count("pk"), first=Min("opened_at"), last=Max("opened_at"))
        EmailRecipient.objects.filter(pk=recipient.pk).update(
            open_count=agg["n"], first_opened_at=agg["first"], last_opened_at=agg["last"]
        )
    agg = email.opens.aggregate(n=Count("pk"), first=Min("opened_at"), last=Max("opened_at"))
    Email.objects.filter(pk=email.pk).update(
        open_count=agg["n"], first_opened_at=agg["first"], last_opened_at=agg["last"]
    )
    email.refresh_from_db()
    return email


def add_opens(recipient: EmailRecipient, times: Sequence[dt.datetime]) -> None:
    OpenEvent.objects.bulk_create(
        [OpenEvent(recipient=recipient, email_id=recipient.email_id, opened_at=at) for at in times]
    )


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
    return sync_counters(email)


def minutes_ago(now: dt.datetime, *minutes: int) -> list[dt.datetime]:
    return [now - dt.timedelta(minutes=m) for m in minutes]
