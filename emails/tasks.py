import logging

from celery import shared_task
from django.conf import settings

from .mailboxes import mailbox_of
from .models import Email, Mailbox
from .recovery import sweep_stuck_emails
from .retries import MAX_RETRIES, retry_countdown
from .sending import TransientSendError, email_send
from .sync import in_process
from .sync.mailbox_sync import due_mailboxes, sync_mailbox
from .sync.sent_copies import replace_sent_copies

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True, ignore_result=True)
def send_email(self, email_id: int) -> None:
    email = Email.objects.filter(pk=email_id).first()
    if email is None:
        return
    try:
        email_send(email=email, last_attempt=self.request.retries >= self.max_retries)
    except TransientSendError as exc:
        raise self.retry(exc=exc, countdown=retry_countdown(self.request.retries)) from exc
    if email.status == Email.Status.SENT and email.source == Email.Source.CRM and _syncs(email):
        if settings.CELERY_TASK_ALWAYS_EAGER:
            # Eager, the send ran inside the rep's request: the IMAP step must
            # not (a server that never answers held the page for its timeout).
            in_process.run_later(fix_sent_folder, email.pk)
        else:
            fix_sent_folder.delay(email.pk)


def _syncs(email: Email) -> bool:
    return Mailbox.objects.filter(user_id=email.sender_id).exclude(imap_host="").exists()


@shared_task(ignore_result=True)
def fix_sent_folder(email_id: int) -> None:
    """See emails.sync.sent_copies: one pixel-free copy in the sender's Sent."""
    email = Email.objects.select_related("organization", "sender").filter(pk=email_id).first()
    mailbox = mailbox_of(user=email.sender, organization=email.organization) if email else None
    if mailbox is not None and mailbox.syncs:
        replace_sent_copies(email=email, mailbox=mailbox)


@shared_task(ignore_result=True)
def sync_mailboxes() -> int:
    """Run by beat every minute: one task per mailbox due (see emails.sync.mailbox_sync)."""
    due = due_mailboxes()
    for mailbox_id in due:
        sync_mailbox_task.delay(mailbox_id)
    return len(due)


@shared_task(ignore_result=True, acks_late=True)
def sync_mailbox_task(mailbox_id: int) -> int | None:
    result = sync_mailbox(mailbox_id=mailbox_id)
    return None if result is None else result.imported


def publish_send(*, email_id: int) -> bool:
    """Hand the send task to the broker. With Redis down the email stays
    queued and the sweep (emails.recovery) queues it again: the person who
    clicked Send sees "Queued", not an error page."""
    try:
        send_email.delay(email_id)
    except Exception as exc:
        logger.warning("Could not queue email %s (%s): the sweep will queue it again", email_id, exc)
        return False
    return True


@shared_task(ignore_result=True)
def sweep_emails() -> int:
    """Run by beat every EMAIL_SWEEP_INTERVAL seconds; see emails.recovery."""
    sweep = sweep_stuck_emails()
    for email_id in sweep.requeue:
        publish_send(email_id=email_id)
    return len(sweep.requeue)
