import time

from celery import shared_task
from django.core.cache import cache

from .health import HEARTBEAT_STALE, WORKER_KEY


@shared_task(ignore_result=True, expires=HEARTBEAT_STALE)
def heartbeat() -> None:
    """Sent by beat every HEARTBEAT_INTERVAL seconds (which records that beat
    is alive, see onepage.celery); a worker running it records that workers
    are taking tasks off the queue."""
    cache.set(WORKER_KEY, time.time(), timeout=None)
