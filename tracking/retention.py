"""Retention: open events older than the organization's setting
(EmailConfiguration.open_retention_months, 12 by default, 0 keeps them) are
purged by beat's `purge_old_opens`, batch by batch.

Each batch is its own short transaction through tracking.erasure.delete_opens,
which locks only the emails that batch touches (old emails, which the pixel
rarely reaches) and recomputes their counters, so the counters always agree
with the events left. The pixel itself never waits on the purge: it appends
to the Redis stream, and the writer locks only the emails it records."""

import logging
from datetime import timedelta

from django.utils import timezone

from emails.models import EmailConfiguration

from .erasure import delete_opens
from .models import OpenEvent

logger = logging.getLogger(__name__)

BATCH_SIZE = 2000
DAYS_PER_MONTH = 365.25 / 12


def cutoff_of(months: int):
    return timezone.now() - timedelta(days=round(months * DAYS_PER_MONTH))


def purge_old_opens(*, batch_size: int = BATCH_SIZE, max_batches: int = 50) -> int:
    """Delete up to `batch_size * max_batches` expired opens, oldest rules
    first. Returns how many were deleted; beat comes back for the rest."""
    deleted = 0
    batches = 0
    configs = EmailConfiguration.objects.filter(open_retention_months__gt=0).values_list(
        "organization_id", "open_retention_months"
    )
    for organization_id, months in configs:
        cutoff = cutoff_of(months)
        while batches < max_batches:
            ids = list(
                OpenEvent.objects.filter(opened_at__lt=cutoff, email__organization_id=organization_id)
                .order_by()
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                break
            deleted += delete_opens(ids)
            batches += 1
    if deleted:
        logger.info("Retention: purged %d expired opens", deleted)
    return deleted
