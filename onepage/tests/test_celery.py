"""The Celery app's own pieces: beat's scheduler and the worker's broker
settings (the fault suite proves the worker outlives Redis)."""

from django.conf import settings

from onepage.celery import Scheduler, app


def test_beat_creates_the_folder_of_its_schedule_file(tmp_path):
    # Without it beat dies at start, silently when embedded in a worker.
    path = tmp_path / "var" / "not-yet" / "celerybeat-schedule"

    scheduler = Scheduler(app=app, schedule_filename=str(path), lazy=False)
    try:
        assert path.parent.is_dir()
    finally:
        scheduler.close()


def test_the_worker_retries_the_broker_for_ever_and_beat_uses_the_scheduler():
    assert settings.CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP is True
    assert settings.CELERY_BROKER_CONNECTION_MAX_RETRIES is None
    assert settings.CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS is True
    assert settings.CELERY_BEAT_SCHEDULER == "onepage.celery:Scheduler"
    assert app.conf.broker_transport_options["visibility_timeout"] > settings.SMTP_DATA_TIMEOUT
