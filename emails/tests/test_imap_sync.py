"""The mailbox sync against a real IMAP server (Dovecot)."""

from datetime import UTC, datetime, timedelta

import pytest

from contacts.tests.factories import ContactFactory
from emails.models import Email, EmailRecipient, Mailbox, MailboxFolder, NotTrackedReason
from emails.sync.mailbox_sync import sync_mailbox
from emails.tests import dovecot
from emails.tests.factories import EmailFactory, EmailRecipientFactory, MailboxFactory, connect_imap
from emails.tests.imap_messages import raw_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailbox(rep_user, imap_server):
    box = MailboxFactory(user=rep_user, from_address="rex@acme.example")
    return connect_imap(box, imap_server)


@pytest.fixture
def alice(org):
    return ContactFactory(organization=org, first_name="Alice", email="Alice@Client.example")


def test_a_message_sent_from_a_mail_client_is_imported_as_client_sent(mailbox, alice, imap_server):
    with imap_server.client("rex") as client:
        client.append(
            "Sent", raw_message(sender="rex@acme.example", to=["alice@client.example"], message_id="<c1@acme>")
        )
        client.append(
            "Sent", raw_message(sender="rex@acme.example", to=["stranger@else.example"], message_id="<c2@acme>")
        )

    assert sync_mailbox(mailbox_id=mailbox.pk).imported == 1

    email = Email.objects.get(message_id="<c1@acme>")
    assert email.source == Email.Source.CLIENT and email.direction == Email.Direction.OUTGOING
    assert not email.track_opens and email.not_tracked_reason == NotTrackedReason.CLIENT
    assert [(r.address, r.contact) for r in email.recipients.all()] == [("alice@client.example", alice)]
    assert not Email.objects.filter(message_id="<c2@acme>").exists()
    mailbox.refresh_from_db()
    assert mailbox.last_synced_at is not None and mailbox.sync_error == ""
    assert set(mailbox.folders.values_list("role", "name")) == {("inbox", "INBOX"), ("sent", "Sent")}


def test_a_message_in_inbox_and_sent_or_synced_twice_is_stored_once(mailbox, alice, imap_server):
    raw = raw_message(
        sender="rex@acme.example", to=["alice@client.example"], cc=["rex@acme.example"], message_id="<b@acme>"
    )
    with imap_server.client("rex") as client:
        client.append("Sent", raw)
        client.append("INBOX", raw)

    assert sync_mailbox(mailbox_id=mailbox.pk).imported == 1
    MailboxFolder.objects.filter(mailbox=mailbox).update(last_uid=0, uidnext=0)
    assert sync_mailbox(mailbox_id=mailbox.pk).imported == 0
    assert Email.objects.filter(message_id="<b@acme>").count() == 1


def test_a_reply_is_incoming_and_marks_the_crm_email_replied(mailbox, alice, imap_server, rep_user, org):
    crm = EmailFactory(organization=org, sender=rep_user, message_id="<crm1@acme.example>")
    EmailRecipientFactory(email=crm, contact=alice, address="alice@client.example")
    with imap_server.client("rex") as client:
        client.append(
            "INBOX",
            raw_message(
                sender="Alice <alice@client.example>",
                to=["rex@acme.example"],
                subject="Re: Proposal",
                body="Sounds good.",
                message_id="<r1@client>",
                in_reply_to="<crm1@acme.example>",
            ),
        )

    sync_mailbox(mailbox_id=mailbox.pk)

    reply = Email.objects.get(message_id="<r1@client>")
    assert reply.direction == Email.Direction.INCOMING and reply.reply_to_email == crm
    assert reply.body_text == "Sounds good."
    assert list(reply.recipients.values_list("kind", "contact")) == [(EmailRecipient.Kind.FROM, alice.pk)]
    crm.refresh_from_db()
    assert crm.replied_at is not None
    assert crm.recipients.get().replied_at is not None


def test_html_only_mail_is_stored_as_text(mailbox, alice, imap_server):
    message = raw_message(
        sender="alice@client.example",
        to=["rex@acme.example"],
        message_id="<h@client>",
        html='<p>Hi <img src="https://tracker.example/x.gif"><script>x()</script><b>Rex</b> &amp; co</p>',
    )
    # Keep only the HTML part.
    with imap_server.client("rex") as client:
        client.append("INBOX", message.replace(b"Hi there", b""))

    sync_mailbox(mailbox_id=mailbox.pk)

    email = Email.objects.get(message_id="<h@client>")
    assert "tracker.example" not in email.body_text and "x()" not in email.body_text
    assert email.body_html == ""


