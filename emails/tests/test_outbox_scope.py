"""The development outbox is scoped like the folders: the viewer's own copies
by default, a teammate's or everyone's on request, never another
organization's."""

import pytest
from django.urls import reverse

from emails.models import Email
from emails.services import email_create
from emails.tests.factories import EmailConfigurationFactory, MailboxFactory
from onepage.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

OUTBOX = reverse("dev_outbox")


@pytest.fixture(autouse=True)
def _debug(settings):
    settings.DEBUG = True
    settings.CELERY_TASK_ALWAYS_EAGER = True


def send(user, capture, subject: str, to: str) -> Email:
    with capture(execute=True):
        email = email_create(
            organization=user.membership.organization, sender=user, subject=subject, body_text="Hi", to=[to]
        )
    email.refresh_from_db()
    assert email.status == Email.Status.SENT
    return email


@pytest.fixture
def copies(org, other_org, rep_user, admin_user, django_capture_on_commit_callbacks):
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    EmailConfigurationFactory(organization=other_org, allow_open_tracking=True)
    stranger = MembershipFactory(organization=other_org).user
    for user, subject, to in (
        (rep_user, "Rex's", "ann@ex.org"),
        (admin_user, "Ada's", "bob@ex.org"),
        (stranger, "Theirs", "zed@ex.org"),
    ):
        MailboxFactory(user=user)
        send(user, django_capture_on_commit_callbacks, subject, to)


def _subjects(response) -> list[str]:
    return sorted(message.subject for message in response.context["page"].object_list)


def test_the_outbox_shows_my_copies_by_default(rep_client, copies):
    response = rep_client.get(OUTBOX)
    assert _subjects(response) == ["Rex's"]
    assert "bob@ex.org" not in response.content.decode()


def test_everyone_or_a_teammate_on_request_never_another_organization(rep_client, admin_user, copies):
    assert _subjects(rep_client.get(OUTBOX, {"sender": "all"})) == ["Ada's", "Rex's"]
    assert _subjects(rep_client.get(OUTBOX, {"sender": admin_user.pk})) == ["Ada's"]
    page = rep_client.get(OUTBOX, {"sender": "all"}).content.decode()
    assert "Theirs" not in page and "zed@ex.org" not in page
    assert 'name="sender"' in page
