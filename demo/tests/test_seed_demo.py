import re

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.validators import validate_email
from django.db.models import F
from django.urls import reverse

from contacts.models import Contact
from emails.models import Email, EmailRecipient, NotTrackedReason
from onepage.models import Membership, Organization, User
from tracking import counters
from tracking.models import COUNTED, OpenEvent, Verdict

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _development(settings):
    settings.DEBUG = True  # seed_demo runs in development only


def test_seed_demo_creates_both_plans_and_is_idempotent():
    call_command("seed_demo", stdout=None)
    counts = (Organization.objects.count(), User.objects.count(), Contact.objects.count(), Email.objects.count())
    assert counts == (2, 3, 44, 15)  # 4 from the reps' mail clients, 11 from OnePage
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


def _valid(address: str) -> bool:
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


def test_every_demo_address_can_be_saved_and_emailed():
    call_command("seed_demo")
    assert all(_valid(address) for address in Contact.objects.values_list("email", flat=True))
    assert Contact.objects.filter(first_name="Chloé").exists()  # accents stay in names


def test_no_demo_email_is_older_than_its_contact():
    call_command("seed_demo")
    recipients = EmailRecipient.objects.exclude(contact=None)
    assert not recipients.filter(email__created_at__lt=F("contact__created_at")).exists()
    assert not Email.objects.filter(sent_at__lt=F("created_at")).exists()


def test_first_sign_in_shows_opens_a_long_report_and_reasons(client):
    call_command("seed_demo")
    client.force_login(User.objects.get(username="rex"))
    folder = client.get(reverse("emails:open_tracking")).content.decode()
    assert "Spring order: the prices we discussed" in folder
    # A report past ten opens, behind one of the eyes (each loads on opening).
    reports = [client.get(url).content.decode() for url in re.findall(r'hx-get="([^"]+/open-report/)"', folder)]
    assert any("the 10 most recent are shown" in report for report in reports)
    reasons = set(Email.objects.values_list("not_tracked_reason", flat=True))
    assert {NotTrackedReason.CONTACT_REFUSED, NotTrackedReason.EU_CONSENT, NotTrackedReason.TOGGLE_OFF} <= reasons
    # Opens spread over days, each counted once in the counters.
    days = {at.date() for at in OpenEvent.objects.values_list("opened_at", flat=True)}
    assert len(days) >= 4
    for email in Email.objects.filter(open_count__gt=0):
        events = OpenEvent.objects.filter(email=email)
        assert email.open_count == events.filter(verdict__in=COUNTED).count()
        assert email.automatic_count == events.exclude(verdict__in=COUNTED).count()
    # Apple's privacy protection fetched some on delivery: kept apart, not opens.
    assert OpenEvent.objects.filter(verdict=Verdict.PRIVACY_PREFETCH).exists()
    assert counters.disagreeing() == []


def test_the_professional_organization_keeps_its_opens_from_business_days(client):
    call_command("seed_demo")
    client.force_login(User.objects.get(username="pat"))
    folder = client.get(reverse("emails:open_tracking")).content.decode()
    assert "Boiler service plans" in folder
    assert "Opens recorded before the switch stay visible" in folder
