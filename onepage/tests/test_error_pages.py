"""Error pages in the app's layout, each reached the way a user reaches it."""

import pytest
from django.test import Client
from django.urls import reverse
from django.views.defaults import server_error

pytestmark = pytest.mark.django_db


def test_missing_page_is_a_404_in_the_layout(rep_client):
    response = rep_client.get("/no/such/page/")
    assert response.status_code == 404
    content = response.content.decode()
    assert "There is nothing here" in content
    assert 'class="topbar"' in content  # signed in: the usual navigation
    assert "/static/css/onepage.css" in content


def test_another_organizations_contact_is_the_same_404(rep_client, other_org):
    from contacts.tests.factories import ContactFactory

    theirs = ContactFactory(organization=other_org)
    response = rep_client.get(reverse("contacts:detail", args=[theirs.pk]))
    assert response.status_code == 404
    assert "There is nothing here" in response.content.decode()


def test_unknown_host_is_a_400_in_the_layout(client):
    response = client.get("/accounts/login/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert "That request could not be understood" in response.content.decode()


def test_expired_form_is_a_403_that_says_to_reload(db):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "ada", "password": "x"})
    assert response.status_code == 403
    content = response.content.decode()
    assert "This form has expired" in content
    assert "/static/css/onepage.css" in content


def test_server_error_page_needs_no_database(rf, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = server_error(rf.get("/contacts/"))
    assert response.status_code == 500
    content = response.content.decode()
    assert "Something went wrong on our side" in content
    assert "/static/css/onepage.css" in content
