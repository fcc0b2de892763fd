import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tracking.recorder import run_until_stopped


class Command(BaseCommand):
    help = (
        "Record opens from the Redis stream (and the local spool) into the database until stopped "
        "(SIGTERM or SIGINT finish the batch in hand). Run it under a supervisor; several may run at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--block-ms", type=int, default=2000, help="How long one read waits for opens.")
        parser.add_argument("--batch-size", type=int, default=None, help="Opens per batch (OPEN_RECORDER_BATCH_SIZE).")

    def handle(self, *args, block_ms: int, batch_size: int | None, **options):
        if not settings.REDIS_URL:
            raise CommandError("REDIS_URL is not set: without Redis every open is written directly.")
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        run_until_stopped(stop, block_ms=block_ms, batch_size=batch_size)
