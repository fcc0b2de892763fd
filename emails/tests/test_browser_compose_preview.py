"""In Chromium, as a rep writes: the composer's tracking preview follows what
is typed in To, Cc and Bcc and the Track switch, without a reload; a fix
opened in another tab (setting the contact's country) shows in the preview
when the rep comes back to the composer."""

import re

import pytest
from playwright.sync_api import expect

from conftest import screenshot, sign_in
from contacts.models import Contact
from contacts.tests.factories import ContactFactory
from emails.tests.factories import EmailConfigurationFactory, MailboxFactory

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [390, 1280])
def test_the_preview_follows_what_the_rep_types(page, org, rep_user, width):
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    MailboxFactory(user=rep_user)
    nina = ContactFactory(
        organization=org, first_name="Nina", last_name="Newlead", email="nina@newlead.example", country=""
    )
    ContactFactory(organization=org, first_name="Ida", last_name="Known", email="ida@known.example", country="US")
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "rex")
    page.goto(f"/email/compose/?contact={nina.pk}")
    line = page.locator("#track-line")
    assert line.inner_text() == "Opens counted in the email's total only."

    page.fill("#id_to", "nina@newlead.example, Ida Known <ida@known.example>")
    page.fill("#id_cc", "new@prospect.example")
    expect(line).to_have_text(re.compile("^1 of 3 recipients by name"), timeout=5000)
    assert page.locator(".track-recipient").count() == 3
    assert "Add as a contact" in page.locator('.track-recipient[data-address="new@prospect.example"]').inner_text()
    screenshot(page, f"compose-preview-{width}")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width

    page.locator("label.switch").click()
    expect(line).to_have_text(re.compile("^Off:"), timeout=5000)
    page.locator("label.switch").click()
    expect(line).to_have_text(re.compile("^1 of 3"), timeout=5000)

    # The fix opens in another tab; the draft stays as it is.
    with page.context.expect_page() as opened:
        page.locator(f'.track-recipient[data-address="{nina.email}"] >> text=Set the country').click()
    edit = opened.value
    edit.wait_for_load_state()
    edit.select_option("#id_country", "US")
    edit.click("form.form button[type=submit]")
    edit.locator(".messages >> text=Changes saved.").wait_for()
    edit.close()
    assert Contact.objects.get(pk=nina.pk).country == "US"
    page.bring_to_front()
    page.evaluate("window.dispatchEvent(new FocusEvent('focus'))")
    expect(line).to_have_text(re.compile("^2 of 3"), timeout=5000)
    assert page.input_value("#id_cc") == "new@prospect.example"
