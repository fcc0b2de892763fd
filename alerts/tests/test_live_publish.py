"""The bell's live channel, publishing: when a user's unread count changes,
their channel in Redis hears the new count at once (alerts.live), and for a
user who opted in to browser notifications what the browser shows. Needs
Redis: skipped in the SQLite run."""

import json
import time
from datetime import timedelta

import pytest
import redis
from django.urls import reverse
from django.utils import timezone

from alerts import live
from alerts.models import AlertSettings, Notification
from alerts.tests import test_bell
from onepage.tests.factories import MembershipFactory
from tracking import erasure

pytestmark = pytest.mark.django_db

# The bell's tests' Bea (a recipient of Rex's email) and their writer of opens.
bea, write = test_bell.bea, test_bell.write


@pytest.fixture
def listen(settings):
    """Subscribe to users' channels with a real Redis client; returns a
    function that waits up to 2 s for the next message on them."""
    if not settings.REDIS_URL:
        pytest.skip("needs Redis: runs in the PostgreSQL + Redis run (REDIS_URL)")
    client = redis.Redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub(ignore_subscribe_messages=True)

    def subscribe(*users):
        pubsub.subscribe(*(live.channel(u.pk) for u in users))
        pubsub.get_message(timeout=1)  # the subscription's confirmation

    def next_message() -> tuple[str, dict] | None:
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.2)
            if message and message["type"] == "message":
                return message["channel"].decode(), json.loads(message["data"])
        return None

    next_message.subscribe = subscribe
    yield next_message
    pubsub.close()
    client.close()


def test_a_first_open_publishes_the_senders_new_count(listen, bea, write, rep_user):
    listen.subscribe(rep_user)
    write(bea, timezone.now())
    assert listen() == (live.channel(rep_user.pk), {"unread": 1})


def test_reading_all_publishes_none(listen, bea, write, rep_user, rep_client):
    write(bea, timezone.now())
    listen.subscribe(rep_user)
    rep_client.post(reverse("alerts:read_all"))
    assert listen() == (live.channel(rep_user.pk), {"unread": 0})
    # Nothing left to read: nothing more to say.
    rep_client.post(reverse("alerts:read_all"))
    assert listen() is None


def test_opening_a_notification_publishes_the_count_without_it(listen, bea, write, rep_user, rep_client):
    write(bea, timezone.now() - timedelta(days=3), timezone.now())
    listen.subscribe(rep_user)
    first = Notification.objects.filter(user=rep_user).order_by("pk").first()
    rep_client.get(reverse("alerts:open", args=[first.pk]))
    assert listen() == (live.channel(rep_user.pk), {"unread": 1})


def test_a_user_who_opted_in_also_gets_what_the_browser_shows(listen, bea, write, rep_user):
    AlertSettings.objects.create(user=rep_user, browser=True)
    listen.subscribe(rep_user)
    write(bea, timezone.now())
    n = Notification.objects.get(user=rep_user)
    assert listen()[1] == {
        "unread": 1,
        "fresh": [{"id": n.pk, "title": "Bea Buyer opened", "body": "Spring order",
                   "url": reverse("alerts:open", args=[n.pk])}],
    }  # fmt: skip


def test_erasing_a_contact_publishes_the_count_without_their_notifications(
    listen, bea, write, rep_user, admin_client, django_capture_on_commit_callbacks
):
    # The rep's page is open (their stream listens) while an admin erases
    # the contact: the bell drops the notification that went with the opens.
    write(bea, timezone.now())
    listen.subscribe(rep_user)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("privacy:erase", args=[bea.contact_id]))
    assert not Notification.objects.filter(user=rep_user).exists()
    assert listen() == (live.channel(rep_user.pk), {"unread": 0})


def test_opens_deleted_whose_notification_was_read_publish_nothing(
    listen, bea, write, rep_user, django_capture_on_commit_callbacks
):
    write(bea, timezone.now())
    Notification.objects.filter(user=rep_user).update(read_at=timezone.now())
    listen.subscribe(rep_user)
    with django_capture_on_commit_callbacks(execute=True):
        erasure.delete_opens_of_recipients([bea.pk])
    assert listen() is None  # the count was 0 and is 0


def test_a_user_hears_only_their_own_count(listen, bea, write, org, rep_user):
    colleague = MembershipFactory(organization=org, role="rep").user
    listen.subscribe(colleague)
    write(bea, timezone.now())
    assert listen() is None


def test_without_redis_nothing_is_published_and_notify_still_works(settings, bea, write, rep_user):
    settings.REDIS_URL = ""
    write(bea, timezone.now())
    assert Notification.objects.filter(user=rep_user).count() == 1
    assert live.publish_counts([rep_user.pk]) == 0


def test_redis_down_costs_a_warning_not_the_notification(settings, bea, write, rep_user, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    write(bea, timezone.now())
    assert Notification.objects.filter(user=rep_user).count() == 1
    assert "live channel is unavailable" in caplog.text
