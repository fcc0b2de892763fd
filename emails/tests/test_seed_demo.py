import pytest
from django.core.management import call_command

from contacts.models import Contact
from emails.models import Email
from onepage.models import Membership, Organization, User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _development(settings):
    settings.DEBUG = True  # seed_demo runs in development only


def test_seed_demo_creates_both_plans_and_is_idempotent():
    call_command("seed_demo", stdout=None)
    counts = (Organization.objects.count(), User.objects.count(), Contact.objects.count(), Email.objects.count())
    assert counts == (2, 3, 44, 4)
    call_command("seed_demo")
    assert (
        Organization.objects.count(),
        User.objects.count(),
        Contact.objects.count(),
        Email.objects.count(),
    ) == counts

    business = Organization.objects.get(plan=Organization.Plan.BUSINESS)
    professional = Organization.objects.get(plan=Organization.Plan.PROFESSIONAL)
    roles = set(Membership.objects.filter(organization=business).values_list("role", flat=True))
    assert roles == {"admin", "rep"}
    assert Membership.objects.get(organization=professional).role == "admin"
    assert (business.contacts.count(), professional.contacts.count()) == (36, 8)
    # Some contacts fall under the EU rule, a third of them having allowed tracking.
    assert business.contacts.filter(country__in=["IE", "FR", "DE", "IT", "ES", "DK", "GB"]).count() == 21
    assert business.contacts.filter(open_tracking=Contact.OpenTracking.ALLOWED).count() == 12
    assert User.objects.get(username="ada").check_password("onepage-demo")


def test_demo_admin_can_sign_in_and_see_contacts(client):
    call_command("seed_demo")
    client.post("/accounts/login/", {"username": "ada", "password": "onepage-demo"})
    response = client.get("/contacts/")
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 36
