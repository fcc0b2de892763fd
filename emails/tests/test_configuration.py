"""Settings -> Email configuration: Allow open tracking, the EU rule, the change log."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from emails.mailboxes import mailbox_connect
from emails.models import EmailConfiguration
from emails.tests.factories import EmailConfigurationFactory
from onepage.models import Organization, SettingChange
from onepage.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

PAGE = reverse("email_configuration")
CHANGE = reverse("email_configuration_change")
# The consent switches as they are by default (emails.models.EmailConfiguration).
DEFAULTS = {"delete_opens_on_withdrawal": "on"}
BOTH_ON = {"allow_open_tracking": "on", "track_eu_only_with_consent": "on", **DEFAULTS}
EU_ONLY = {"track_eu_only_with_consent": "on", **DEFAULTS}


@pytest.fixture
def config(org):
    return EmailConfigurationFactory(organization=org, allow_open_tracking=True, track_eu_only_with_consent=True)


def _config(org) -> EmailConfiguration:
    return EmailConfiguration.objects.get(organization=org)


def test_admin_sees_both_switches(admin_client, config):
    response = admin_client.get(PAGE)
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial == {
        "allow_open_tracking": True,
        "track_eu_only_with_consent": True,
        "delete_opens_on_withdrawal": True,
        "preference_link": False,
        "count_machine_opens": False,
        "unknown_recipients": "aggregate",
        "open_retention_months": 12,
        "preference_link_text": "Don't want us to see when you open our emails? Choose here.",
    }
    assert b"Allow open tracking" in response.content
    assert b"Track contacts in the EU/EEA and UK only when they have allowed it" in response.content


def test_page_creates_the_default_configuration_on_first_visit(admin_client, org):
    admin_client.get(PAGE)
    config = _config(org)
    assert (config.allow_open_tracking, config.track_eu_only_with_consent) == (False, True)


def test_switching_off_asks_for_confirmation_first(admin_client, org, config):
    response = admin_client.post(CHANGE, EU_ONLY)
    assert response.status_code == 200
    assert b"Switch off open tracking?" in response.content
    assert b"Emails sent from now on are <strong>not tracked</strong>" in response.content
    assert b"Track</strong> toggle is disabled" in response.content
    assert _config(org).allow_open_tracking is True
    assert not SettingChange.objects.exists()


def test_confirmed_switch_off_is_saved_and_logged(admin_client, admin_user, org, config):
    response = admin_client.post(CHANGE, {**EU_ONLY, "confirm": "yes"}, follow=True)
    assert response.redirect_chain == [(PAGE, 302)]
    assert b"Emails sent from now on are not tracked" in response.content
    config = _config(org)
    assert (config.allow_open_tracking, config.track_eu_only_with_consent) == (False, True)
    change = SettingChange.objects.get()
    assert (change.organization, change.actor, change.setting, change.old_value, change.new_value) == (
        org,
        admin_user,
        "allow_open_tracking",
        "on",
        "off",
    )
    assert response.context["page"].object_list[0].pk == change.pk


def test_confirmation_keeps_the_eu_rule_as_chosen(admin_client, org, config):
    response = admin_client.post(CHANGE, DEFAULTS)  # both switches off
    assert b'name="track_eu_only_with_consent"' not in response.content
    admin_client.post(CHANGE, {**DEFAULTS, "confirm": "yes"})
    config = _config(org)
    assert (config.allow_open_tracking, config.track_eu_only_with_consent) == (False, False)
    assert set(SettingChange.objects.values_list("setting", "new_value")) == {
        ("allow_open_tracking", "off"),
        ("track_eu_only_with_consent", "off"),
    }


def test_switching_on_needs_no_confirmation(admin_client, org, config):
    EmailConfiguration.objects.filter(organization=org).update(allow_open_tracking=False)
    response = admin_client.post(CHANGE, BOTH_ON)
    assert response.status_code == 302
    assert _config(org).allow_open_tracking is True
    assert SettingChange.objects.get().new_value == "on"


def test_eu_rule_change_alone_is_logged_without_confirmation(admin_client, org, config):
    admin_client.post(CHANGE, {"allow_open_tracking": "on", **DEFAULTS})
    assert _config(org).track_eu_only_with_consent is False
    change = SettingChange.objects.get()
    assert (change.setting, change.old_value, change.new_value) == ("track_eu_only_with_consent", "on", "off")


def test_saving_without_change_logs_nothing(admin_client, config):
    response = admin_client.post(CHANGE, BOTH_ON, follow=True)
    assert b"Nothing changed" in response.content
    assert not SettingChange.objects.exists()


def test_rep_sees_the_settings_read_only(rep_client, config):
    response = rep_client.get(PAGE)
    assert response.status_code == 200
    assert response.context["form"] is None
    assert b"Only your organization's admins can change these settings" in response.content
    assert CHANGE.encode() not in response.content
    assert b'class="state state-on">On' in response.content


def test_rep_cannot_switch_tracking_off(rep_client, org, config):
    for data in (EU_ONLY, {**EU_ONLY, "confirm": "yes"}, {}):
        response = rep_client.post(CHANGE, data)
        assert response.status_code == 403
        assert b"Only admins can do this" in response.content
    config = _config(org)
    assert (config.allow_open_tracking, config.track_eu_only_with_consent) == (True, True)
    assert not SettingChange.objects.exists()


def test_rep_cannot_switch_tracking_on(rep_client, org, config):
    EmailConfiguration.objects.filter(organization=org).update(allow_open_tracking=False)
    assert rep_client.post(CHANGE, BOTH_ON).status_code == 403
    assert _config(org).allow_open_tracking is False


def test_change_leaves_other_organizations_alone(admin_client, org, other_org, config):
    theirs = EmailConfigurationFactory(organization=other_org, allow_open_tracking=True)
    admin_client.post(CHANGE, {"confirm": "yes"})
    theirs.refresh_from_db()
    assert (theirs.allow_open_tracking, theirs.track_eu_only_with_consent) == (True, True)
    assert not SettingChange.objects.filter(organization=other_org).exists()


def test_change_log_lists_only_this_organizations_changes_newest_first(admin_client, admin_user, org, other_org):
    rival = MembershipFactory(organization=other_org, role="admin").user
    SettingChange.objects.create(organization=other_org, actor=rival, setting="allow_open_tracking", new_value="on")
    SettingChange.objects.create(organization=org, actor=admin_user, setting="allow_open_tracking", new_value="on")
    SettingChange.objects.create(organization=org, actor=None, setting="plan", new_value="business")
    latest = SettingChange.objects.create(
        organization=org, actor=admin_user, setting="allow_open_tracking", old_value="on", new_value="off"
    )
    changes = list(admin_client.get(PAGE).context["page"].object_list)
    assert [c.pk for c in changes] == [latest.pk, latest.pk - 2]
    assert (changes[0].label, changes[0].old_label, changes[0].new_label) == ("Allow open tracking", "On", "Off")


def test_change_log_shows_times_in_the_viewers_time_zone(admin_client, admin_user, org):
    admin_user.time_zone = "Asia/Tokyo"
    admin_user.save(update_fields=["time_zone"])
    change = SettingChange.objects.create(organization=org, actor=admin_user, setting="allow_open_tracking")
    at = timezone.make_aware(dt.datetime(2025, 3, 1, 23, 30), dt.UTC)
    SettingChange.objects.filter(pk=change.pk).update(at=at)
    response = admin_client.get(PAGE)
    assert b"2 Mar 2025, 08:30" in response.content
    assert b"JST" in response.content


def test_change_log_is_paginated_with_a_fixed_number_of_queries(
    admin_client, admin_user, org, config, django_assert_max_num_queries
):
    SettingChange.objects.bulk_create(
        SettingChange(organization=org, actor=admin_user, setting="allow_open_tracking", new_value="on")
        for _ in range(45)
    )
    with django_assert_max_num_queries(8):
        response = admin_client.get(PAGE, {"page": 2})
    assert len(response.context["page"].object_list) == 20
    assert b"Page 2 of 3" in response.content


def test_professional_admin_sees_the_page_without_switches_and_cannot_change_them(admin_client, org, config):
    Organization.objects.filter(pk=org.pk).update(plan=Organization.Plan.PROFESSIONAL)
    response = admin_client.get(PAGE)
    assert response.context["form"] is None
    assert b"Open tracking is a Business plan feature" in response.content

    response = admin_client.post(CHANGE, BOTH_ON)
    assert response.status_code == 403
    assert b"Upgrade to Business to use open tracking" in response.content
    assert reverse("plan").encode() in response.content


def test_get_on_the_change_url_is_refused(admin_client, config):
    assert admin_client.get(CHANGE).status_code == 405


def test_settings_index_links_to_email_configuration_and_plan(rep_client):
    response = rep_client.get(reverse("settings"))
    assert PAGE.encode() in response.content
    assert reverse("plan").encode() in response.content


def test_log_shows_tracking_switched_on_when_the_first_mailbox_was_connected(rep_client, rep_user, org):
    mailbox_connect(user=rep_user, organization=org, kind="development", from_address="rex@acme.example")
    assert _config(org).allow_open_tracking is True
    (change,) = rep_client.get(PAGE).context["page"].object_list
    assert (change.actor, change.label, change.old_label, change.new_label) == (
        rep_user,
        "Allow open tracking",
        "Off",
        "On",
    )


def test_consent_settings_are_saved_logged_and_kept_through_the_confirmation(admin_client, org, config):
    data = {"track_eu_only_with_consent": "on", "preference_link": "on", "preference_link_text": "Stop tracking me"}
    confirm = admin_client.post(CHANGE, data)
    assert b'name="delete_opens_on_withdrawal"' not in confirm.content
    assert b'value="Stop tracking me"' in confirm.content
    admin_client.post(CHANGE, {**data, "confirm": "yes"})
    config = _config(org)
    assert (config.delete_opens_on_withdrawal, config.preference_link, config.preference_link_text) == (
        False,
        True,
        "Stop tracking me",
    )
    assert set(SettingChange.objects.values_list("setting", "new_value")) == {
        ("allow_open_tracking", "off"),
        ("delete_opens_on_withdrawal", "off"),
        ("preference_link", "on"),
        ("preference_link_text", "Stop tracking me"),
    }
    page = admin_client.get(PAGE).content.decode()
    assert "Delete a contact&#x27;s recorded opens when they refuse tracking" in page


def test_counting_automatic_fetches_is_an_admin_setting_logged_like_the_others(admin_client, config, admin_user):
    data = {
        "allow_open_tracking": "on",
        "track_eu_only_with_consent": "on",
        "delete_opens_on_withdrawal": "on",
        "count_machine_opens": "on",
        "unknown_recipients": "aggregate",
        "open_retention_months": "12",
    }
    response = admin_client.post(reverse("email_configuration_change"), data)
    assert response.status_code == 302
    config.refresh_from_db()
    assert config.count_machine_opens
    change = SettingChange.objects.get(setting="count_machine_opens")
    assert (change.actor, change.old_value, change.new_value) == (admin_user, "off", "on")
    page = admin_client.get(PAGE).content.decode()
    assert "Count automatic fetches as opens" in page
