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

from emails.models import MAX_RETENTION_MONTHS, EmailConfiguration

from .erasure import delete_opens
from .models import OpenEvent

logger = logging.getLogger(__name__)

BATCH_SIZE = 2000
DAYS_PER_MONTH = 365.25 / 12


def cutoff_of(months: int):
    return timezone.now() - timedelta(days=round(months * DAYS_PER_MONTH))


def purge_old_opens(*, batch_size: int = BATCH_SIZE, max_batches: int = 50) -> int:
    """Delete up to `batch_size * max_batches` expired opens, oldest rules
    first. Returns how many were deleted; beat comes back for the rest.

    One organization's failure (a retention stored before the bound, which
    reaches before the year 1, or an error on its batches) is logged by its
    id and the others are purged all the same."""
    deleted = 0
    batches = 0
    failed = []
    configs = EmailConfiguration.objects.filter(open_retention_months__gt=0).values_list(
        "organization_id", "open_retention_months"
    )
    for organization_id, months in configs:
        if months > MAX_RETENTION_MONTHS:
            logger.error(
                "Retention: the opens of organization %s were not purged: its retention of %d months is beyond "
                "the %d allowed",
                organization_id,
                months,
                MAX_RETENTION_MONTHS,
            )
            failed.append(organization_id)
            continue
        cutoff = cutoff_of(months)
        while batches < max_batches:
            try:
                ids = list(
                    OpenEvent.objects.filter(opened_at__lt=cutoff, email__organization_id=organization_id)
                    .order_by()
                    .values_list("pk", flat=True)[:batch_size]
                )
                if not ids:
                    break
                deleted += delete_opens(ids)
            except Exception as error:
                # The exception's words may quote a row's values: its kind only.
                logger.error(
                    "Retention: the opens of organization %s were not purged: %s",
                    organization_id,
                    type(error).__name__,
                )
                failed.append(organization_id)
                break
            batches += 1
    if deleted or failed:
        logger.info("Retention: purged %d expired opens; %d organizations failed", deleted, len(failed))
    return deleted
