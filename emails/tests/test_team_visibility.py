"""Colleagues' emails are visible, read-only, to every member of the
organization (as on a contact's Email tab): the folders let a rep pick
Everyone or a teammate, as admins could; "My emails" stays the default."""

import pytest
from django.urls import reverse
from django.utils import timezone

from emails.tests.factories import EmailFactory, EmailRecipientFactory
from onepage.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

SENT = reverse("emails:index")
OPEN_TRACKING = reverse("emails:open_tracking")


def _subjects(response) -> list[str]:
    return [email.subject for email in response.context["page"].object_list]


@pytest.fixture
def two_senders(org, rep_user, admin_user):
    for sender, subject in ((rep_user, "Mine"), (admin_user, "Ada's")):
        EmailRecipientFactory(
            email=EmailFactory(organization=org, sender=sender, subject=subject, last_opened_at=timezone.now())
        )


def test_a_rep_picks_everyone_or_a_teammate(rep_client, admin_user, two_senders):
    for url in (SENT, OPEN_TRACKING):
        assert _subjects(rep_client.get(url)) == ["Mine"], url
        assert sorted(_subjects(rep_client.get(url, {"sender": "all"}))) == ["Ada's", "Mine"], url
        assert _subjects(rep_client.get(url, {"sender": admin_user.pk})) == ["Ada's"], url

    page = rep_client.get(SENT).content.decode()
    assert 'name="sender"' in page and ">Everyone</option>" in page
    assert f">{admin_user.display_name}</option>" in page


def test_a_rep_opens_a_colleagues_email_and_its_report(rep_client, org, admin_user):
    email = EmailFactory(organization=org, sender=admin_user)
    EmailRecipientFactory(email=email)
    assert rep_client.get(reverse("emails:detail", args=[email.pk])).status_code == 200
    assert rep_client.get(reverse("emails:open_report", args=[email.pk])).status_code == 200


def test_another_organizations_member_is_no_teammate(rep_client, other_org):
    stranger = MembershipFactory(organization=other_org).user
    assert rep_client.get(SENT, {"sender": stranger.pk}).status_code == 404
