"""The sweep: no email waits for a person. Run by beat every
EMAIL_SWEEP_INTERVAL seconds (emails.tasks.sweep_emails).

- A send whose worker died (its claim made no progress for
  EMAIL_CLAIM_TIMEOUT) is taken over: the copy that was in flight is marked
  "delivery uncertain" (it may have arrived: never resent automatically),
  and the email is queued again for the copies still missing.
- An email queued for longer than EMAIL_QUEUE_GRACE past its due time lost
  its task (Redis lost it, or it could not be published): it is queued again.
  A duplicated task is harmless: the send claims the email first.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import Email, EmailRecipient, stale_claims

logger = logging.getLogger(__name__)


@dataclass
class Sweep:
    taken_over: list[int] = field(default_factory=list)
    uncertain: int = 0
    # The emails to hand to the broker again.
    requeue: list[int] = field(default_factory=list)


def sweep_stuck_emails() -> Sweep:
    sweep = Sweep()
    now = timezone.now()
    for email_id in Email.objects.filter(stale_claims()).values_list("pk", flat=True)[:500]:
        with transaction.atomic():
            # Conditional: a worker that is alive after all, or a second
            # sweep, leaves nothing to take over.
            taken = Email.objects.filter(stale_claims(), pk=email_id).update(
                status=Email.Status.QUEUED, send_after=now, claimed_at=None
            )
            if not taken:
                continue
            in_flight = EmailRecipient.objects.filter(
                email_id=email_id,
                attempted_at__isnull=False,
                delivered_at__isnull=True,
                delivery_uncertain_at__isnull=True,
            )
            sweep.uncertain += in_flight.update(delivery_uncertain_at=now)
        sweep.taken_over.append(email_id)
        sweep.requeue.append(email_id)
    if sweep.taken_over:
        logger.warning(
            "Took over %d sends whose worker died (emails %s); %d copies marked delivery uncertain",
            len(sweep.taken_over),
            sweep.taken_over,
            sweep.uncertain,
        )

    lost = Email.objects.filter(
        status=Email.Status.QUEUED, send_after__lt=now - timedelta(seconds=settings.EMAIL_QUEUE_GRACE)
    ).exclude(pk__in=sweep.requeue)
    lost_ids = list(lost.values_list("pk", flat=True)[:500])
    # Due again from now: the next sweep waits another grace before queueing
    # it once more (say, while the broker is still down).
    Email.objects.filter(pk__in=lost_ids, status=Email.Status.QUEUED).update(send_after=now)
    if lost_ids:
        logger.warning("Queued again %d emails whose send task was lost: %s", len(lost_ids), lost_ids)
    sweep.requeue += lost_ids
    return sweep
