"""Sign-in throttling (django-axes): after 5 wrong passwords in a row for a
user name, or from an address, sign-in is refused without checking the
password, until the cool-off period ends or an admin lifts the lock."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from onepage.tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")
LOCKED = "Too many failed sign-ins."


def sign_in(client, username: str, password: str, *, address: str = "203.0.113.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def fail(client, username: str = "rex", times: int = 5, **kwargs) -> None:
    for attempt in range(times):
        response = sign_in(client, username, f"wrong-{attempt}", **kwargs)
        assert not signed_in(client)
    # The fifth failure already says why the next attempts will be refused.
    assert response.status_code == 429
    assert LOCKED in response.content.decode()


def test_four_wrong_passwords_then_the_right_one_signs_in(client, rep_user):
    for attempt in range(4):
        assert sign_in(client, "rex", f"wrong-{attempt}").status_code == 200

    response = sign_in(client, "rex", TEST_PASSWORD)

    assert response.status_code == 302
    assert signed_in(client)
    # A success starts the count again.
    assert not AccessAttempt.objects.exists()


def test_the_sixth_attempt_is_refused_without_checking_the_password(client, rep_user):
    fail(client)

    response = sign_in(client, "rex", TEST_PASSWORD)

    assert response.status_code == 429
    page = response.content.decode()
    assert LOCKED in page
    assert "paused for 15 minutes" in page
    assert "Back to sign in" in page
    assert not signed_in(client)


def test_a_locked_user_name_is_locked_from_every_address(client, rep_user):
    for attempt in range(5):
        sign_in(client, "rex", f"wrong-{attempt}", address=f"198.51.100.{attempt + 1}")

    response = sign_in(client, "rex", TEST_PASSWORD, address="192.0.2.200")

    assert response.status_code == 429
    assert not signed_in(client)


def test_an_address_that_failed_for_many_users_is_locked_for_everyone(client, rep_user):
    for n in range(5):
        sign_in(client, f"guess{n}", "password")

    response = sign_in(client, "rex", TEST_PASSWORD)

    assert response.status_code == 429
    assert not signed_in(client)
    # From elsewhere, rex is not locked.
    assert sign_in(client, "rex", TEST_PASSWORD, address="192.0.2.200").status_code == 302


def test_the_lock_is_lifted_after_the_cool_off_period(client, rep_user):
    fail(client)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    assert sign_in(client, "rex", TEST_PASSWORD).status_code == 302
    assert signed_in(client)


def test_an_admin_lifts_the_lock_in_the_admin(client, rep_user):
    fail(client)
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    admin = client.__class__()
    admin.force_login(superuser)
    changelist = reverse("admin:axes_accessattempt_changelist")
    assert "rex" in admin.get(changelist).content.decode()

    ids = [str(pk) for pk in AccessAttempt.objects.values_list("pk", flat=True)]
    response = admin.post(changelist, {"action": "delete_selected", "_selected_action": ids, "post": "yes"})

    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert sign_in(client, "rex", TEST_PASSWORD).status_code == 302


def test_an_admin_lifts_the_lock_with_the_reset_command(client, rep_user):
    fail(client)

    call_command("axes_reset_username", "rex")

    assert sign_in(client, "rex", TEST_PASSWORD).status_code == 302
