"""Retention: opens older than the organization's setting are purged in
batches by beat's task, and the counters agree with what is left."""

from datetime import timedelta

import pytest
from django.utils import timezone

from emails.models import EmailConfiguration
from emails.tests.factories import EmailConfigurationFactory, EmailFactory, EmailRecipientFactory
from tracking import tasks
from tracking.models import OpenEvent
from tracking.retention import purge_old_opens
from tracking.tests.open_helpers import add_opens

pytestmark = pytest.mark.django_db


def test_expired_opens_are_purged_in_batches_and_counters_follow(org, other_org):
    EmailConfigurationFactory(organization=org)  # 12 months, the default
    EmailConfigurationFactory(organization=other_org, open_retention_months=0)  # kept forever
    now = timezone.now()
    old, recent = now - timedelta(days=400), now - timedelta(days=30)
    recipient = EmailRecipientFactory(email=EmailFactory(organization=org))
    add_opens(recipient, [old - timedelta(minutes=m) for m in range(5)] + [recent])
    kept = EmailRecipientFactory(email=EmailFactory(organization=other_org))
    add_opens(kept, [old])

    assert purge_old_opens(batch_size=2, max_batches=2) == 4  # bounded: beat comes back
    assert purge_old_opens(batch_size=2) == 1
    assert tasks.purge_old_opens.apply().result == 0

    recipient.refresh_from_db()
    recipient.email.refresh_from_db()
    assert (recipient.open_count, recipient.first_opened_at, recipient.last_opened_at) == (1, recent, recent)
    assert (recipient.email.open_count, recipient.email.first_opened_at) == (1, recent)
    assert OpenEvent.objects.filter(recipient=kept).count() == 1
    assert EmailConfiguration.objects.get(organization=org).open_retention_months == 12
