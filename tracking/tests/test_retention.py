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


def test_one_organizations_bad_retention_does_not_stop_the_purge_of_the_others(org, other_org, caplog):
    # 30000 months, written before the field was bounded, reaches before year 1.
    EmailConfigurationFactory(organization=org)
    EmailConfiguration.objects.filter(organization=org).update(open_retention_months=30000)
    EmailConfigurationFactory(organization=other_org)  # 12 months
    old = timezone.now() - timedelta(days=400)
    stuck = EmailRecipientFactory(email=EmailFactory(organization=org))
    add_opens(stuck, [old])
    purged = EmailRecipientFactory(email=EmailFactory(organization=other_org, subject="Private subject"))
    add_opens(purged, [old, old - timedelta(minutes=1)])

    assert purge_old_opens() == 2

    assert OpenEvent.objects.filter(recipient=purged).count() == 0
    assert OpenEvent.objects.filter(recipient=stuck).count() == 1
    failures = [r for r in caplog.records if r.name == "tracking.retention" and r.levelname == "ERROR"]
    assert [r.getMessage() for r in failures] == [
        f"Retention: the opens of organization {org.pk} were not purged: "
        "its retention of 30000 months is beyond the 120 allowed"
    ]
    logged = caplog.text
    assert stuck.address not in logged and "Private subject" not in logged and org.name not in logged
