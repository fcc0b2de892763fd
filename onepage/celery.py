import os
import time

from celery import Celery
from celery.signals import before_task_publish

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onepage.settings")

app = Celery("onepage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

HEARTBEAT_TASK = "onepage.tasks.heartbeat"


@before_task_publish.connect
def _beat_heartbeat(sender: str | None = None, **kwargs) -> None:
    """Beat publishes the heartbeat task: that it did is beat's own heartbeat,
    recorded in beat's process, whether or not a worker is there to run it."""
    if sender == HEARTBEAT_TASK:
        from django.core.cache import cache

        from .health import BEAT_KEY

        cache.set(BEAT_KEY, time.time(), timeout=None)
