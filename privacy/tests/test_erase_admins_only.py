"""Erasing a contact (the right to be forgotten, irreversible, for the whole
team) is for admins, like the export. A rep sees no Delete button but who can
erase; the erase URL answers a rep with the admins-only page (403) and
erases nothing."""

import pytest
from django.urls import reverse

from contacts.models import Contact, ContactErasure
from contacts.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(org):
    return ContactFactory(organization=org, first_name="Lena", last_name="Berg")


def test_a_rep_cannot_erase_a_contact(rep_client, lead, admin_user):
    url = reverse("privacy:erase", args=[lead.pk])
    for response in (rep_client.get(url), rep_client.post(url)):
        assert response.status_code == 403
        page = response.content.decode()
        assert "Only admins can do this" in page
        assert "Only an admin can erase Lena Berg" in page
        assert admin_user.display_name in page  # who to ask
    assert Contact.objects.filter(pk=lead.pk).exists()
    assert not ContactErasure.objects.exists()


def test_a_rep_sees_no_delete_button_but_who_can_erase(rep_client, lead):
    page = rep_client.get(reverse("contacts:detail", args=[lead.pk])).content.decode()
    assert reverse("privacy:erase", args=[lead.pk]) not in page
    assert "Only an admin can erase this contact." in page


def test_an_admin_erases(admin_client, lead):
    page = admin_client.get(reverse("contacts:detail", args=[lead.pk])).content.decode()
    assert reverse("privacy:erase", args=[lead.pk]) in page
    assert admin_client.get(reverse("privacy:erase", args=[lead.pk])).status_code == 200
    assert admin_client.post(reverse("privacy:erase", args=[lead.pk])).status_code == 302
    assert not Contact.objects.filter(pk=lead.pk).exists()


def test_another_organizations_contact_stays_a_404_for_a_rep(rep_client, other_org):
    theirs = ContactFactory(organization=other_org)
    assert rep_client.post(reverse("privacy:erase", args=[theirs.pk])).status_code == 404
    assert Contact.objects.filter(pk=theirs.pk).exists()
