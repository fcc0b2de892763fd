"""Mail-server work of the embedded default, off the request.

With eager tasks (no Redis: `make run`) there is no worker and no beat: a
task runs inside the request that queues it, and nothing runs on a schedule.
Two things must still happen without a person waiting for an IMAP server:

- the Sent-folder step after a send (`sent_copies`), which may wait for the
  server's timeout or for the provider to file its copies;
- the sync of the mailboxes due (beat's `sync-mailboxes`), looked for on page
  loads at most once every LOOK_EVERY seconds (MAILBOX_SYNC_ON_PAGE_LOADS).

Both run here, one after another, on one background thread of the web
process: the page that queued them has its answer at once. With a worker
(Redis), they are Celery tasks and this module is idle."""

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connections

from .mailbox_sync import due_mailboxes, sync_mailbox

logger = logging.getLogger(__name__)

LOOK_EVERY = 60  # seconds, as beat's sync-mailboxes
_LOOKED_KEY = "mailbox-sync:looked"

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="onepage-mail")
        return _executor


def run_later(work: Callable[..., object], *args: object) -> None:
    """Run `work(*args)` on the background thread, after what is queued there."""
    _pool().submit(_run, work, args)


def _run(work: Callable[..., object], args: tuple) -> None:
    close_old_connections()
    try:
        work(*args)
    except Exception:
        logger.exception("Background mail work %s failed", getattr(work, "__name__", work))
    finally:
        # This thread's connections are its own: none is left open in between.
        connections.close_all()


def on_page_load(**kwargs: object) -> None:
    """request_started: without beat, look for mailboxes due now and then.
    Costs the page one cache add; the sync itself runs on the thread."""
    if not settings.MAILBOX_SYNC_ON_PAGE_LOADS:
        return
    if cache.add(_LOOKED_KEY, 1, timeout=LOOK_EVERY):
        run_later(sync_due_mailboxes)


def sync_due_mailboxes() -> int:
    due = due_mailboxes()
    for mailbox_id in due:
        sync_mailbox(mailbox_id=mailbox_id)
    return len(due)


def wait_idle(timeout: float = 30) -> None:
    """Wait until what was queued so far has run (the tests, a shutdown)."""
    _pool().submit(lambda: None).result(timeout=timeout)
