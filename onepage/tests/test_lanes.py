"""onepage.lanes: requests answered in front of Django's WSGI handler
(the tracking pixel's lane, whose own tests are tracking/tests/test_pixel_lane.py)."""

import logging

import pytest

from onepage import lanes
from tracking.tests.wsgi_client import WsgiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_lanes():
    kept = list(lanes._lanes)
    yield
    lanes._lanes[:] = kept


def test_a_lane_that_fails_is_logged_as_django_logs_a_failed_request_and_answers_500(own_lanes, caplog):
    def failing(environ):
        raise RuntimeError("the lane broke")

    lanes.register("/lane-test/", failing)

    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = WsgiClient().get("/lane-test/x")

    assert response.status_code == 500
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage() == "Internal Server Error: /lane-test/x"
    assert record.exc_info[0] is RuntimeError


def test_a_lane_answers_its_prefix_and_leaves_the_rest_to_django(own_lanes):
    lanes.register("/lane-test/", lambda environ: ("200 OK", [("Content-Type", "text/plain")], b"lane"))

    assert WsgiClient().get("/lane-test/x").content == b"lane"
    # Not its prefix: Django's handler (the health check page).
    assert WsgiClient().get("/healthz").status_code in (200, 503)


def test_the_asgi_application_answers_the_servers_lifespan_events():
    """Django's ASGI handler refuses them (granian then logs an error at
    every worker's start): startup and shutdown are acknowledged."""
    from asgiref.sync import async_to_sync

    from onepage.asgi import application

    events = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent = []

    async def receive():
        return next(events)

    async def send(message):
        sent.append(message["type"])

    async_to_sync(application)({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)

    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
