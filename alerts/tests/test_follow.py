"""An admin who follows a teammate ("Also tell me about") is told of the
opens of the teammate's emails as the sender is: the kinds and the quiet
period of the follower's own settings, the follower's own mutes; only while
the follower is an admin of the same organization; never twice for one
open. The panel says whose email it was, and the follower can mute it."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from alerts.models import AlertSettings, EmailMute, Notification
from contacts.tests.factories import ContactFactory
from emails.tests.factories import EmailFactory, EmailRecipientFactory
from onepage.models import Membership
from onepage.tests.factories import MembershipFactory
from tracking.hits import Open
from tracking.writer import write_opens

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_keys = iter(range(10**9))


def hit(recipient, at: datetime) -> Open:
    return Open(recipient_id=recipient.pk, opened_at=at, key=f"f-{next(_keys)}")


@pytest.fixture
def write(django_capture_on_commit_callbacks):
    def write(opens: list[Open]) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return write_opens(opens=opens)

    return write


@pytest.fixture
def sam(rep_user):
    """Rex is Sam Seller here: the name the follower's panel shows."""
    rep_user.first_name, rep_user.last_name = "Sam", "Seller"
    rep_user.save(update_fields=["first_name", "last_name"])
    return rep_user


@pytest.fixture
def bea(org, sam):
    email = EmailFactory(organization=org, sender=sam, subject="Spring order")
    contact = ContactFactory(organization=org, first_name="Bea", last_name="Buyer", email="bea@buyer.example")
    return EmailRecipientFactory(
        email=email, contact=contact, address=contact.email, delivered_at=T0 - timedelta(hours=2)
    )


def follow(follower, *teammates, **settings) -> AlertSettings:
    chosen, _ = AlertSettings.objects.update_or_create(user=follower, defaults=settings)
    chosen.follows.set(teammates)
    return chosen


def told(user) -> list[tuple[str, int]]:
    return list(user.notifications.order_by("opened_at", "pk").values_list("kind", "count"))


def test_an_admin_following_a_teammate_is_told_as_the_sender_is(write, bea, sam, admin_user):
    follow(admin_user, sam)
    write([hit(bea, T0), hit(bea, T0 + timedelta(minutes=5)), hit(bea, T0 + timedelta(minutes=9))])

    assert told(sam) == [(Kind.FIRST_OPEN, 1), (Kind.DIGEST, 2)]
    assert told(admin_user) == [(Kind.FIRST_OPEN, 1), (Kind.DIGEST, 2)]
    first = admin_user.notifications.get(kind=Kind.FIRST_OPEN)
    assert (first.email, first.recipient, first.organization) == (bea.email, bea, bea.email.organization)
    # Both hang on the same open: it goes, they go.
    assert first.open_id == sam.notifications.get(kind=Kind.FIRST_OPEN).open_id


def test_the_followers_own_kinds_and_quiet_period(write, bea, sam, admin_user):
    follow(admin_user, sam, came_back_after_hours=1, digest=False)
    write([hit(bea, T0)])
    write([hit(bea, T0 + timedelta(hours=2))])

    assert told(sam) == [(Kind.FIRST_OPEN, 1), (Kind.DIGEST, 1)]  # 24 h by default
    assert told(admin_user) == [(Kind.FIRST_OPEN, 1), (Kind.CAME_BACK, 1)]


def test_the_followers_own_mute(write, bea, sam, admin_user):
    follow(admin_user, sam)
    EmailMute.objects.create(user=admin_user, email=bea.email)
    write([hit(bea, T0)])
    assert told(admin_user) == [] and told(sam) == [(Kind.FIRST_OPEN, 1)]


def test_the_senders_mute_is_not_the_followers(write, bea, sam, admin_user):
    follow(admin_user, sam)
    EmailMute.objects.create(user=sam, email=bea.email)
    write([hit(bea, T0)])
    assert told(sam) == [] and told(admin_user) == [(Kind.FIRST_OPEN, 1)]


def test_only_while_the_follower_is_an_admin_of_the_organization(write, bea, sam, admin_user, other_org):
    follow(admin_user, sam)
    membership = admin_user.membership
    membership.role = Membership.Role.REP
    membership.save(update_fields=["role"])
    write([hit(bea, T0)])
    assert told(admin_user) == []

    membership.role, membership.organization = Membership.Role.ADMIN, other_org
    membership.save(update_fields=["role", "organization"])
    write([hit(bea, T0 + timedelta(days=2))])
    assert told(admin_user) == []

    membership.organization = sam.membership.organization
    membership.save(update_fields=["organization"])
    admin_user.is_active = False
    admin_user.save(update_fields=["is_active"])
    write([hit(bea, T0 + timedelta(days=4))])
    assert told(admin_user) == []
    assert [kind for kind, _ in told(sam)] == [Kind.FIRST_OPEN, Kind.CAME_BACK, Kind.CAME_BACK]


