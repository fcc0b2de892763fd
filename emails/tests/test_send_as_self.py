"""A rep sends only as themself: Retry and Resend go out From the email's
sender through the sender's mailbox, so only the sender may press them. A
teammate (an admin included) gets a refusal in words and nothing changes;
the email page shows them who can."""

import pytest
from django.urls import reverse
from django.utils import timezone

from emails.models import Email
from emails.tests.factories import EmailFactory, EmailRecipientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admins_failed_email(org, admin_user):
    admin_user.first_name, admin_user.last_name = "Ada", "Admin"
    admin_user.save(update_fields=["first_name", "last_name"])
    email = EmailFactory(organization=org, sender=admin_user, status=Email.Status.FAILED, sent_at=None, error="550 No")
    EmailRecipientFactory(email=email)
    return email


@pytest.fixture
def admins_uncertain_copy(org, admin_user):
    email = EmailFactory(organization=org, sender=admin_user)
    return EmailRecipientFactory(email=email, delivery_uncertain_at=timezone.now())


def test_a_rep_cannot_retry_an_admins_email(rep_client, admins_failed_email, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        response = rep_client.post(reverse("emails:retry", args=[admins_failed_email.pk]))

    assert response.status_code == 403
    assert "Only Ada Admin can retry this email: it goes out from their mailbox." in response.content.decode()
    admins_failed_email.refresh_from_db()
    assert (admins_failed_email.status, admins_failed_email.error) == (Email.Status.FAILED, "550 No")
    assert queued == []


def test_an_admin_cannot_retry_a_reps_email(admin_client, org, rep_user, django_capture_on_commit_callbacks):
    rep_user.first_name, rep_user.last_name = "Rex", "Rep"
    rep_user.save(update_fields=["first_name", "last_name"])
    email = EmailFactory(organization=org, sender=rep_user, status=Email.Status.FAILED, sent_at=None)

    with django_capture_on_commit_callbacks() as queued:
        response = admin_client.post(reverse("emails:retry", args=[email.pk]))

    assert response.status_code == 403
    assert "Only Rex Rep can retry this email" in response.content.decode()
    email.refresh_from_db()
    assert email.status == Email.Status.FAILED and queued == []


def test_a_rep_cannot_resend_an_admins_copy(rep_client, admins_uncertain_copy, django_capture_on_commit_callbacks):
    email = admins_uncertain_copy.email
    url = reverse("emails:resend_recipient", args=[email.pk, admins_uncertain_copy.pk])
    with django_capture_on_commit_callbacks() as queued:
        response = rep_client.post(url)

    assert response.status_code == 403
    assert "can resend this email: it goes out from their mailbox." in response.content.decode()
    email.refresh_from_db()
    admins_uncertain_copy.refresh_from_db()
    assert email.status == Email.Status.SENT
    assert admins_uncertain_copy.delivery_uncertain_at is not None
    assert queued == []


def test_the_sender_still_retries_their_own_email(rep_client, org, rep_user, django_capture_on_commit_callbacks):
    email = EmailFactory(organization=org, sender=rep_user, status=Email.Status.FAILED, sent_at=None)
    with django_capture_on_commit_callbacks() as queued:
        response = rep_client.post(reverse("emails:retry", args=[email.pk]))
    assert response.status_code == 302
    email.refresh_from_db()
    assert email.status == Email.Status.QUEUED and len(queued) == 1


def test_a_colleague_sees_the_email_but_no_retry_and_is_told_who_can(rep_client, admins_failed_email):
    page = rep_client.get(reverse("emails:detail", args=[admins_failed_email.pk])).content.decode()

    assert "This email was not sent." in page
    assert reverse("emails:retry", args=[admins_failed_email.pk]) not in page
    assert "Only Ada Admin can retry it: it goes out from their mailbox." in page


def test_a_colleague_sees_no_resend_button(rep_client, admins_uncertain_copy):
    email = admins_uncertain_copy.email
    page = rep_client.get(reverse("emails:detail", args=[email.pk])).content.decode()

    assert "Delivery uncertain." in page
    assert reverse("emails:resend_recipient", args=[email.pk, admins_uncertain_copy.pk]) not in page
    assert "can resend a copy: it goes out from their mailbox." in page


def test_the_sender_sees_retry(client, admins_failed_email, admin_user):
    client.force_login(admin_user)
    page = client.get(reverse("emails:detail", args=[admins_failed_email.pk])).content.decode()
    assert reverse("emails:retry", args=[admins_failed_email.pk]) in page
    assert "can retry it" not in page


def test_another_organizations_email_stays_a_404(rep_client, other_org, django_capture_on_commit_callbacks):
    theirs = EmailFactory(organization=other_org, status=Email.Status.FAILED, sent_at=None)
    copy = EmailRecipientFactory(email=EmailFactory(organization=other_org), delivery_uncertain_at=timezone.now())
    with django_capture_on_commit_callbacks() as queued:
        assert rep_client.post(reverse("emails:retry", args=[theirs.pk])).status_code == 404
        assert rep_client.post(reverse("emails:resend_recipient", args=[copy.email_id, copy.pk])).status_code == 404
    assert queued == []
