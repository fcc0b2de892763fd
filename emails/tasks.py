import random

from celery import shared_task

from .models import Email
from .recovery import sweep_stuck_emails
from .sending import TransientSendError, email_send
from .services import publish_send

MAX_RETRIES = 3
RETRY_BASE_SECONDS = 30


def retry_countdown(retries: int) -> int:
    """Exponential backoff (30 s, 1 min, 2 min) with jitter, so that a
    server that hiccupped is not hit by every queued email at once."""
    base = RETRY_BASE_SECONDS * 2**retries
    return base + random.randint(0, base // 2)


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True, ignore_result=True)
def send_email(self, email_id: int) -> None:
    email = Email.objects.filter(pk=email_id).first()
    if email is None:
        return
    try:
        email_send(email=email, last_attempt=self.request.retries >= self.max_retries)
    except TransientSendError as exc:
        raise self.retry(exc=exc, countdown=retry_countdown(self.request.retries)) from exc


@shared_task(ignore_result=True)
def sweep_emails() -> int:
    """Run by beat every EMAIL_SWEEP_INTERVAL seconds; see emails.recovery."""
    sweep = sweep_stuck_emails()
    for email_id in sweep.requeue:
        publish_send(email_id=email_id)
    return len(sweep.requeue)
