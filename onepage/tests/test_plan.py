"""Settings -> Plan: admins switch between Business and Professional."""

import pytest
from django.urls import reverse

from onepage.models import Organization, SettingChange

pytestmark = pytest.mark.django_db

PAGE = reverse("plan")
CHANGE = reverse("plan_change")


def _plan(org) -> str:
    return Organization.objects.get(pk=org.pk).plan


def test_plan_page_shows_the_current_plan_and_a_switch_for_admins(admin_client):
    response = admin_client.get(PAGE)
    assert response.status_code == 200
    assert b"is on the <strong>Business</strong> plan" in response.content
    assert b"Switch to Professional" in response.content
    assert b"Switch to Business" not in response.content


def test_downgrade_asks_for_confirmation_and_says_what_happens(admin_client, org):
    response = admin_client.post(CHANGE, {"plan": "professional"})
    assert response.status_code == 200
    assert b"Switch to Professional?" in response.content
    assert b"Emails sent from now on are <strong>not tracked</strong>" in response.content
    assert b"<strong>stays visible</strong>" in response.content
    assert _plan(org) == "business"
    assert not SettingChange.objects.exists()


def test_confirmed_downgrade_switches_and_is_logged(admin_client, admin_user, org):
    response = admin_client.post(CHANGE, {"plan": "professional", "confirm": "yes"}, follow=True)
    assert response.redirect_chain == [(PAGE, 302)]
    assert b"You are on the Professional plan" in response.content
    assert _plan(org) == "professional"
    change = SettingChange.objects.get()
    assert (change.actor, change.setting, change.old_value, change.new_value) == (
        admin_user,
        "plan",
        "business",
        "professional",
    )
    assert [c.new_label for c in response.context["page"].object_list] == ["Professional"]


def test_upgrade_back_is_logged_too(admin_client, org):
    Organization.objects.filter(pk=org.pk).update(plan="professional")
    response = admin_client.post(CHANGE, {"plan": "business"})
    assert b"tracked again" in response.content
    admin_client.post(CHANGE, {"plan": "business", "confirm": "yes"})
    assert _plan(org) == "business"
    assert SettingChange.objects.get().new_value == "business"


def test_switching_to_the_current_plan_changes_nothing(admin_client, org):
    response = admin_client.post(CHANGE, {"plan": "business", "confirm": "yes"}, follow=True)
    assert b"already on the Business plan" in response.content
    assert not SettingChange.objects.exists()


def test_unknown_plan_is_refused_with_an_error(admin_client, org):
    response = admin_client.post(CHANGE, {"plan": "enterprise", "confirm": "yes"})
    assert response.status_code == 400
    assert b"Select a valid choice" in response.content
    assert _plan(org) == "business"


def test_rep_sees_the_plan_but_cannot_switch_it(rep_client, org):
    response = rep_client.get(PAGE)
    assert b"Switch to" not in response.content
    assert b"Only your organization" in response.content
    for data in ({"plan": "professional"}, {"plan": "professional", "confirm": "yes"}):
        response = rep_client.post(CHANGE, data)
        assert response.status_code == 403
        assert b"Only admins can do this" in response.content
    assert _plan(org) == "business"
    assert not SettingChange.objects.exists()


def test_plan_change_leaves_other_organizations_alone(admin_client, org, other_org):
    admin_client.post(CHANGE, {"plan": "professional", "confirm": "yes"})
    assert _plan(other_org) == "business"
    assert not SettingChange.objects.filter(organization=other_org).exists()


def test_plan_log_shows_only_plan_changes_of_this_organization(admin_client, admin_user, org, other_org):
    SettingChange.objects.create(organization=org, actor=admin_user, setting="allow_open_tracking", new_value="on")
    SettingChange.objects.create(organization=other_org, setting="plan", new_value="professional")
    mine = SettingChange.objects.create(organization=org, actor=admin_user, setting="plan", new_value="professional")
    changes = admin_client.get(PAGE).context["page"].object_list
    assert [c.pk for c in changes] == [mine.pk]


def test_settings_tile_tells_professional_organizations_about_the_upgrade(admin_client, org):
    Organization.objects.filter(pk=org.pk).update(plan="professional")
    response = admin_client.get(reverse("settings"))
    assert b"upgrade to Business for open tracking" in response.content


def test_plan_page_costs_a_fixed_number_of_queries(admin_client, admin_user, org, django_assert_max_num_queries):
    SettingChange.objects.bulk_create(
        SettingChange(
            organization=org, actor=admin_user, setting="plan", old_value="business", new_value="professional"
        )
        for _ in range(30)
    )
    with django_assert_max_num_queries(7):
        response = admin_client.get(PAGE)
    assert len(response.context["page"].object_list) == 20


@pytest.mark.parametrize("name", ["plan", "plan_change", "email_configuration", "email_configuration_change"])
def test_signed_out_visitor_is_sent_to_login(client, name):
    url = reverse(name)
    response = client.post(url, {"plan": "professional", "confirm": "yes"})
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={url}"
