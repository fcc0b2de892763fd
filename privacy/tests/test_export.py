"""An admin's export of everything held about a contact, compared with the
database queried on its own."""

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import ConsentRecord, ContactActivity
from emails.models import Email, EmailRecipient
from emails.tests.factories import EmailConfigurationFactory, EmailFactory, EmailRecipientFactory
from onepage.tests.factories import MembershipFactory
from tracking.models import OpenEvent
from tracking.tests.open_helpers import add_opens, email_with_opens

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(org, admin_user, admin_client):
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    data = {"first_name": "Lena", "last_name": "Nord", "email": "lena@northwind.example", "country": "DE"}
    admin_client.post(reverse("contacts:create"), {**data, "open_tracking": "not_asked"})
    contact = org.contacts.get(email="lena@northwind.example")
    admin_client.post(reverse("contacts:edit", args=[contact.pk]), {**data, "open_tracking": "allowed"})
    admin_client.post(
        reverse("contacts:edit", args=[contact.pk]), {**data, "phone": "+49 30 1234", "open_tracking": "allowed"}
    )
    return contact


def _history(org, admin_user, lead, count: int) -> None:
    now = timezone.now()
    for n in range(count):
        email = email_with_opens(
            organization=org, sender=admin_user, contact=lead, opens=[now - dt.timedelta(minutes=m) for m in (3, 2, 1)]
        )
        EmailRecipientFactory(email=email, address=f"other{n}@example.net", contact=None)
    reply = EmailFactory(
        organization=org,
        sender=admin_user,
        direction=Email.Direction.INCOMING,
        source=Email.Source.CLIENT,
        from_address=lead.email,
        body_text="Thanks, sounds good.",
        track_opens=False,
    )
    EmailRecipientFactory(email=reply, kind=EmailRecipient.Kind.FROM, contact=lead, address=lead.email)


def test_export_holds_every_row_about_the_contact(org, admin_user, admin_client, lead, django_assert_num_queries):
    _history(org, admin_user, lead, 3)
    # Someone else's email and opens: not in the export.
    other = email_with_opens(organization=org, sender=admin_user, opens=[timezone.now()])
    # Her address typed by hand (no contact linked) on an email of its own.
    typed = EmailRecipientFactory(
        email=EmailFactory(organization=org, sender=admin_user), contact=None, address="Lena@Northwind.example"
    )
    add_opens(typed, [timezone.now()])

    with django_assert_num_queries(9):
        response = admin_client.get(reverse("privacy:export", args=[lead.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == (
        f'attachment; filename="contact-{lead.pk}-{timezone.localdate():%Y-%m-%d}.json"'
    )
    data = json.loads(response.content)

    assert data["contact"]["email"] == "lena@northwind.example"
    assert data["contact"]["phone"] == "+49 30 1234"
    assert data["contact"]["country"] == "DE"
    assert data["contact"]["open_tracking"] == "allowed"
    assert [a["id"] for a in data["activities"]] == list(
        ContactActivity.objects.filter(contact=lead).order_by("at", "pk").values_list("pk", flat=True)
    )
    assert [(r["id"], r["old_value"], r["new_value"], r["who"]) for r in data["consent_records"]] == [
        (r.pk, r.old_value, r.new_value, r.who) for r in ConsentRecord.objects.filter(contact=lead).order_by("at", "pk")
    ]
    assert len(data["consent_records"]) == 1

    about_her = EmailRecipient.objects.filter(contact=lead) | EmailRecipient.objects.filter(pk=typed.pk)
    exported = data["emails_received"] + data["emails_from_contact"]
    assert sorted(item["recipient"]["id"] for item in exported) == sorted(about_her.values_list("pk", flat=True))
    assert sorted(o["id"] for item in exported for o in item["opens"]) == sorted(
        OpenEvent.objects.filter(recipient__in=about_her).values_list("pk", flat=True)
    )
    assert len(data["emails_from_contact"]) == 1
    assert data["emails_from_contact"][0]["email"]["body_text"] == "Thanks, sounds good."
    received = data["emails_received"][0]
    row = EmailRecipient.objects.get(pk=received["recipient"]["id"])
    assert received["email"]["subject"] == row.email.subject
    assert received["recipient"]["open_count"] == row.open_count == len(received["opens"]) == 3
    assert received["recipient"]["tracking_mode"] == "identified"
    assert {o["opened_at"] for o in received["opens"]} == {
        o.opened_at.isoformat() for o in OpenEvent.objects.filter(recipient=row)
    }
    body = response.content.decode()
    assert "other0@example.net" not in body
    assert other.subject not in body


def test_export_costs_the_same_queries_with_a_longer_history(
    org, admin_user, admin_client, lead, django_assert_num_queries
):
    _history(org, admin_user, lead, 12)
    with django_assert_num_queries(9):
        assert admin_client.get(reverse("privacy:export", args=[lead.pk])).status_code == 200


def test_the_contact_page_links_the_export_for_admins_only(org, admin_client, lead, client):
    url = reverse("privacy:export", args=[lead.pk])
    assert url in admin_client.get(reverse("contacts:detail", args=[lead.pk])).content.decode()
    client.force_login(MembershipFactory(organization=org, role="rep").user)
    assert url not in client.get(reverse("contacts:detail", args=[lead.pk])).content.decode()


def test_a_rep_cannot_export(org, lead, client):
    client.force_login(MembershipFactory(organization=org, role="rep").user)
    response = client.get(reverse("privacy:export", args=[lead.pk]))
    assert response.status_code == 403
    assert b"lena@northwind.example" not in response.content


def test_another_organizations_admin_gets_404(other_org, lead, client):
    client.force_login(MembershipFactory(organization=other_org, role="admin").user)
    response = client.get(reverse("privacy:export", args=[lead.pk]))
    assert response.status_code == 404
    assert b"lena@northwind.example" not in response.content


def test_export_refuses_post(admin_client, lead):
    assert admin_client.post(reverse("privacy:export", args=[lead.pk])).status_code == 405
