"""The recording pipeline's fixtures (tracking/tests/conftest.py): the
notifications' tests run each way an open is recorded."""

from tracking.tests.conftest import redis_stream, settle_opens  # noqa: F401
