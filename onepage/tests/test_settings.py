import os
import subprocess
import sys

import pytest
from django.conf import settings

CHECK = "import django; django.setup(); print('ok')"


def _start(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG"}}
    clean.update(env, DJANGO_SETTINGS_MODULE="onepage.settings")
    return subprocess.run(
        [sys.executable, "-c", CHECK], cwd=settings.BASE_DIR, env=clean, capture_output=True, text=True, timeout=60
    )


def test_embedded_default_starts_with_nothing_set():
    result = _start()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DEBUG": "false"}, "SECRET_KEY"),
        ({"DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL"),
        ({"TIME_ZONE": "Mars/Olympus"}, "TIME_ZONE"),
        ({"SITE_URL": "ftp://example.com"}, "SITE_URL"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
    ],
)
def test_bad_value_fails_at_startup_naming_the_variable(env, named):
    result = _start(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr.splitlines()[-1]


def test_debug_beyond_this_machine_needs_a_secret_key_of_its_own():
    # The development key is public: pixel tokens and sessions would be forgeable.
    for hosts in ("crm.example.com", "127.0.0.1,*", "10.0.0.5"):
        result = _start(ALLOWED_HOSTS=hosts)
        assert result.returncode != 0
        assert "SECRET_KEY must be set when DEBUG is on" in result.stderr.splitlines()[-1]
    assert _start(ALLOWED_HOSTS="crm.example.com", SECRET_KEY="a-real-secret-of-this-deployment").returncode == 0
    assert _start(ALLOWED_HOSTS="localhost,127.0.0.1,[::1],app.localhost").returncode == 0


def _setting(name: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG"}}
    clean.update(env, DJANGO_SETTINGS_MODULE="onepage.settings")
    code = f"import django; django.setup(); from django.conf import settings; print(settings.{name})"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=clean, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_mailbox_servers_on_loopback_are_allowed_only_in_development_on_this_machine():
    assert _setting("MAILBOX_ALLOWED_HOSTS") == "['127.0.0.0/8', '::1', 'localhost']"
    assert _setting("MAILBOX_ALLOWED_HOSTS", DEBUG="false", SECRET_KEY="s" * 50) == "[]"
    assert _setting("MAILBOX_ALLOWED_HOSTS", ALLOWED_HOSTS="crm.example.com", SECRET_KEY="s" * 50) == "[]"
    assert (
        _setting(
            "MAILBOX_ALLOWED_HOSTS",
            DEBUG="false",
            SECRET_KEY="s" * 50,
            MAILBOX_ALLOWED_HOSTS="10.0.0.0/8,mail.internal",
        )
        == "['10.0.0.0/8', 'mail.internal']"
    )
