import pytest
from django.core.management import call_command

from contacts.models import Contact
from onepage.models import Membership, Organization, User

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_both_plans_and_is_idempotent():
    call_command("seed_demo", stdout=None)
    counts = (Organization.objects.count(), User.objects.count(), Contact.objects.count())
    call_command("seed_demo")
    assert (Organization.objects.count(), User.objects.count(), Contact.objects.count()) == counts

    business = Organization.objects.get(plan=Organization.Plan.BUSINESS)
    professional = Organization.objects.get(plan=Organization.Plan.PROFESSIONAL)
    roles = set(Membership.objects.filter(organization=business).values_list("role", flat=True))
    assert roles == {"admin", "rep"}
    assert Membership.objects.get(organization=professional).role == "admin"
    assert business.contacts.count() >= 24
    assert business.contacts.filter(country__in=["IE", "FR", "DE", "IT", "ES"]).exists()
    assert User.objects.get(username="ada").check_password("onepage-demo")


def test_demo_admin_can_sign_in_and_see_contacts(client):
    call_command("seed_demo")
    client.post("/accounts/login/", {"username": "ada", "password": "onepage-demo"})
    response = client.get("/contacts/")
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 36
