"""Email sync a user can drive: Sync now says in words what came in (or
what went wrong), and the embedded default (eager tasks, no beat) syncs due
mailboxes on page loads, on a thread of its own: a page never waits for an
IMAP server."""

import time

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from contacts.tests.factories import ContactFactory
from emails.models import Email, Mailbox
from emails.sync import in_process
from emails.tests.factories import EmailFactory, EmailRecipientFactory, MailboxFactory, connect_imap
from emails.tests.imap_messages import raw_message

SYNC_NOW = reverse("mailbox_sync")


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def rex_mailbox(rep_user, imap_server) -> Mailbox:
    return connect_imap(MailboxFactory(user=rep_user, from_address="rex@acme.example"), imap_server)


def fill_mailbox(imap_server, org, rep_user) -> None:
    """One message written in the mail client and one reply to a CRM email."""
    alice = ContactFactory(organization=org, first_name="Alice", email="alice@client.example")
    proposal = EmailFactory(organization=org, sender=rep_user, message_id="<proposal@acme.example>")
    EmailRecipientFactory(email=proposal, address=alice.email, contact=alice)
    with imap_server.client("rex") as client:
        client.append(
            "Sent", raw_message(sender="rex@acme.example", to=["alice@client.example"], message_id="<c1@acme>")
        )
        client.append(
            "INBOX",
            raw_message(
                sender="Alice <alice@client.example>",
                to=["rex@acme.example"],
                subject="Re: Proposal",
                message_id="<r1@client>",
                in_reply_to="<proposal@acme.example>",
            ),
        )


@pytest.mark.django_db
def test_sync_now_brings_the_mail_in_and_says_how_many_emails_and_replies(
    rep_client, rep_user, org, rex_mailbox, imap_server
):
    fill_mailbox(imap_server, org, rep_user)

    response = rep_client.post(SYNC_NOW)

    assert response.status_code == 302 and response["Location"] == reverse("mailbox")
    assert said(response) == ["Synced: 2 emails came in, 1 of them a reply."]
    assert Email.objects.filter(message_id__in=["<c1@acme>", "<r1@client>"]).count() == 2
    page = rep_client.get(reverse("mailbox")).content.decode()
    assert "Last synced" in page

    response = rep_client.post(SYNC_NOW)
    assert said(response) == ["Synced: nothing new came in."]


@pytest.mark.django_db
def test_sync_now_says_in_words_why_it_failed(rep_client, rep_user, imap_server):
    connect_imap(MailboxFactory(user=rep_user), imap_server, password="wrong")

    response = rep_client.post(SYNC_NOW)

    (message,) = said(response)
    assert message.startswith("Sync failed: The IMAP server refused the user name or password")
    assert "wrong" not in message


@pytest.mark.django_db
def test_sync_now_without_an_imap_server_says_what_to_do(rep_client, rep_user):
    MailboxFactory(user=rep_user)

    response = rep_client.post(SYNC_NOW)

    assert said(response) == ["Add your IMAP server below first: Sync now reads your Inbox and Sent folders."]


@pytest.mark.django_db
def test_the_page_offers_sync_now_as_a_post_form_only_when_the_mailbox_syncs(rep_client, rep_user, imap_server):
    mailbox = MailboxFactory(user=rep_user)
    page = rep_client.get(reverse("mailbox")).content.decode()
    assert "Sync now" not in page

    connect_imap(mailbox, imap_server)
    page = rep_client.get(reverse("mailbox")).content.decode()
    form = page[page.index(f'action="{SYNC_NOW}"') :]
    assert 'method="post"' in page[page.rindex("<form", 0, page.index(f'action="{SYNC_NOW}"')) :][:80]
    assert "csrfmiddlewaretoken" in form[: form.index("</form>")]
    assert rep_client.get(SYNC_NOW).status_code == 405


@pytest.mark.django_db
def test_sync_now_needs_a_signed_in_user(client):
    response = client.post(SYNC_NOW)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.django_db(transaction=True)
def test_without_beat_a_page_load_syncs_the_mailboxes_due(
    rep_client, rep_user, org, rex_mailbox, imap_server, settings
):
    settings.MAILBOX_SYNC_ON_PAGE_LOADS = True  # the embedded default (make run); off in the other tests
    fill_mailbox(imap_server, org, rep_user)

    assert rep_client.get(reverse("contacts:list")).status_code == 200
    in_process.wait_idle()

    assert Email.objects.filter(message_id__in=["<c1@acme>", "<r1@client>"]).count() == 2
    rex_mailbox.refresh_from_db()
    assert rex_mailbox.last_synced_at is not None and rex_mailbox.sync_error == ""


@pytest.mark.django_db(transaction=True)
def test_a_page_load_never_waits_for_an_imap_server_that_does_not_answer(
    rep_client, rep_user, silent_imap_server, settings
):
    settings.MAILBOX_SYNC_ON_PAGE_LOADS = True
    mailbox = connect_imap(MailboxFactory(user=rep_user), silent_imap_server, password="secret")

    started = time.monotonic()
    assert rep_client.get(reverse("contacts:list")).status_code == 200
    seconds = time.monotonic() - started

    # The sync did start, and was still waiting for the server when the page came back.
    assert silent_imap_server.accepted.wait(timeout=10)
    assert not silent_imap_server.client_gave_up.is_set()
    print(f"page load with a silent IMAP server: {seconds * 1000:.0f} ms")
    silent_imap_server.release()  # the sync then fails at once, in words
    in_process.wait_idle()
    mailbox.refresh_from_db()
    assert mailbox.sync_error and mailbox.next_sync_at is not None


@pytest.mark.django_db
def test_connecting_the_first_mailbox_says_it_switched_open_tracking_on(client, rep_user, admin_user, org):
    from emails.tests.test_mailbox import smtp_form

    client.force_login(rep_user)
    response = client.post(reverse("mailbox"), smtp_form())
    (message,) = said(response)
    assert message.startswith("Mailbox connected: you can send email now.")
    assert "Allow open tracking is now on" in message
    client.get(reverse("mailbox"))  # shows (and uses up) the message

    client.force_login(admin_user)
    response = client.post(reverse("mailbox"), smtp_form(from_address="ada@acme.example"))
    assert said(response) == ["Mailbox connected: you can send email now."]  # it was on already


@pytest.mark.django_db
def test_sync_now_on_a_big_mailbox_stops_in_time_and_the_next_sync_goes_on(
    rep_client, org, rex_mailbox, imap_server, monkeypatch
):
    from emails.sync import mailbox_sync
    from emails.views import mailbox as mailbox_views

    ContactFactory(organization=org, email="alice@client.example")
    with imap_server.client("rex") as client:
        for n in range(3):
            client.append(
                "INBOX", raw_message(sender="alice@client.example", to=["rex@acme.example"], message_id=f"<m{n}@c>")
            )
    # Three batches of one message, and no time at all: one batch, then it stops.
    monkeypatch.setattr(mailbox_sync, "BATCH", 1)
    monkeypatch.setattr(mailbox_views, "SYNC_NOW_SECONDS", 0)

    response = rep_client.post(SYNC_NOW)

    assert said(response) == ["Synced: 1 email came in. The rest comes in with the next sync, within minutes."]
    assert rex_mailbox.pk in mailbox_sync.due_mailboxes()  # due again at once
    assert mailbox_sync.sync_mailbox(mailbox_id=rex_mailbox.pk).imported == 2
    assert Email.objects.filter(message_id__in=["<m0@c>", "<m1@c>", "<m2@c>"]).count() == 3
