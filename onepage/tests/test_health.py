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

TOKEN = "a-monitors-own-token-of-40-characters-xy"


@pytest.fixture
def monitor(client, settings):
    """GET as a monitor sending HEALTHZ_TOKEN."""
    settings.HEALTHZ_TOKEN = TOKEN
    return lambda path: client.get(path, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")


def test_healthz_tells_anyone_the_status_and_nothing_more(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "failing": []}
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_shows_a_monitor_with_the_token_each_dependency(monitor, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    response = monitor("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"ok": True}
    assert {"database", "redis", "worker", "beat", "open_backlog"} <= set(body["checks"])


@pytest.mark.parametrize("configured", [TOKEN, ""], ids=["token set", "no token set"])
@pytest.mark.parametrize("sent", ["Bearer not-the-token", f"Bearer {TOKEN}x", f"Basic {TOKEN}", "Bearer "])
def test_healthz_refuses_a_wrong_token_and_shows_no_details(client, settings, configured, sent):
    settings.HEALTHZ_TOKEN = configured
    response = client.get("/healthz", HTTP_AUTHORIZATION=sent)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"error": "The token does not match HEALTHZ_TOKEN."}


def test_a_short_healthz_token_stops_the_start_naming_the_setting():
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL"}}
    env.update(HEALTHZ_TOKEN="short", DJANGO_SETTINGS_MODULE="onepage.settings")
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=django_settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "HEALTHZ_TOKEN must be at least 32 characters" in result.stderr


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
        "r = Client().get('/healthz', HTTP_HOST='127.0.0.1'); print(r.status_code, r.content.decode()); "
        f"r = Client().get('/healthz', HTTP_HOST='127.0.0.1', HTTP_AUTHORIZATION='Bearer {TOKEN}'); "
        "print(r.status_code, r.content.decode())"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(
        DATABASE_URL="postgres://postgres@127.0.0.1:1/onepage",
        DJANGO_SETTINGS_MODULE="onepage.settings",
        HEALTHZ_TOKEN=TOKEN,
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=django_settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    public, monitor = (line.split(" ", 1) for line in result.stdout.splitlines())
    assert public[0] == "503", result.stderr
    # Anyone: which part is down, nothing that names an internal host.
    assert json.loads(public[1]) == {"status": "unavailable", "failing": ["database"]}
    # The monitor with the token: the error itself.
    assert monitor[0] == "503"
    database = json.loads(monitor[1])["checks"]["database"]
    assert database["ok"] is False and database["error"].startswith("OperationalError: ")
    assert "127.0.0.1" in database["error"]


def test_worker_and_beat_are_up_once_the_heartbeat_went_round(client, monitor, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    cache.delete_many([health.WORKER_KEY, health.BEAT_KEY])
    checks = monitor("/healthz").json()["checks"]
    assert checks["worker"] == {"ok": False, "error": "never seen"}
    assert checks["beat"] == {"ok": False, "error": "never seen"}
    # Anyone sees that they are down (the service still answers), not since when.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "failing": ["worker", "beat"]}

    heartbeat.apply_async()  # what beat does: publishing is beat's heartbeat
    checks = monitor("/healthz").json()["checks"]
    assert checks["beat"]["ok"] is True and checks["worker"]["ok"] is False

    heartbeat()  # what a worker does with it
    checks = monitor("/healthz").json()["checks"]
    assert checks["worker"] == {"ok": True, "last_seen_seconds_ago": 0}
    assert client.get("/healthz").json()["failing"] == []


def test_a_silent_worker_is_reported_down(client, monitor, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    cache.set(health.WORKER_KEY, time.time() - health.HEARTBEAT_STALE - 5)
    worker = monitor("/healthz").json()["checks"]["worker"]
    assert worker["ok"] is False and worker["last_seen_seconds_ago"] > health.HEARTBEAT_STALE
    assert "worker" in client.get("/healthz").json()["failing"]


def test_embedded_setup_reports_redis_and_workers_as_not_used(monitor, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.REDIS_URL = ""
    checks = monitor("/healthz").json()["checks"]
    assert checks["redis"]["ok"] is None
    assert checks["worker"]["ok"] is None and checks["open_backlog"]["ok"] is None


def test_open_backlog_reports_an_old_waiting_open(client, monitor, settings, _own_open_stream):
    if not settings.REDIS_URL:
        pytest.skip("needs Redis: runs in the PostgreSQL + Redis run (REDIS_URL)")
    from tracking.stream import client as redis_client

    # An entry id carries its time: this open has waited since 1970.
    redis_client(settings.REDIS_URL).xadd(_own_open_stream, {"recipient": 1, "at": "x"}, id="1000-0")
    backlog = monitor("/healthz").json()["checks"]["open_backlog"]
    assert backlog["ok"] is False
    assert backlog["length"] == 1 and backlog["oldest_pending_age"] > 10**9
    # Anyone: the backlog is behind, not how long or how many.
    assert "open_backlog" in client.get("/healthz").json()["failing"]


def test_system_page_shows_the_checks_and_the_organizations_emails(admin_client, org, other_org):
    EmailFactory(organization=org, status=Email.Status.FAILED)
    EmailFactory.create_batch(2, organization=org, status=Email.Status.QUEUED)
    EmailFactory(organization=other_org, status=Email.Status.FAILED)
    response = admin_client.get(reverse("system"))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-check="database"' in content and 'data-check="open_backlog"' in content
    assert dict(response.context["panels"]["Emails"]) == {"Queued": 2, "Sending": 0, "Failed": 1}


def test_system_page_says_what_monitors_see_and_which_parts_are_down(admin_client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    cache.delete_many([health.WORKER_KEY, health.BEAT_KEY])
    settings.HEALTHZ_TOKEN = ""
    content = admin_client.get(reverse("system")).content.decode()
    assert "OnePage is up, but some parts are down: Worker, Beat." in content
    assert "/healthz</code> tells anyone only whether OnePage is up and which parts are down" in content
    assert "Set HEALTHZ_TOKEN to give a monitor these details too." in content

    settings.HEALTHZ_TOKEN = TOKEN
    content = admin_client.get(reverse("system")).content.decode()
    assert "A monitor that sends the token in HEALTHZ_TOKEN gets these details too." in content
    assert TOKEN not in content


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


@pytest.mark.browser
def test_admin_reads_which_parts_are_down_on_the_system_page(page, admin_user, settings):
    from conftest import screenshot, sign_in

    settings.CELERY_TASK_ALWAYS_EAGER = False
    cache.delete_many([health.WORKER_KEY, health.BEAT_KEY])
    sign_in(page, "ada")
    page.goto("/settings/system/")
    assert "OnePage is up, but some parts are down: Worker, Beat." in page.inner_text("main")
    assert page.locator("tr[data-check=worker]").inner_text().split()[:2] == ["Worker", "Down"]
    screenshot(page, "system_degraded_desktop")