def test_the_second_sync_with_nothing_new_reads_nothing(mailbox, alice, imap_server):
    with imap_server.client("rex") as client:
        client.append("Sent", raw_message(sender="rex@acme.example", to=["alice@client.example"], message_id="<1@a>"))
    sync_mailbox(mailbox_id=mailbox.pk)
    before = {f.role: (f.last_uid, f.uidnext) for f in mailbox.folders.all()}

    assert sync_mailbox(mailbox_id=mailbox.pk).imported == 0
    assert {f.role: (f.last_uid, f.uidnext) for f in mailbox.folders.all()} == before

    with imap_server.client("rex") as client:
        client.append("Sent", raw_message(sender="rex@acme.example", to=["alice@client.example"], message_id="<2@a>"))
    assert sync_mailbox(mailbox_id=mailbox.pk).imported == 1


def test_a_uidvalidity_change_resyncs_without_doubling(mailbox, alice, imap_server):
    with imap_server.client("rex") as client:
        client.append("Sent", raw_message(sender="rex@acme.example", to=["alice@client.example"], message_id="<u1@a>"))
    sync_mailbox(mailbox_id=mailbox.pk)
    old = mailbox.folders.get(role="sent").uidvalidity
    with imap_server.client("rex") as client:
        # The server rebuilt the folder: new UIDVALIDITY, UIDs from 1 again.
        client.delete_folder("Sent")
        client.create_folder("Sent")
        client.append("Sent", raw_message(sender="rex@acme.example", to=["alice@client.example"], message_id="<u1@a>"))
        client.append("Sent", raw_message(sender="rex@acme.example", to=["alice@client.example"], message_id="<u2@a>"))

    assert sync_mailbox(mailbox_id=mailbox.pk).imported == 1

    folder = mailbox.folders.get(role="sent")
    assert folder.uidvalidity != old and folder.last_uid == 2
    assert Email.objects.filter(message_id__in=["<u1@a>", "<u2@a>"]).count() == 2


def test_the_first_sync_reads_recent_mail_only(mailbox, alice, imap_server, settings):
    settings.MAILBOX_SYNC_DAYS = 30
    old = datetime.now(UTC) - timedelta(days=90)
    with imap_server.client("rex") as client:
        client.append(
            "Sent",
            raw_message(sender="rex@acme.example", to=["alice@client.example"], message_id="<old@a>", date=old),
            msg_time=old,
        )
        client.append("Sent", raw_message(sender="rex@acme.example", to=["alice@client.example"], message_id="<new@a>"))

    assert sync_mailbox(mailbox_id=mailbox.pk).imported == 1
    assert Email.objects.filter(message_id="<new@a>").exists()


def test_a_refused_login_is_kept_in_words_and_backs_off(mailbox, imap_server):
    connect_imap(mailbox, imap_server, password="wrong")

    assert sync_mailbox(mailbox_id=mailbox.pk).imported == 0

    mailbox.refresh_from_db()
    assert mailbox.sync_error.startswith("The IMAP server refused the user name or password")
    assert mailbox.sync_failures == 1 and mailbox.next_sync_at > mailbox.updated_at


def test_a_mailbox_being_synced_is_not_synced_again(mailbox):
    Mailbox.objects.filter(pk=mailbox.pk).update(sync_claimed_at=datetime.now(UTC))

    assert sync_mailbox(mailbox_id=mailbox.pk) is None


def test_without_special_use_the_sent_folder_is_found_by_its_usual_name(rep_user, alice):
    server = dovecot.start(sent_folder="Sent Items", special_use=False)
    try:
        mailbox = connect_imap(MailboxFactory(user=rep_user, from_address="rex@acme.example"), server)
        with server.client("rex") as client:
            client.append(
                "Sent Items", raw_message(sender="rex@acme.example", to=["alice@client.example"], message_id="<si@a>")
            )

        assert sync_mailbox(mailbox_id=mailbox.pk).imported == 1
        assert mailbox.folders.get(role="sent").name == "Sent Items"
    finally:
        server.stop()
