"""manage.py create_organization: how a production install gets its first admin."""

import pytest
from django.core.management import CommandError, call_command

from onepage.models import Membership, Organization, User

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-passphrase-42"


def test_creates_the_organization_and_its_first_admin(monkeypatch, client):
    monkeypatch.setenv("ONEPAGE_ADMIN_PASSWORD", PASSWORD)
    call_command(
        "create_organization", "Northwind Trading", admin="nora", email="nora@northwind.example",
        plan="professional", time_zone="Europe/Dublin",
    )  # fmt: skip
    organization = Organization.objects.get(name="Northwind Trading")
    assert (organization.plan, organization.time_zone) == ("professional", "Europe/Dublin")
    membership = Membership.objects.get(user__username="nora")
    assert (membership.organization, membership.role) == (organization, "admin")

    # The new admin signs in with that password and lands in the CRM.
    response = client.post("/accounts/login/", {"username": "nora", "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    assert response.wsgi_request.user.username == "nora"
    assert b"Northwind Trading" in response.content


def test_a_weak_password_is_refused_and_nothing_is_created(monkeypatch):
    monkeypatch.setenv("ONEPAGE_ADMIN_PASSWORD", "password")
    with pytest.raises(CommandError, match="too common"):
        call_command("create_organization", "Weak Co", admin="wendy", email="w@weak.example")
    assert not Organization.objects.exists() and not User.objects.exists()


def test_a_taken_user_name_or_bad_input_says_what_to_fix(monkeypatch, rep_user):
    monkeypatch.setenv("ONEPAGE_ADMIN_PASSWORD", PASSWORD)
    with pytest.raises(CommandError, match="user name 'rex' is taken"):
        call_command("create_organization", "Other Co", admin="rex", email="rex@other.example")
    with pytest.raises(CommandError, match="time_zone"):
        call_command("create_organization", "Mars Co", admin="marvin", email="m@mars.example", time_zone="Mars/Base")
    with pytest.raises(CommandError, match="email"):
        call_command("create_organization", "Typo Co", admin="tina", email="not-an-address")
    assert list(Organization.objects.values_list("name", flat=True)) == ["Acme Widgets"]


def test_without_the_variable_and_without_a_terminal_it_asks_for_one(monkeypatch):
    monkeypatch.delenv("ONEPAGE_ADMIN_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="ONEPAGE_ADMIN_PASSWORD"):
        call_command("create_organization", "Quiet Co", admin="quinn", email="q@quiet.example")
    assert not User.objects.filter(username="quinn").exists()
