"""The pages that say who may do what, in Chromium at 390 and 1280 px: a
colleague's failed email (no Retry, who can), the sender's (Retry), the
folders' Showing picker for a rep, and a contact's page for a rep (no
Delete, who can erase). Nothing runs off the screen."""

import pytest
from django.utils import timezone

from conftest import screenshot, sign_in
from contacts.tests.factories import ContactFactory
from emails.models import Email
from emails.tests.factories import EmailConfigurationFactory, EmailFactory, EmailRecipientFactory, MailboxFactory

pytestmark = pytest.mark.browser

WIDTHS = (390, 1280)


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_who_may_do_what_reads_on_a_phone_and_in_a_window(page, org, rep_user, admin_user):
    for user, first, last in ((rep_user, "Rex", "Rep"), (admin_user, "Ada", "Admin")):
        user.first_name, user.last_name = first, last
        user.save(update_fields=["first_name", "last_name"])
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    MailboxFactory(user=rep_user)
    lena = ContactFactory(organization=org, first_name="Lena", last_name="Berg", email="lena@northwind.example")
    failed = {}
    for sender in (rep_user, admin_user):
        email = EmailFactory(
            organization=org,
            sender=sender,
            subject=f"Offer from {sender.first_name}",
            status=Email.Status.FAILED,
            sent_at=None,
            error="550 5.1.1 Mailbox unavailable",
        )
        EmailRecipientFactory(email=email, contact=lena, address=lena.email)
        failed[sender.first_name] = email
    sent = EmailFactory(organization=org, sender=admin_user, subject="Ada's proposal", last_opened_at=timezone.now())
    EmailRecipientFactory(email=sent, contact=lena, address=lena.email, delivery_uncertain_at=timezone.now())

    sign_in(page, "rex")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})

        page.goto(f"/email/{failed['Ada'].pk}/")
        assert page.locator("button", has_text="Retry").count() == 0
        assert page.get_by_text("Only Ada Admin can retry it: it goes out from their mailbox.").is_visible()
        assert _fits(page), width
        screenshot(page, f"roles-colleagues-email-{width}")

        page.goto(f"/email/{sent.pk}/")
        assert page.locator("button", has_text="Resend").count() == 0
        assert page.get_by_text("Only Ada Admin can resend a copy").is_visible()
        assert _fits(page), width
        screenshot(page, f"roles-colleagues-uncertain-{width}")

        page.goto(f"/email/{failed['Rex'].pk}/")
        assert page.locator("button", has_text="Retry").is_visible()
        assert _fits(page), width
        screenshot(page, f"roles-own-email-{width}")

        page.goto("/email/?sender=all")
        assert page.locator("#sender").is_visible()
        assert page.locator("#sender option:checked").inner_text() == "Everyone"
        assert page.get_by_text("from Ada Admin").first.is_visible()
        assert _fits(page), width
        screenshot(page, f"roles-folders-everyone-{width}")

        page.goto(f"/contacts/{lena.pk}/")
        assert page.locator("a", has_text="Delete").count() == 0
        assert page.get_by_text("Only an admin can erase this contact.").is_visible()
        assert _fits(page), width
        screenshot(page, f"roles-contact-rep-{width}")

        page.goto(f"/contacts/{lena.pk}/delete/")
        assert page.get_by_text("Only an admin can erase Lena Berg.").is_visible()
        assert _fits(page), width
        screenshot(page, f"roles-erase-refused-{width}")
