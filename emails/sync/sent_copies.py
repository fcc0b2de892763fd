"""The Sent folder after a tracked send: one pixel-free copy, read.

Gmail and Microsoft 365 file a copy of every message submitted over SMTP in
the sender's Sent folder. A tracked email goes out as one copy per
recipient, each with that recipient's live pixel: left there, the rep
reading them would record false opens. So the copies are found by their
Message-ID (shared by all of them; the provider may take a few seconds to
file them), deleted, and one copy without any pixel is appended, \\Seen.
When the server filed none (a plain SMTP server), the copy is appended only
if the mailbox saves sent copies."""

import time
from dataclasses import dataclass
from datetime import UTC

from django.conf import settings
from imapclient import IMAPClient
from imapclient.imapclient import DELETED, SEEN

from .. import rendering
from ..models import Email, Mailbox
from ..transport.imap import IMAP_ERRORS, IMAPSettings, close_session, imap_connect
from ..transport.imap_failures import describe_imap_failure
from .imap_folders import find_folders

POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Replacement:
    removed: int  # the provider's copies deleted
    appended: bool
    error: str = ""


def replace_sent_copies(*, email: Email, mailbox: Mailbox, wait: float | None = None) -> Replacement:
    """Leave one pixel-free copy of a sent CRM email in the mailbox's Sent."""
    if not mailbox.syncs or email.status != Email.Status.SENT or not email.message_id:
        return Replacement(0, False)
    wait = settings.SENT_COPY_WAIT if wait is None else wait
    try:
        client = imap_connect(IMAPSettings.of(mailbox))
    except IMAP_ERRORS as exc:
        return Replacement(0, False, describe_imap_failure(exc, where=mailbox.imap_host).message)
    try:
        sent = find_folders(client)["sent"]
        if sent is None:
            return Replacement(0, False, "No Sent folder was found in this mailbox.")
        client.select_folder(sent)
        copies = _provider_copies(
            client, email, expected=email.recipients.count() if email.track_opens else 1, wait=wait
        )
        if not copies and not mailbox.save_sent_copies:
            return Replacement(0, False)
        if copies and not email.track_opens:
            return Replacement(0, False)  # one message, no pixel: the provider's copy is right
        # The clean copy first, then the provider's: a connection lost in
        # between leaves the pixel copies beside it (what a mailbox without
        # the sync has), never a Sent folder without the email.
        client.append(sent, _pixel_free(email, mailbox), flags=[SEEN], msg_time=email.sent_at.astimezone(UTC))
        if copies:
            _delete(client, copies)
        return Replacement(len(copies), True)
    except IMAP_ERRORS as exc:
        return Replacement(0, False, describe_imap_failure(exc, where=mailbox.imap_host).message)
    finally:
        close_session(client)


def _provider_copies(client: IMAPClient, email: Email, *, expected: int, wait: float) -> list[int]:
    """The UIDs of the copies filed under the email's Message-ID, polled
    until as many as were sent are there, or `wait` seconds passed."""
    deadline = time.monotonic() + wait
    while True:
        client.noop()  # lets the server report what arrived since
        found = client.search(["HEADER", "Message-ID", email.message_id])
        if len(found) >= expected or time.monotonic() >= deadline:
            return found
        time.sleep(POLL_SECONDS)


def _delete(client: IMAPClient, uids: list[int]) -> None:
    client.add_flags(uids, [DELETED], silent=True)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)  # only these: never another client's \Deleted
    else:
        client.expunge()


def _pixel_free(email: Email, mailbox: Mailbox) -> bytes:
    recipients = list(email.recipients.all())
    message = rendering.build_message(
        email=email, mailbox=mailbox, recipients=recipients, envelope=[r.address for r in recipients]
    )
    return message.message().as_bytes()
