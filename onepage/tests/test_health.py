"""GET /healthz and Settings -> System: each dependency named, no session."""

import json
import os
import subprocess
import sys
import time

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.urls import reverse

from emails.models import Email
from emails.tests.factories import EmailFactory
from onepage import health
from onepage.tasks import heartbeat

pytestmark = pytest.mark.django_db


def test_healthz_answers_200_with_each_dependency(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"ok": True}
    assert {"database", "redis", "worker", "beat", "open_backlog"} <= set(body["checks"])
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_sets_no_cookie_and_looks_up_no_session(rep_client, django_assert_num_queries):
    rep_client.get(reverse("contacts:list"))  # a signed-in browser, its session cookie sent along
    with django_assert_num_queries(1):  # SELECT 1, nothing else
        response = rep_client.get("/healthz")
    assert response.status_code == 200
    assert not response.cookies


def test_healthz_answers_503_naming_the_database_when_it_is_unreachable():
    # A separate process whose database is a port nothing listens on.
    code = (
        "import django; django.setup(); from django.test import Client; "
        "r = Client().get('/healthz', HTTP_HOST='127.0.0.1'); print(r.status_code); print(r.content.decode())"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(DATABASE_URL="postgres://postgres@127.0.0.1:1/onepage", DJANGO_SETTINGS_MODULE="onepage.settings")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=django_settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    status, body = result.stdout.split("\n", 1)
    assert status == "503", result.stderr
    report = json.loads(body)
    assert report["status"] == "unavailable"
    assert report["checks"]["database"] == {"ok": False, "error": "OperationalError"}
    assert "127.0.0.1" not in body  # the public answer names no internal host


def test_worker_and_beat_are_up_once_the_heartbeat_went_round(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    cache.delete_many([health.WORKER_KEY, health.BEAT_KEY])
    checks = client.get("/healthz").json()["checks"]
    assert checks["worker"] == {"ok": False, "error": "never seen"}
    assert checks["beat"] == {"ok": False, "error": "never seen"}

    heartbeat.apply_async()  # what beat does: publishing is beat's heartbeat
    checks = client.get("/healthz").json()["checks"]
    assert checks["beat"]["ok"] is True and checks["worker"]["ok"] is False

    heartbeat()  # what a worker does with it
    checks = client.get("/healthz").json()["checks"]
    assert checks["worker"] == {"ok": True, "last_seen_seconds_ago": 0}


def test_a_silent_worker_is_reported_down(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    cache.set(health.WORKER_KEY, time.time() - health.HEARTBEAT_STALE - 5)
    worker = client.get("/healthz").json()["checks"]["worker"]
    assert worker["ok"] is False and worker["last_seen_seconds_ago"] > health.HEARTBEAT_STALE


def test_embedded_setup_reports_redis_and_workers_as_not_used(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.REDIS_URL = ""
    checks = client.get("/healthz").json()["checks"]
    assert checks["redis"]["ok"] is None
    assert checks["worker"]["ok"] is None and checks["open_backlog"]["ok"] is None


def test_open_backlog_reports_an_old_waiting_open(client, settings, _own_open_stream):
    if not settings.REDIS_URL:
        pytest.skip("needs Redis: runs in the PostgreSQL + Redis run (REDIS_URL)")
    from tracking.stream import client as redis_client

    # An entry id carries its time: this open has waited since 1970.
    redis_client(settings.REDIS_URL).xadd(_own_open_stream, {"recipient": 1, "at": "x"}, id="1000-0")
    backlog = client.get("/healthz").json()["checks"]["open_backlog"]
    assert backlog["ok"] is False
    assert backlog["length"] == 1 and backlog["oldest_pending_age"] > 10**9


def test_system_page_shows_the_checks_and_the_organizations_emails(admin_client, org, other_org):
    EmailFactory(organization=org, status=Email.Status.FAILED)
    EmailFactory.create_batch(2, organization=org, status=Email.Status.QUEUED)
    EmailFactory(organization=other_org, status=Email.Status.FAILED)
    response = admin_client.get(reverse("system"))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-check="database"' in content and 'data-check="open_backlog"' in content
    assert dict(response.context["panels"]["Emails"]) == {"Queued": 2, "Sending": 0, "Failed": 1}


def test_system_page_is_for_admins_only(rep_client):
    response = rep_client.get(reverse("system"))
    assert response.status_code == 403
    assert b"Only admins can do this" in response.content


@pytest.mark.browser
def test_admin_finds_the_system_page_in_settings_on_a_phone(page, admin_user):
    from conftest import screenshot, sign_in

    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "ada")
    page.goto("/settings/")
    page.click("text=System")
    page.wait_for_url("**/settings/system/")
    assert page.locator("tr[data-check=database]").inner_text().split()[:2] == ["Database", "OK"]
    assert page.locator("tr[data-check=open_backlog] th").inner_text() == "Open backlog"
    screenshot(page, "system_phone")
    # The page's content fits the phone's width.
    assert page.evaluate("document.querySelector('main').scrollWidth") <= 390
