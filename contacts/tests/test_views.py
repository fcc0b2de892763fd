import datetime as dt

import pytest
from django.urls import reverse

from contacts.models import Contact, ContactActivity
from contacts.tests.factories import ContactFactory
from onepage.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_list_shows_only_my_organizations_contacts(rep_client, org, other_org):
    ContactFactory(organization=org, first_name="Mine")
    ContactFactory(organization=other_org, first_name="Theirs")
    response = rep_client.get(reverse("contacts:list"))
    assert b"Mine" in response.content
    assert b"Theirs" not in response.content


def test_search_matches_name_email_and_company(rep_client, org):
    ContactFactory(
        organization=org, first_name="Aoife", last_name="Murphy", company="Brightline", email="a@bright.example"
    )
    ContactFactory(
        organization=org, first_name="Bruno", last_name="Rossi", company="Northwind", email="b@north.example"
    )
    for q in ["aoife", "murphy", "bright.example", "Brightline", "Aoife Murphy"]:
        names = [c.first_name for c in rep_client.get(reverse("contacts:list"), {"q": q}).context["page"]]
        assert names == ["Aoife"], q


def test_search_with_no_match_says_so(rep_client, org):
    response = rep_client.get(reverse("contacts:list"), {"q": "zzz<b>"})
    assert b"No contacts match" in response.content
    assert b"zzz&lt;b&gt;" in response.content


def test_list_is_paginated_with_a_fixed_number_of_queries(rep_client, org, django_assert_max_num_queries):
    ContactFactory.create_batch(30, organization=org)
    with django_assert_max_num_queries(6):
        first = rep_client.get(reverse("contacts:list"))
    assert len(first.context["page"].object_list) == 25
    second = rep_client.get(reverse("contacts:list"), {"page": 2})
    assert len(second.context["page"].object_list) == 5
    assert b"Page 2 of 2" in second.content


def test_empty_list_invites_to_add(rep_client):
    assert b"No contacts yet" in rep_client.get(reverse("contacts:list")).content


def test_create_contact_records_creation(rep_client, org, rep_user):
    response = rep_client.post(
        reverse("contacts:create"),
        {
            "first_name": "Greta",
            "last_name": "Larsen",
            "email": "greta@kestrel.example",
            "country": "DK",
            "open_tracking": "allowed",
        },
    )
    contact = Contact.objects.get(email="greta@kestrel.example")
    assert response.url == reverse("contacts:detail", args=[contact.pk])
    assert contact.organization == org
    assert contact.activities.get().kind == ContactActivity.Kind.CREATED
    assert contact.activities.get().actor == rep_user


