"""Keep recorded opens for (months): 0 keeps them, 1 to 120 purge them; a
value beyond is refused on the form with words, never stored."""

import pytest
from django.urls import reverse

from emails.models import EmailConfiguration
from emails.tests.factories import EmailConfigurationFactory
from onepage.models import SettingChange

pytestmark = pytest.mark.django_db

PAGE = reverse("email_configuration")
CHANGE = reverse("email_configuration_change")
BOUND = "Enter a number of months from 1 to 120, or 0 to keep recorded opens forever."


@pytest.fixture
def config(org):
    return EmailConfigurationFactory(organization=org, allow_open_tracking=True, track_eu_only_with_consent=True)


def _post(client, months: str):
    return client.post(
        CHANGE,
        {
            "allow_open_tracking": "on",
            "track_eu_only_with_consent": "on",
            "delete_opens_on_withdrawal": "on",
            "open_retention_months": months,
        },
    )


@pytest.mark.parametrize("months", ["99999", "121", "-1", "1.5", "twelve"])
def test_a_retention_out_of_bounds_is_refused_with_words_next_to_the_field(admin_client, org, config, months):
    response = _post(admin_client, months)
    assert response.status_code == 400
    assert response.context["form"].errors["open_retention_months"] == [BOUND]
    assert BOUND in response.content.decode()
    assert EmailConfiguration.objects.get(organization=org).open_retention_months == 12
    assert not SettingChange.objects.exists()


@pytest.mark.parametrize("months", [0, 1, 120])
def test_zero_and_one_to_120_months_are_saved(admin_client, org, config, months):
    assert _post(admin_client, str(months)).status_code == 302
    assert EmailConfiguration.objects.get(organization=org).open_retention_months == months


def test_the_field_says_its_bounds(admin_client, config):
    text = admin_client.get(PAGE).content.decode()
    assert 'max="120"' in text
    assert "From 1 to 120 months; 0 keeps them." in text


def test_a_value_stored_before_the_bound_is_named_on_the_page(admin_client, org, config):
    # Written before the bound existed: the page says it is not applied.
    EmailConfiguration.objects.filter(organization=org).update(open_retention_months=30000)
    text = admin_client.get(PAGE).content.decode()
    assert "30000 months is more than the 120 allowed: no recorded opens are deleted" in text
