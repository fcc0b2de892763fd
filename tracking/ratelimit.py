"""How many opens of one recipient are counted: at most
OPENS_PER_RECIPIENT_PER_MINUTE in a minute. Anyone holding one pixel URL
could otherwise write open rows without end; past the limit the pixel is
still served, and the open is not recorded.

The check costs no database query. In stream mode it is counted by the
append's own script (tracking.stream, on `limit_key`, one round trip);
without Redis, or while it does not answer, here in this process (each
process then allows the limit on its own: a looser cap, never a lost pixel)."""

import threading
import time

from django.conf import settings

_local_lock = threading.Lock()
_local_minute = -1
_local_counts: dict[str, int] = {}


def limit_key(recipient_id: int, now: float) -> str:
    """The recipient's counter for the minute of `now`: beside the stream the
    opens go to, one namespace per deployment."""
    return f"{settings.OPEN_STREAM}:limit:{recipient_id}:{int(now // 60)}"


def may_count_open(*, recipient_id: int, now: float | None = None) -> bool:
    """Whether this open of the recipient is within the limit, counted in this
    process (and counts it): the fallback when the stream cannot count it."""
    global _local_minute
    now = time.time() if now is None else now
    minute, key = int(now // 60), limit_key(recipient_id, now)
    with _local_lock:
        if minute != _local_minute:
            # A new minute: last minute's counters are of no more use.
            _local_counts.clear()
            _local_minute = minute
        _local_counts[key] = _local_counts.get(key, 0) + 1
        return _local_counts[key] <= settings.OPENS_PER_RECIPIENT_PER_MINUTE
