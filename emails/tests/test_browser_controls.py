"""In Chromium: an admin switches Allow open tracking off (confirming it), and
the rep's composer then shows the Track toggle disabled with the reason."""

import pytest

from conftest import screenshot, sign_in
from contacts.tests.factories import ContactFactory
from emails.models import EmailConfiguration
from emails.tests.factories import EmailConfigurationFactory, MailboxFactory
from onepage.models import SettingChange

pytestmark = pytest.mark.browser


def test_admin_switches_tracking_off_and_the_reps_toggle_is_disabled(page, org, admin_user, rep_user):
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    MailboxFactory(user=rep_user)
    contact = ContactFactory(organization=org, first_name="Aoife", last_name="Murphy", country="US")

    sign_in(page, "ada")
    page.click("nav.mainnav >> text=Settings")
    page.click("text=Email configuration")
    allow = page.locator("#id_allow_open_tracking")
    assert allow.is_checked()
    allow.uncheck()
    page.click("form.form button[type=submit]")

    # The server asks first, and says what happens.
    assert page.locator("h1").inner_text() == "Switch off open tracking?"
    assert "Emails sent from now on are not tracked" in page.inner_text("main")
    assert "Track toggle is disabled" in page.inner_text("main")
    screenshot(page, "email_configuration_confirm")
    assert EmailConfiguration.objects.get(organization=org).allow_open_tracking is True
    page.click("button:has-text('Switch off open tracking')")

    page.wait_for_url("**/settings/email-configuration/")
    assert "Allow open tracking is off" in page.inner_text(".messages")
    assert not page.locator("#id_allow_open_tracking").is_checked()
    log = page.locator("table.change-log tbody tr").first.inner_text()
    assert admin_user.display_name in log and "Allow open tracking" in log and "On → Off" in log
    screenshot(page, "email_configuration_off")
    assert SettingChange.objects.get().actor == admin_user

    page.click("text=Log out")
    sign_in(page, "rex")
    page.goto(f"/email/compose/?contact={contact.pk}")
    track = page.locator("#id_track")
    assert track.is_disabled()
    assert not track.is_checked()
    assert page.inner_text("#track-line") == "Allow open tracking is off for your organization"
    screenshot(page, "composer_tracking_off")

    # A rep sees the configuration read-only.
    page.goto("/settings/email-configuration/")
    assert page.locator("#id_allow_open_tracking").count() == 0
    assert "Only your organization's admins can change these settings" in page.inner_text("main")


def test_admin_downgrades_and_the_composer_offers_an_upgrade_instead(page, org, admin_user):
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    MailboxFactory(user=admin_user)

    sign_in(page, "ada")
    page.goto("/settings/plan/")
    page.click("text=Switch to Professional")
    assert page.locator("h1").inner_text() == "Switch to Professional?"
    page.click("button:has-text('Switch to Professional')")
    page.wait_for_url("**/settings/plan/")
    assert "You are on the Professional plan" in page.inner_text(".messages")
    screenshot(page, "plan_professional")

    page.goto("/email/compose/")
    assert page.locator("#id_track").count() == 0
    assert page.get_by_role("link", name="Upgrade to Business to track opens").is_visible()
    # The composer has its own hint; the banner is for the pages with reports.
    assert page.locator("#plan-banner").count() == 0
    page.goto("/email/")
    assert "so new emails are not tracked" in page.inner_text("#plan-banner")
    screenshot(page, "composer_professional")


def test_contact_page_shows_the_open_tracking_preference_and_its_effect(page, org, rep_user):
    EmailConfigurationFactory(organization=org, allow_open_tracking=True, track_eu_only_with_consent=True)
    contact = ContactFactory(organization=org, first_name="Siobhán", last_name="Walsh", country="IE")

    sign_in(page, "rex")
    page.goto(f"/contacts/{contact.pk}/")
    details = page.inner_text("#contact-open-tracking")
    assert details.startswith("Not asked")
    assert "Not tracked. Contacts in the EU/EEA and UK are tracked only when they have allowed it." in details
    screenshot(page, "contact_open_tracking")

    page.click("text=Edit")
    page.select_option("#id_open_tracking", "allowed")
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"**/contacts/{contact.pk}/")
    assert page.inner_text("#contact-open-tracking") == "Allowed"
