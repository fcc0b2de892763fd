"""The Notifications settings page (/alerts/settings/, from Settings): which
kinds, the quiet period (bounded), browser notifications, the daily email
(time of day in the user's zone), and for admins only, the teammates whose
emails they also hear about: never another organization's, never for a rep."""

from datetime import time

import pytest
from django.urls import reverse

from alerts.models import AlertSettings
from onepage.models import Membership
from onepage.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

URL = reverse("alerts:settings")


def saved(user) -> AlertSettings:
    return AlertSettings.objects.get(user=user)


def form(**fields) -> dict:
    data = {
        "first_open": "on",
        "came_back": "on",
        "digest": "on",
        "came_back_after_hours": "24",
        "daily_email_at": "17:00",
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def test_settings_links_to_notifications(rep_client):
    assert URL in rep_client.get(reverse("settings")).content.decode()


def test_the_page_shows_the_defaults_and_saves_nothing_by_itself(rep_client, rep_user):
    html = rep_client.get(URL).content.decode()
    assert "Notifications" in html and "Show browser notifications" in html
    assert 'value="24"' in html and 'value="17:00"' in html
    assert "your browser will ask" in html.lower()
    assert "js/browser-notify.js" in html
    assert not AlertSettings.objects.exists()


def test_saving_says_so_and_keeps_the_choices(rep_client, rep_user):
    data = form(digest=None, came_back_after_hours="48", browser="on", daily_email="on", daily_email_at="08:30")
    response = rep_client.post(URL, data, follow=True)
    assert "Your notification settings were saved." in response.content.decode()
    chosen = saved(rep_user)
    assert (chosen.first_open, chosen.came_back, chosen.digest) == (True, True, False)
    assert (chosen.came_back_after_hours, chosen.browser, chosen.daily_email) == (48, True, True)
    assert chosen.daily_email_at == time(8, 30)


@pytest.mark.parametrize(
    ("hours", "error"),
    [
        ("0", "at least 1 hour"),
        ("721", "at most 720 hours (30 days)"),
        ("-3", "at least 1 hour"),
        ("soon", "a whole number of hours"),
        ("1.5", "a whole number of hours"),
        ("", "how many hours"),
        ("9" * 40, "at most 720 hours"),
    ],
)
def test_the_quiet_period_is_bounded_with_a_clear_error(rep_client, hours, error):
    response = rep_client.post(URL, form(came_back_after_hours=hours))
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not AlertSettings.objects.exists()


@pytest.mark.parametrize("at", ["25:00", "noon", "", "\x00"])
def test_a_bad_time_of_day_is_a_clear_error(rep_client, at):
    response = rep_client.post(URL, form(daily_email="on", daily_email_at=at))
    assert response.status_code == 200 and 'class="error"' in response.content.decode()
    assert not AlertSettings.objects.exists()


def test_the_daily_email_time_says_which_time_zone(rep_client, rep_user, org):
    org.time_zone = "Europe/Lisbon"
    org.save(update_fields=["time_zone"])
    assert "Europe/Lisbon" in rep_client.get(URL).content.decode()
    rep_user.time_zone = "America/New_York"
    rep_user.save(update_fields=["time_zone"])
    html = rep_client.get(URL).content.decode()
    assert "America/New_York" in html and "Europe/Lisbon" not in html


@pytest.fixture
def team(org, other_org, rep_user):
    """Ada's teammates: Rex, Otto (an admin) and Ina (deactivated); Zed of
    another organization."""
    otto = MembershipFactory(organization=org, role="admin", user__username="otto", user__first_name="Otto").user
    ina = MembershipFactory(organization=org, user__username="ina", user__first_name="Ina").user
    ina.is_active = False
    ina.save(update_fields=["is_active"])
    zed = MembershipFactory(organization=other_org, role="admin", user__username="zed", user__first_name="Zed").user
    return {"rex": rep_user, "otto": otto, "ina": ina, "zed": zed}


def test_an_admin_picks_teammates_to_hear_about(admin_client, admin_user, team):
    html = admin_client.get(URL).content.decode()
    assert "Also tell me about" in html
    for shown in ("rex", "otto"):
        assert f'value="{team[shown].pk}"' in html
    for hidden in ("ina", "zed"):
        assert f'value="{team[hidden].pk}"' not in html
    assert f'value="{admin_user.pk}"' not in html  # her own: told of them already

    admin_client.post(URL, form(follows=[team["rex"].pk, team["otto"].pk]))
    assert set(saved(admin_user).follows.all()) == {team["rex"], team["otto"]}
    assert "checked" in admin_client.get(URL).content.decode()

    admin_client.post(URL, form(follows=[team["otto"].pk]))
    assert list(saved(admin_user).follows.all()) == [team["otto"]]


@pytest.mark.parametrize("who", ["zed", "ina", "ada"])
def test_an_admin_cannot_follow_another_organizations_user_a_deactivated_one_or_herself(
    admin_client, admin_user, team, who
):
    pk = admin_user.pk if who == "ada" else team[who].pk
    response = admin_client.post(URL, form(follows=[pk]))
    assert response.status_code == 200 and "Choose teammates from the list" in response.content.decode()
    assert not AlertSettings.objects.exists()


def test_a_rep_never_sees_nor_posts_the_teammates(rep_client, rep_user, admin_user, team):
    html = rep_client.get(URL).content.decode()
    assert "Also tell me about" not in html and 'name="follows"' not in html
    response = rep_client.post(URL, form(follows=[admin_user.pk, team["otto"].pk]))
    assert response.status_code == 302
    assert not saved(rep_user).follows.exists()


def test_a_demoted_admin_keeps_nothing_to_see_and_saving_keeps_the_follows_quiet(admin_client, admin_user, team):
    """An admin made a rep: the field goes; creation ignores the follows
    (only admins are told, alerts.audience); saving as a rep leaves them."""
    admin_client.post(URL, form(follows=[team["rex"].pk]))
    Membership.objects.filter(user=admin_user).update(role=Membership.Role.REP)
    html = admin_client.get(URL).content.decode()
    assert "Also tell me about" not in html
    assert admin_client.post(URL, form(came_back_after_hours="12")).status_code == 302
    assert saved(admin_user).came_back_after_hours == 12


def test_the_page_costs_a_fixed_number_of_queries(admin_client, admin_user, team, django_assert_num_queries):
    admin_client.post(URL, form(follows=[team["rex"].pk]))
    # The session, the user, the membership, the settings, the teammates,
    # the followed ones.
    with django_assert_num_queries(6):
        assert admin_client.get(URL).status_code == 200
