import factory
from django.utils import timezone

from emails.tests.factories import EmailRecipientFactory
from tracking.models import OpenEvent


class OpenEventFactory(factory.django.DjangoModelFactory):
    """A raw open. It does not update the denormalized counters: record opens
    through tracking.recording when a test needs those."""

    class Meta:
        model = OpenEvent

    recipient = factory.SubFactory(EmailRecipientFactory)
    email = factory.LazyAttribute(lambda o: o.recipient.email)
    opened_at = factory.LazyFunction(timezone.now)
