import os
import time
from pathlib import Path

from celery import Celery
from celery.beat import PersistentScheduler
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


class Scheduler(PersistentScheduler):
    """Beat's scheduler, creating the folder of its schedule file first:
    without it beat dies at start, silently when embedded in a worker."""

    def setup_schedule(self) -> None:
        Path(self.schedule_filename).parent.mkdir(parents=True, exist_ok=True)
        super().setup_schedule()
