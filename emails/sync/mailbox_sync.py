"""Syncing a mailbox over IMAP: INBOX and Sent, incrementally by UID.

- One sync per mailbox at a time: a conditional UPDATE claims it (a claim
  older than SYNC_CLAIM_TIMEOUT was a dead worker's and is taken over).
- Each folder keeps its UIDVALIDITY and the last UID read; a new
  UIDVALIDITY means the old UIDs are meaningless, so the folder is read
  again from scratch (bounded like a first sync): nothing doubles, since
  Emails are unique per Message-ID.
- Nothing new (UIDNEXT, and HIGHESTMODSEQ where CONDSTORE is offered,
  unchanged) costs one SELECT per folder, whatever the mailbox holds.
- A first sync reads the last MAILBOX_SYNC_DAYS days only.
- Headers first; the whole message only for what is imported.
- Errors are kept in words on the mailbox and back off exponentially.
- Given `seconds`, a sync stops between two batches once they are spent
  (Sync now, with a person waiting), after one batch at least; the next
  sync goes on from there."""

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from imapclient import IMAPClient

from ..models import Mailbox, MailboxFolder
from ..transport.imap import IMAP_ERRORS, IMAPSettings, close_session, imap_connect
from ..transport.imap_failures import describe_imap_failure
from .imap_folders import find_folders
from .importing import Matcher, import_message, parse_headers

logger = logging.getLogger(__name__)

SYNC_CLAIM_TIMEOUT = timedelta(minutes=30)
BATCH = 500
MAX_BACKOFF = timedelta(hours=6)


@dataclass
class SyncResult:
    """What one sync brought in: Emails imported (client-sent and incoming),
    how many of them are replies to the organization's emails, whether the
    folders were read to the end, or the error in words."""

    imported: int = 0
    replies: int = 0
    complete: bool = True
    error: str = ""


def due_mailboxes() -> list[int]:
    now = timezone.now()
    return list(
        Mailbox.objects.exclude(imap_host="")
        .filter(Q(next_sync_at__isnull=True) | Q(next_sync_at__lte=now))
        .values_list("pk", flat=True)
    )


def _claim(mailbox_id: int) -> bool:
    now = timezone.now()
    free = Q(sync_claimed_at__isnull=True) | Q(sync_claimed_at__lt=now - SYNC_CLAIM_TIMEOUT)
    return bool(Mailbox.objects.filter(free, pk=mailbox_id).exclude(imap_host="").update(sync_claimed_at=now))


def sync_mailbox(*, mailbox_id: int, seconds: float | None = None) -> SyncResult | None:
    """Sync one mailbox; what it brought in, or None when it was already
    being synced (or is not set up for IMAP). With `seconds`, stop between
    two batches once they are spent: the mailbox stays due for the rest."""
    if not _claim(mailbox_id):
        return None
    mailbox = Mailbox.objects.select_related("user").get(pk=mailbox_id)
    result = SyncResult()
    deadline = None if seconds is None else time.monotonic() + seconds
    try:
        imap = IMAPSettings.of(mailbox)
        client = imap_connect(imap)
        try:
            _sync_folders(client, mailbox, result, deadline=deadline)
        finally:
            close_session(client)
    except IMAP_ERRORS as exc:
        failure = describe_imap_failure(exc, where=f"{mailbox.imap_host}:{mailbox.imap_port}")
        failures = mailbox.sync_failures + 1
        delay = min(timedelta(seconds=settings.MAILBOX_SYNC_INTERVAL) * 2 ** min(failures, 10), MAX_BACKOFF)
        Mailbox.objects.filter(pk=mailbox.pk).update(
            sync_claimed_at=None,
            sync_error=failure.message,
            sync_failures=failures,
            next_sync_at=timezone.now() + delay,
        )
        logger.info("Sync of mailbox %s failed: %s", mailbox.pk, failure.message)
        return SyncResult(error=failure.message)
    except BaseException:
        Mailbox.objects.filter(pk=mailbox.pk).update(sync_claimed_at=None)
        raise
    now = timezone.now()
    Mailbox.objects.filter(pk=mailbox.pk).update(
        sync_claimed_at=None,
        sync_error="",
        sync_failures=0,
        last_synced_at=now,
        # What is left of a sync cut short is due at once.
        next_sync_at=now + timedelta(seconds=settings.MAILBOX_SYNC_INTERVAL if result.complete else 0),
    )
    return result