def test_never_twice_for_the_followers_own_email(write, org, admin_user, sam):
    """Ada follows Sam (and, forged past the form, herself): her own email's
    open is told to her once."""
    follow(admin_user, sam, admin_user)
    own = EmailFactory(organization=org, sender=admin_user, subject="Her own")
    recipient = EmailRecipientFactory(email=own, delivered_at=T0 - timedelta(hours=1))
    write([hit(recipient, T0)])
    assert told(admin_user) == [(Kind.FIRST_OPEN, 1)]
    assert told(sam) == []


def test_two_followers_and_a_replay(write, org, bea, sam, admin_user):
    other_admin = MembershipFactory(organization=org, role="admin", user__username="otto").user
    follow(admin_user, sam)
    follow(other_admin, sam)
    opens = [hit(bea, T0), hit(bea, T0 + timedelta(minutes=1))]
    write(opens)
    write(opens)  # replayed after a crash: nothing new, nothing counted twice
    for user in (sam, admin_user, other_admin):
        assert told(user) == [(Kind.FIRST_OPEN, 1), (Kind.DIGEST, 1)]


@pytest.mark.parametrize("size", [1, 2000])
def test_followers_cost_the_same_queries_whatever_the_batchs_size(
    org, sam, admin_user, size, write, settings, django_capture_on_commit_callbacks, django_assert_num_queries
):
    """Each recipient opened two hours before: the sender (24 h quiet) adds
    to a digest line, the follower (1 h quiet) is told it came back; so even
    one open takes every statement."""
    follow(admin_user, sam, came_back_after_hours=1)
    emails = EmailFactory.create_batch(2, organization=org, sender=sam)
    recipients = [EmailRecipientFactory(email=e) for e in emails for _ in range(5)]
    write([hit(r, T0 - timedelta(hours=2)) for r in recipients])
    opens = [
        Open(recipient_id=recipients[n % 10].pk, opened_at=T0 + timedelta(seconds=n), key=f"fq-{size}-{n}")
        for n in range(size)
    ]
    with django_capture_on_commit_callbacks() as callbacks:
        assert write_opens(opens=opens) == size
    # The senders, their followers, the mutes, the savepoint, the first
    # opens' and comebacks' insert, the digest lines' upsert, the release;
    # with Redis, the live channel's counts of the users told (alerts.live:
    # one grouped query whatever their number, none of them opted in to
    # browser notifications).
    # The digest lines a first open may have been counted in, counted again
    # (one statement); on PostgreSQL, the emails' lock against another
    # worker telling at the same moment (one statement).
    locked = connection.vendor == "postgresql"
    with django_assert_num_queries(8 + locked + bool(settings.REDIS_URL)):
        for callback in callbacks:
            callback()
    came_back = min(size, 10)
    assert admin_user.notifications.filter(kind=Kind.CAME_BACK).count() == came_back
    assert sum(admin_user.notifications.filter(kind=Kind.DIGEST).values_list("count", flat=True)) == size - came_back
    assert sum(sam.notifications.filter(kind=Kind.DIGEST).values_list("count", flat=True)) == size


def panel_of(client) -> str:
    """The panel's words, as read."""
    response = client.get(reverse("alerts:panel"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def test_the_followers_panel_names_the_sender(write, bea, sam, admin_user, admin_client, rep_user):
    follow(admin_user, sam)
    write([hit(bea, T0)])
    assert "Bea Buyer opened Spring order (sent by Sam Seller)" in panel_of(admin_client)
    rep = Client()
    rep.force_login(rep_user)
    assert "Bea Buyer opened Spring order" in panel_of(rep)
    assert "sent by" not in panel_of(rep)


def test_a_follower_mutes_from_the_email_page_and_the_panel(write, bea, sam, admin_user, admin_client):
    follow(admin_user, sam)
    page = admin_client.get(reverse("emails:detail", args=[bea.email_id])).content.decode()
    assert "Mute alerts" in page
    response = admin_client.post(reverse("alerts:mute", args=[bea.email_id]), {"action": "mute"})
    assert response.status_code == 302
    assert EmailMute.objects.filter(user=admin_user, email=bea.email).exists()
    write([hit(bea, T0)])
    assert told(admin_user) == [] and told(sam) == [(Kind.FIRST_OPEN, 1)]

    response = admin_client.post(
        reverse("alerts:mute", args=[bea.email_id]), {"action": "unmute"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert not EmailMute.objects.filter(user=admin_user).exists()


def test_an_admin_not_following_still_cannot_mute(bea, admin_client):
    response = admin_client.post(reverse("alerts:mute", args=[bea.email_id]), {"action": "mute"})
    assert response.status_code == 404 and not EmailMute.objects.exists()


def test_a_follow_across_organizations_is_a_404_and_tells_nothing(write, bea, sam, other_org):
    """A follow row forged past the form: another organization's admin
    following Sam is told nothing and cannot mute his email."""
    zed = MembershipFactory(organization=other_org, role="admin", user__username="zed").user
    follow(zed, sam)
    write([hit(bea, T0)])
    assert told(zed) == []
    client = Client()
    client.force_login(zed)
    assert client.post(reverse("alerts:mute", args=[bea.email_id]), {"action": "mute"}).status_code == 404
    assert "Mute alerts" not in client.get(reverse("emails:detail", args=[bea.email_id])).content.decode()
    assert not EmailMute.objects.exists()
