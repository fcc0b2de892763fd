import pytest

from conftest import screenshot, sign_in
from contacts.tests.factories import ContactFactory

pytestmark = pytest.mark.browser


def test_rep_signs_in_searches_creates_and_opens_a_contact(page, org, rep_user):
    ContactFactory(organization=org, first_name="Aoife", last_name="Murphy", company="Brightline")
    ContactFactory(organization=org, first_name="Bruno", last_name="Rossi", company="Northwind")

    sign_in(page, "rex")
    assert page.locator("h1").first.inner_text().startswith("Contacts")

    page.fill("input[name=q]", "bright")
    page.click("form[role=search] button")
    rows = page.locator("table tbody tr")
    assert rows.count() == 1
    assert "Aoife Murphy" in rows.first.inner_text()

    page.click("text=+ New contact")
    page.click("form.form button[type=submit]")  # empty form: field errors, nothing lost
    assert page.locator(".field.has-error").count() >= 1
    page.fill("#id_first_name", "Chloé")
    page.fill("#id_last_name", "Dubois")
    page.fill("#id_email", "chloe@bluepeak.example")
    page.select_option("#id_country", "FR")
    page.click("form.form button[type=submit]")

    page.wait_for_url("**/contacts/*/")
    assert page.locator("h1").inner_text() == "Chloé Dubois"
    assert "France" in page.locator(".details").inner_text()
    assert "Contact created" in page.locator("#timeline").inner_text()
    screenshot(page, "contact_detail")
