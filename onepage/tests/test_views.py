import pytest
from django.urls import reverse

from onepage.tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_login_page_is_public(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"Log in" in response.content


@pytest.mark.parametrize("name", ["contacts:list", "emails:index", "settings", "profile", "password_change"])
def test_signed_out_visitor_is_sent_to_login(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={url}"


def test_sign_in_lands_on_contacts(client, rep_user):
    response = client.post(reverse("login"), {"username": "rex", "password": TEST_PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("contacts:list")
    assert b"Rex" in response.content or rep_user.display_name.encode() in response.content


def test_wrong_password_is_refused_with_a_message(client, rep_user):
    response = client.post(reverse("login"), {"username": "rex", "password": "nope"})
    assert response.status_code == 200
    assert b"don't match" in response.content


def test_user_without_organization_is_told_so(client, db):
    client.force_login(UserFactory(username="loner"))
    response = client.get(reverse("contacts:list"))
    assert response.status_code == 403
    assert b"No organization yet" in response.content


def test_log_out_needs_post_and_signs_out(rep_client):
    response = rep_client.post(reverse("logout"))
    assert response.status_code == 302
    assert rep_client.get(reverse("contacts:list")).status_code == 302


def test_settings_lists_profile_and_password(rep_client):
    response = rep_client.get(reverse("settings"))
    assert reverse("profile").encode() in response.content
    assert reverse("password_change").encode() in response.content


def test_profile_saves_time_zone(rep_client, rep_user):
    response = rep_client.post(
        reverse("profile"),
        {"first_name": "Rex", "last_name": "Rep", "email": "rex@example.com", "time_zone": "Asia/Tokyo"},
    )
    assert response.status_code == 302
    rep_user.refresh_from_db()
    assert rep_user.time_zone == "Asia/Tokyo"


def test_profile_rejects_unknown_time_zone(rep_client, rep_user):
    response = rep_client.post(reverse("profile"), {"first_name": "Rex", "time_zone": "Mars/Olympus"})
    assert response.status_code == 200
    assert "time_zone" in response.context["form"].errors
    rep_user.refresh_from_db()
    assert rep_user.time_zone == ""


def test_password_change(rep_client, rep_user):
    response = rep_client.post(
        reverse("password_change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "A-much-better-pass-42",
            "new_password2": "A-much-better-pass-42",
        },
    )
    assert response.status_code == 302
    rep_user.refresh_from_db()
    assert rep_user.check_password("A-much-better-pass-42")


def test_csrf_is_enforced_on_forms(rep_user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(rep_user)
    response = client.post(reverse("contacts:create"), {"first_name": "Eve"})
    assert response.status_code == 403


@pytest.mark.parametrize("signed_in", [False, True])
def test_the_icon_browsers_ask_for_at_the_root_is_the_one_every_page_links(client, rep_user, signed_in):
    # Asked for by browsers and feed readers whatever the page links: never
    # a sign-in page nor a 404, for a visitor or a member.
    if signed_in:
        client.force_login(rep_user)
    response = client.get("/favicon.ico")
    page = client.get(reverse("login")).content.decode()

    assert response.status_code == 301
    assert response.url.endswith(".svg") and f'href="{response.url}"' in page
