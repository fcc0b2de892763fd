"""The bell: the unread count the top bar polls, the panel of the latest
notifications (in words), marking them read, muting an email; each user
sees only their own; the count and the panel in a fixed number of queries."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alerts.models import EmailMute, Notification
from contacts.tests.factories import ContactFactory
from emails.tests.factories import EmailFactory, EmailRecipientFactory
from onepage.tests.factories import MembershipFactory
from tracking.hits import Open
from tracking.writer import write_opens

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _midday():
    """Opens minutes and hours ago stay on today's date, whenever the suite
    runs (run just after midnight, "today 23:33" was said "3 Dec, 23:33")."""
    with time_machine.travel(datetime(2026, 12, 2, 12, 0, tzinfo=UTC), tick=True):
        yield


Kind = Notification.Kind
_keys = iter(range(10**9))


@pytest.fixture
def write(django_capture_on_commit_callbacks):
    """Write opens as the recorder does and run what its commit runs."""

    def write(recipient, *ats) -> None:
        opens = [Open(recipient_id=recipient.pk, opened_at=at, key=f"bell-{next(_keys)}") for at in ats]
        with django_capture_on_commit_callbacks(execute=True):
            write_opens(opens=opens)

    return write


@pytest.fixture
def bea(org, rep_user):
    email = EmailFactory(organization=org, sender=rep_user, subject="Spring order")
    contact = ContactFactory(organization=org, first_name="Bea", last_name="Buyer", email="bea@buyer.example")
    return EmailRecipientFactory(
        email=email, contact=contact, address=contact.email, delivered_at=timezone.now() - timedelta(days=5)
    )


def someone(bea, address: str):
    """Another recipient of Bea's email, a contact without a name: named by
    the address the rep wrote to."""
    contact = ContactFactory(organization=bea.email.organization, first_name="", last_name="", email=address)
    return EmailRecipientFactory(email=bea.email, contact=contact, address=address, delivered_at=bea.delivered_at)


def count_of(client) -> str:
    response = client.get(reverse("alerts:count"))
    assert response.status_code == 200
    html = response.content.decode().strip()
    assert html.startswith('<span class="bell-counted">') and html.endswith("</span>")
    return html.removeprefix('<span class="bell-counted">').removesuffix("</span>")


def panel_of(client) -> str:
    response = client.get(reverse("alerts:panel"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    return " ".join(response.content.decode().split())


def test_every_page_has_the_bell_polling_its_count_every_5_seconds(rep_client):
    html = rep_client.get(reverse("contacts:list")).content.decode()
    assert 'class="bell"' in html
    assert f'hx-get="{reverse("alerts:count")}" hx-trigger="load, every 5s"' in html
    # What the poll keeps of its answer: a signed-out poll (the sign-in page) shows no count.
    assert 'hx-select=".bell-counted"' in html
    assert f'hx-get="{reverse("alerts:panel")}" hx-trigger="toggle"' in html


def test_the_count_is_hidden_at_none_and_counts_the_unread(rep_client, bea, write):
    assert count_of(rep_client) == ""
    now = timezone.now()
    write(bea, now - timedelta(hours=2))
    assert '<span class="bell-badge">1</span>' in count_of(rep_client)

    # Twelve more people's first opens: "9+".
    for k in range(12):
        other = someone(bea, f"p{k}@buyer.example")
        write(other, now - timedelta(minutes=k))
    assert '<span class="bell-badge">9+</span>' in count_of(rep_client)


def test_the_panel_says_who_opened_what_and_when(rep_client, bea, write, org, rep_user):
    now = timezone.now()
    write(bea, now - timedelta(days=4))  # first open
    write(bea, now - timedelta(hours=1))  # came back after 3 days (and a bit)
    write(bea, now - timedelta(minutes=30), now - timedelta(minutes=20), now - timedelta(minutes=10), now)
    stranger = someone(bea, "no.contact@buyer.example")
    write(stranger, now - timedelta(minutes=5))

    html = panel_of(rep_client)
    assert "<strong>Bea Buyer</strong> opened again after 3 days" in html
    assert "<strong>Bea Buyer</strong> opened 4 more times today" in html
    assert "<strong>no.contact@buyer.example</strong> opened <span" in html
    assert html.count("Spring order") == 4
    assert html.count("<time ") == 4 and html.count("New</span>") == 4
    first = Notification.objects.get(kind=Kind.FIRST_OPEN, recipient=bea)
    assert reverse("alerts:open", args=[first.pk]) in html
    assert reverse("contacts:detail", args=[bea.contact_id]) in html
    assert html.count("Mute alerts") == 4 and "Mark all read" in html


def test_the_panel_shows_the_latest_ten(rep_client, bea, write):
    now = timezone.now()
    for k in range(12):
        other = someone(bea, f"p{k:02d}@buyer.example")
        write(other, now - timedelta(minutes=k))
    html = panel_of(rep_client)
    assert html.count('class="bell-item') == 10
    assert "p00@buyer.example" in html and "p09@buyer.example" in html and "p10@" not in html


def test_an_empty_panel_says_so(rep_client):
    html = panel_of(rep_client)
    assert "No opens yet: you'll see here when someone opens your emails." in html
    assert "Mark all read" not in html
    # Without htmx: a page of its own.
    page = rep_client.get(reverse("alerts:panel"))
    assert page.status_code == 200 and b"<html" in page.content and b"No opens yet" in page.content


def test_a_notifications_link_marks_it_read_and_shows_the_email(rep_client, bea, write):
    write(bea, timezone.now())
    n = Notification.objects.get()
    response = rep_client.get(reverse("alerts:open", args=[n.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("emails:detail", args=[bea.email_id])
    n.refresh_from_db()
    assert n.read_at is not None
    assert count_of(rep_client) == ""
    assert "New</span>" not in panel_of(rep_client)


def test_mark_all_read(rep_client, bea, write):
    now = timezone.now()
    write(bea, now - timedelta(hours=1))
    write(someone(bea, "x@buyer.example"), now)
    response = rep_client.post(reverse("alerts:read_all"), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "New</span>" not in html and "Mark all read" not in html and "Bea Buyer" in html
    assert 'id="bell-count" class="bell-count" hx-swap-oob="innerHTML"></span>' in html
    assert not Notification.objects.filter(read_at__isnull=True).exists()
    assert count_of(rep_client) == ""


def test_mute_on_the_email_page_then_an_open_tells_nobody(rep_client, bea, write, rep_user):
    page = rep_client.get(reverse("emails:detail", args=[bea.email_id])).content.decode()
    assert "Mute alerts" in page and reverse("alerts:mute", args=[bea.email_id]) in page

    response = rep_client.post(reverse("alerts:mute", args=[bea.email_id]), {"action": "mute"}, follow=True)
    assert response.redirect_chain == [(reverse("emails:detail", args=[bea.email_id]), 302)]
    page = response.content.decode()
    assert "Alerts muted for this email" in page and "Unmute alerts" in page
    assert EmailMute.objects.filter(user=rep_user, email=bea.email).exists()

    write(bea, timezone.now())
    assert Notification.objects.count() == 0 and count_of(rep_client) == ""

    rep_client.post(reverse("alerts:mute", args=[bea.email_id]), {"action": "unmute"})
    assert not EmailMute.objects.exists()
    write(someone(bea, "y@buyer.example"), timezone.now())
    assert Notification.objects.count() == 1


def test_mute_from_the_panel(rep_client, bea, write, rep_user):
    write(bea, timezone.now())
    response = rep_client.post(
        reverse("alerts:mute", args=[bea.email_id]), {"action": "mute"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200 and "Unmute" in html and "Bea Buyer" in html
    assert EmailMute.objects.filter(user=rep_user, email=bea.email).exists()


def test_mute_without_saying_what_is_a_clear_400(rep_client, bea):
    response = rep_client.post(reverse("alerts:mute", args=[bea.email_id]), {"action": "louder"})
    assert response.status_code == 400 and b"mute or unmute" in response.content
    assert not EmailMute.objects.exists()


def test_only_the_sender_mutes_and_has_the_button(admin_client, bea):
    """Only the sender is told of an email's opens: a colleague's email has
    no alerts of theirs to mute (404, and no button on its page)."""
    page = admin_client.get(reverse("emails:detail", args=[bea.email_id])).content.decode()
    assert page.count("Mute alerts") == 0
    response = admin_client.post(reverse("alerts:mute", args=[bea.email_id]), {"action": "mute"})
    assert response.status_code == 404 and not EmailMute.objects.exists()


def test_nobody_sees_or_reads_anothers_notifications(bea, write, admin_user, other_org, rep_client):
    write(bea, timezone.now())
    n = Notification.objects.get()
    zed = MembershipFactory(organization=other_org, role="admin", user__username="zed").user
    for user in (admin_user, zed):  # a colleague (an admin), another organization's admin
        client = Client()
        client.force_login(user)
        assert count_of(client) == ""
        assert "Bea Buyer" not in panel_of(client)
        assert client.get(reverse("alerts:open", args=[n.pk])).status_code == 404
        client.post(reverse("alerts:read_all"))
        assert client.post(reverse("alerts:mute", args=[bea.email_id]), {"action": "mute"}).status_code == 404
    n.refresh_from_db()
    assert n.read_at is None and not EmailMute.objects.exists()
    assert "bell-badge" in count_of(rep_client)


def test_the_count_costs_the_session_the_user_the_membership_and_one_count(
    rep_client, bea, write, django_assert_num_queries
):
    write(bea, timezone.now())
    rep_client.get(reverse("alerts:count"))  # the session, warmed
    with django_assert_num_queries(4) as captured:
        assert "bell-badge" in count_of(rep_client)
    assert "COUNT(" in captured.captured_queries[-1]["sql"]


def test_the_panel_costs_a_fixed_number_of_queries(rep_client, bea, write, django_assert_num_queries):
    now = timezone.now()
    for k in range(12):
        write(someone(bea, f"q{k}@buyer.example"), now - timedelta(minutes=k))
    rep_client.get(reverse("alerts:count"))
    # The session, the user, the membership, the notifications with their
    # emails and recipients, the mutes among them.
    with django_assert_num_queries(5):
        panel_of(rep_client)