def test_create_rejects_bad_input_with_field_errors(rep_client):
    response = rep_client.post(reverse("contacts:create"), {"first_name": "", "email": "not-an-email", "country": "XX"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert {"first_name", "email", "country"} <= set(errors)
    assert Contact.objects.count() == 0


def test_duplicate_email_is_a_clear_error(rep_client, org, other_org):
    ContactFactory(organization=org, email="dup@example.org")
    response = rep_client.post(reverse("contacts:create"), {"first_name": "X", "email": "DUP@example.org"})
    assert response.context["form"].errors["email"] == ["Another contact already has this email address."]
    # Another organization may hold the same address.
    ContactFactory(organization=other_org, email="shared@example.org")
    response = rep_client.post(
        reverse("contacts:create"), {"first_name": "Y", "email": "shared@example.org", "open_tracking": "not_asked"}
    )
    assert response.status_code == 302


def test_edit_records_which_fields_changed(rep_client, org):
    contact = ContactFactory(organization=org, first_name="Finn", phone="")
    response = rep_client.post(
        reverse("contacts:edit", args=[contact.pk]),
        {
            "first_name": "Finn",
            "last_name": contact.last_name,
            "email": contact.email,
            "company": contact.company,
            "phone": "+353 1 555 0100",
            "country": "US",
            "open_tracking": "not_asked",
        },
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.phone == "+353 1 555 0100"
    assert contact.activities.get().detail == "phone"


def test_delete_asks_for_confirmation_first(admin_client, org):
    contact = ContactFactory(organization=org)
    response = admin_client.get(reverse("privacy:erase", args=[contact.pk]))
    assert b"cannot be undone" in response.content
    assert Contact.objects.filter(pk=contact.pk).exists()
    admin_client.post(reverse("privacy:erase", args=[contact.pk]))
    assert not Contact.objects.filter(pk=contact.pk).exists()


@pytest.mark.parametrize("name", ["contacts:detail", "contacts:edit", "privacy:erase"])
def test_another_organizations_contact_is_404(rep_client, other_org, name):
    theirs = ContactFactory(organization=other_org)
    assert rep_client.get(reverse(name, args=[theirs.pk])).status_code == 404
    assert rep_client.post(reverse(name, args=[theirs.pk]), {"first_name": "Hacked"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.first_name != "Hacked"


def test_detail_escapes_user_written_text(rep_client, org):
    contact = ContactFactory(organization=org, first_name="<script>alert(1)</script>", company="<b>Co</b>")
    body = rep_client.get(reverse("contacts:detail", args=[contact.pk])).content
    assert b"<script>alert(1)</script>" not in body
    assert b"&lt;script&gt;" in body


def test_detail_shows_times_in_each_viewers_time_zone(client, org):
    contact = ContactFactory(organization=org)
    Contact.objects.filter(pk=contact.pk).update(created_at=dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC))
    tokyo = MembershipFactory(organization=org, user__time_zone="Asia/Tokyo").user
    new_york = MembershipFactory(organization=org, user__time_zone="America/New_York").user
    client.force_login(tokyo)
    assert b"15 Jan 2026, 21:00" in client.get(reverse("contacts:detail", args=[contact.pk])).content
    client.force_login(new_york)
    assert b"15 Jan 2026, 07:00" in client.get(reverse("contacts:detail", args=[contact.pk])).content


def test_timeline_tabs(rep_client, org, rep_user):
    contact = ContactFactory(organization=org, first_name="Isla")
    ContactActivity.objects.create(contact=contact, kind="created", actor=rep_user, at=contact.created_at)
    all_tab = rep_client.get(reverse("contacts:detail", args=[contact.pk]))
    assert b"Contact created" in all_tab.content
    email_tab = rep_client.get(reverse("contacts:detail", args=[contact.pk]), {"tab": "email"})
    assert b"No emails to Isla yet" in email_tab.content


@pytest.mark.parametrize("q", ["chloe", "CHLOÉ", "garcia", "García", "chloé garcía"])
def test_search_ignores_accents_and_case(rep_client, org, q):
    ContactFactory(organization=org, first_name="Chloé", last_name="García", email="chloe@bluepeak.example")
    # A company of its own: the factory's made-up one may be "Garcia and Sons".
    ContactFactory(organization=org, first_name="Bruno", last_name="Rossi", company="Northwind")
    response = rep_client.get(reverse("contacts:list"), {"q": q})
    names = [c.full_name for c in response.context["page"].object_list]
    assert names == ["Chloé García"]


def test_an_accented_address_is_refused_with_the_same_words_in_both_forms(rep_client, rep_user, org):
    from emails.tests.factories import MailboxFactory

    response = rep_client.post(
        reverse("contacts:create"),
        {"first_name": "Chloé", "last_name": "Rossi", "email": "chloé.rossi@bluepeak.example"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["email"] == [
        "Accents and other letters beyond plain ASCII are not supported before the @ of an email address: "
        "most mail servers would refuse it."
    ]
    MailboxFactory(user=rep_user)
    response = rep_client.post(
        reverse("emails:compose"), {"to": "chloé.rossi@bluepeak.example", "subject": "Hi", "body": "Hello"}
    )
    (error,) = response.context["form"].errors["to"]
    assert error.startswith("Not a valid email address: chloé.rossi@bluepeak.example (accents and other letters")
    # The name may carry accents; the address must not.
    response = rep_client.post(
        reverse("contacts:create"),
        {
            "first_name": "Chloé",
            "last_name": "Rossi",
            "email": "chloe.rossi@bluepeak.example",
            "open_tracking": "not_asked",
        },
    )
    assert response.status_code == 302
