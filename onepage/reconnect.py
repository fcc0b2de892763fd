"""Idempotent writes that outlive a dropped database connection.

A switchover (README: PostgreSQL standby) stops the primary: every session
on it ends, mid-statement or between two. Django opens a new connection only
at the next request or task, so a long task (a send) would fail on the
connection it holds, although the promoted standby answers a second later.
`retrying` closes the dead connection and makes the write again on a new one;
with the multi-host DATABASE_URL libpq finds the new primary.

Only for writes that are safe to make twice (conditional updates: the first
may have committed with its reply lost) and only outside a transaction:
half a transaction cannot be made again, its caller's whole one must.
"""

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Longer than a planned switchover (seconds) or a restart; shorter than
# EMAIL_CLAIM_TIMEOUT, after which the sweep would take a send over.
RECONNECT_WITHIN = 30.0
PAUSE_FIRST = 0.2
PAUSE_MAX = 2.0


def retrying(write: Callable[[], T], *, within: float = RECONNECT_WITHIN) -> T:
    deadline = time.monotonic() + within
    pause = PAUSE_FIRST
    while True:
        try:
            return write()
        except (OperationalError, InterfaceError) as exc:
            if connection.in_atomic_block or time.monotonic() + pause > deadline:
                raise
            logger.warning("The database connection failed (%s): trying again on a new one", _short(exc))
            connection.close()
            time.sleep(pause)
            pause = min(pause * 2, PAUSE_MAX)


def connection_lost(exc: BaseException) -> bool:
    """Did `exc` come from a connection the database dropped (rather than
    from the statement)?"""
    if not isinstance(exc, (OperationalError, InterfaceError)):
        return False
    return connection.connection is None or not connection.is_usable()


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]
