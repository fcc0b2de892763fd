"""onepage.ids.among: many ids in one `__in`, on both databases."""

import pytest

from emails.models import Email
from emails.tests.factories import EmailFactory
from onepage.ids import among

pytestmark = pytest.mark.django_db


def test_among_selects_exactly_the_ids_given():
    emails = EmailFactory.create_batch(5)
    wanted = [emails[0].pk, emails[3].pk, 10**9]  # one id that is no email

    assert sorted(Email.objects.filter(pk__in=among(wanted)).values_list("pk", flat=True)) == wanted[:2]
    assert sorted(Email.objects.filter(pk__in=among(e.pk for e in emails)).values_list("pk", flat=True)) == sorted(
        e.pk for e in emails
    )
    assert not Email.objects.filter(pk__in=among([])).exists()
