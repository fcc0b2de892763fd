import logging

from celery import shared_task

from . import recorder, retention

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def drain_opens() -> int:
    """Run by beat every OPEN_DRAIN_INTERVAL seconds; see tracking.recorder.
    Logs only when it recorded something: an idle drain is silent."""
    recorded = recorder.drain_opens()
    if recorded:
        logger.info("Recorded %d opens from the stream", recorded)
    return recorded


@shared_task(ignore_result=True)
def purge_old_opens() -> int:
    """Run by beat every OPEN_PURGE_INTERVAL seconds; see tracking.retention."""
    return retention.purge_old_opens()
