"""The recording pipeline's fixtures (each test once per way an open is
recorded), for the erasure's tests."""

from tracking.tests.conftest import redis_stream, settle_opens  # noqa: F401
