"""The team's own opens: no pixel in a copy to the sender or a colleague
(emails.policy), and the member cookie's `self` verdict when a member's
signed-in browser fetches a recipient's pixel (Chromium)."""

import pytest
from django.urls import reverse

from conftest import sign_in
from contacts.tests.factories import ContactFactory
from emails.models import EmailConfiguration, NotTrackedReason
from emails.pixels import make_token
from emails.policy import decide
from emails.tests.factories import MailboxFactory
from onepage.tests.factories import MembershipFactory
from tracking import recorder
from tracking.models import OpenEvent, Verdict
from tracking.tests.open_helpers import email_with_opens

pytestmark = pytest.mark.django_db


def test_copies_to_the_team_carry_no_pixel(org, other_org):
    sender = MembershipFactory(organization=org, user__email="rex@example.com").user
    MailboxFactory(user=sender, organization=org, from_address="rex@acme.example")
    colleague = MembershipFactory(organization=org, user__email="Ada@Acme.Example").user
    outsider = MembershipFactory(organization=other_org, user__email="rival@rival.example").user
    config = EmailConfiguration.objects.of(org)
    config.allow_open_tracking = True
    config.save()  # the EU rule on, as by default
    lead = ContactFactory(organization=org, email="lena@northwind.example")
    addresses = ["lena@northwind.example", "REX@acme.example", "rex@example.com", "ada@acme.example", outsider.email]

    overall, decisions = decide(
        organization=org, sender=sender, contacts=[lead, None, None, None, None], config=config, addresses=addresses
    )

    assert overall.track
    assert [d.track for d in decisions] == [True, False, False, False, True]
    # Another organization's user is no colleague: an address that is no
    # contact, counted in the total only (the EU rule's default).
    assert [d.aggregate for d in decisions] == [False, False, False, False, True]
    assert [d.reason for d in decisions][1:4] == [NotTrackedReason.INTERNAL] * 3
    assert decisions[1].message == "Sent to yourself or a colleague: not tracked"
    assert colleague.email  # a colleague's address, any case


def test_a_copy_only_to_yourself_is_not_tracked(org):
    sender = MembershipFactory(organization=org, user__email="rex@example.com").user
    MailboxFactory(user=sender, organization=org)
    config = EmailConfiguration.objects.of(org)
    config.allow_open_tracking = True
    config.save()
    overall, (decision,) = decide(
        organization=org, sender=sender, contacts=[None], config=config, addresses=["rex@example.com"]
    )
    assert not overall.track and overall.reason == NotTrackedReason.INTERNAL
    assert not decision.track


@pytest.mark.browser
def test_the_senders_signed_in_browser_fetching_the_pixel_is_self(page, org, rep_user, settings, live_server):
    settings.OPEN_VERDICTS = True
    settings.REDIS_URL = ""  # written directly by the live server's thread
    email = email_with_opens(organization=org, sender=rep_user, subject="Proposal")
    recipient = email.recipients.get()
    pixel = reverse("tracking:pixel", args=[make_token(recipient.pk)])

    sign_in(page, "rex")
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "onepage_member"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    response = page.goto(pixel)
    assert response.status == 200 and response.headers["content-type"] == "image/gif"
    recorder.drain_opens()

    assert list(OpenEvent.objects.values_list("verdict", flat=True)) == [Verdict.SELF]
    recipient.refresh_from_db()
    assert (recipient.open_count, recipient.automatic_count) == (0, 1)
    page.goto(reverse("emails:detail", args=[email.pk]))
    assert page.locator(".automatic-fetches").first.get_attribute("title") == (
        "Not counted as opens: your team's own browser"
    )

    # The same pixel from another browser, with no member cookie: an open.
    other = page.context.browser.new_context(base_url=live_server.url)
    try:
        assert other.new_page().goto(pixel).status == 200
    finally:
        other.close()
    recipient.refresh_from_db()
    assert (recipient.open_count, recipient.automatic_count) == (1, 1)