def _sync_folders(client: IMAPClient, mailbox: Mailbox, result: SyncResult, *, deadline: float | None) -> None:
    if client.has_capability("CONDSTORE"):
        client.enable("CONDSTORE")
    names = find_folders(client)
    matcher = Matcher(mailbox)
    for role, name in ((MailboxFolder.Role.INBOX, names["inbox"]), (MailboxFolder.Role.SENT, names["sent"])):
        if name is None:
            continue
        if role == MailboxFolder.Role.SENT and _past(deadline):  # INBOX has read a batch at least
            result.complete = False
        if not result.complete:
            return
        folder, _ = MailboxFolder.objects.get_or_create(mailbox=mailbox, role=role, defaults={"name": name})
        if folder.name != name:  # renamed, or another folder is marked \Sent now
            folder.name, folder.uidvalidity, folder.last_uid = name, None, 0
        sync_folder(client, folder, mailbox=mailbox, matcher=matcher, result=result, deadline=deadline)


def sync_folder(
    client: IMAPClient,
    folder: MailboxFolder,
    *,
    mailbox: Mailbox,
    matcher: Matcher,
    result: SyncResult,
    deadline: float | None = None,
) -> None:
    state = client.select_folder(folder.name, readonly=True)
    uidvalidity = state[b"UIDVALIDITY"]
    uidnext = state.get(b"UIDNEXT", 0)
    modseq = state.get(b"HIGHESTMODSEQ")
    if folder.uidvalidity != uidvalidity:
        folder.uidvalidity, folder.last_uid, folder.highestmodseq = uidvalidity, 0, None
    unchanged = folder.last_uid and uidnext and uidnext == folder.uidnext
    if unchanged and (modseq is None or modseq == folder.highestmodseq):
        folder.synced_at = timezone.now()
        folder.save()
        return
    if folder.last_uid:
        uids = [u for u in client.search(["UID", f"{folder.last_uid + 1}:*"]) if u > folder.last_uid]
    else:
        since = (timezone.now() - timedelta(days=settings.MAILBOX_SYNC_DAYS)).date()
        uids = client.search(["SINCE", since])
    uids.sort()
    for start in range(0, len(uids), BATCH):
        chunk = uids[start : start + BATCH]
        _import_batch(client, chunk, mailbox=mailbox, matcher=matcher, result=result)
        # Progress is kept after each batch: a failure resumes from here.
        folder.last_uid = chunk[-1]
        folder.save(update_fields=["last_uid", "uidvalidity"])
        if _past(deadline) and start + BATCH < len(uids):
            result.complete = False  # the folder's state is left as of this batch
            return
    folder.last_uid = max(folder.last_uid, (uidnext or 1) - 1)
    folder.uidnext, folder.highestmodseq = uidnext, modseq
    folder.messages = state.get(b"EXISTS", 0)
    folder.synced_at = timezone.now()
    folder.save()


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


def _import_batch(
    client: IMAPClient, uids: list[int], *, mailbox: Mailbox, matcher: Matcher, result: SyncResult
) -> None:
    fetched = client.fetch(uids, ["RFC822.HEADER"])
    headers = {uid: parse_headers(data[b"RFC822.HEADER"]) for uid, data in fetched.items()}
    matcher.load(list(headers.values()))
    wanted = [uid for uid in uids if uid in headers and matcher.wanted(headers[uid])]
    if not wanted:
        return
    bodies = client.fetch(wanted, ["BODY.PEEK[]"])
    for uid in wanted:
        raw = bodies.get(uid, {}).get(b"BODY[]")
        email = None if raw is None else import_message(mailbox=mailbox, headers=headers[uid], raw=raw, matcher=matcher)
        if email is not None:
            result.imported += 1
            if email.reply_to_email_id is not None:
                result.replies += 1
