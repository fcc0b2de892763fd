"""How the send task retries a transient failure (a 4xx reply, the network,
a timeout): up to MAX_RETRIES times, with exponential backoff (30 s, 1 min,
2 min) and jitter, so that a server that hiccupped is not hit by every
queued email at once. RETRY_WITHIN, the longest wait, follows from them:
the sweep leaves a queued email alone until then."""

import random

MAX_RETRIES = 3
RETRY_BASE_SECONDS = 30


def _base(retries: int) -> int:
    return RETRY_BASE_SECONDS * 2**retries


def retry_countdown(retries: int) -> int:
    base = _base(retries)
    return base + random.randint(0, base // 2)


# The longest retry_countdown (the last retry's base, jitter included).
RETRY_WITHIN = _base(MAX_RETRIES - 1) * 3 // 2
