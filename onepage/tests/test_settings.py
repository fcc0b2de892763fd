import os
import subprocess
import sys

import pytest
from django.conf import settings

CHECK = "import django; django.setup(); print('ok')"
# The root conftest allows async-unsafe ORM calls for Playwright: never in production.
SETTINGS_VARS = {
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "DEBUG",
    "SITE_URL",
    "ALLOWED_HOSTS",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k" * 25 + "ey-of-fifty-random-characters-xy",
    "SITE_URL": "https://crm.acme.example",
}


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS}
    clean.update(env, DJANGO_SETTINGS_MODULE="onepage.settings")
    return subprocess.run(
        [sys.executable, *args], cwd=settings.BASE_DIR, env=clean, capture_output=True, text=True, timeout=60
    )


def _start(**env: str) -> subprocess.CompletedProcess:
    return _run(["-c", CHECK], **env)


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
        ({**PRODUCTION, "SECRET_KEY": "short-but-set"}, "SECRET_KEY"),
        ({**PRODUCTION, "SITE_URL": "http://crm.acme.example"}, "SITE_URL"),
        ({**PRODUCTION, "SITE_URL": "https://127.0.0.1:8000"}, "SITE_URL"),
        ({**PRODUCTION, "SITE_URL": "https://localhost"}, "SITE_URL"),
        ({"DEBUG": "false", "SECRET_KEY": PRODUCTION["SECRET_KEY"]}, "SITE_URL"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
    ],
)
def test_bad_value_fails_at_startup_naming_the_variable(env, named):
    result = _start(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr.splitlines()[-1]


def test_production_environment_passes_check_deploy():
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_derives_hosts_origins_and_https_from_site_url():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.ALLOWED_HOSTS, s.CSRF_TRUSTED_ORIGINS, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, "
        "s.SECURE_HSTS_SECONDS > 0, getattr(s, 'SECURE_PROXY_SSL_HEADER', None))"
    )
    result = _run(["-c", code], **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['crm.acme.example'] ['https://crm.acme.example'] True True True None"

    behind_proxy = _run(["-c", code], **PRODUCTION, TRUST_X_FORWARDED_PROTO="true")
    assert behind_proxy.stdout.strip().endswith("('HTTP_X_FORWARDED_PROTO', 'https')")


def test_debug_beyond_this_machine_needs_a_secret_key_of_its_own():
    # The development key is public: pixel tokens and sessions would be forgeable.
    for hosts in ("crm.example.com", "127.0.0.1,*", "10.0.0.5"):
        result = _start(ALLOWED_HOSTS=hosts)
        assert result.returncode != 0
        assert "SECRET_KEY must be set when DEBUG is on" in result.stderr.splitlines()[-1]
    assert _start(ALLOWED_HOSTS="crm.example.com", SECRET_KEY="a-real-secret-of-this-deployment").returncode == 0
    assert _start(ALLOWED_HOSTS="localhost,127.0.0.1,[::1],app.localhost").returncode == 0


def _setting(name: str, **env: str) -> str:
    result = _run(
        ["-c", f"import django; django.setup(); from django.conf import settings; print(settings.{name})"], **env
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_mailbox_servers_on_loopback_are_allowed_only_in_development_on_this_machine():
    assert _setting("MAILBOX_ALLOWED_HOSTS") == "['127.0.0.0/8', '::1', 'localhost']"
    assert _setting("MAILBOX_ALLOWED_HOSTS", **PRODUCTION) == "[]"
    assert _setting("MAILBOX_ALLOWED_HOSTS", ALLOWED_HOSTS="crm.example.com", SECRET_KEY="s" * 50) == "[]"
    assert (
        _setting(
            "MAILBOX_ALLOWED_HOSTS",
            **PRODUCTION,
            MAILBOX_ALLOWED_HOSTS="10.0.0.0/8,mail.internal",
        )
        == "['10.0.0.0/8', 'mail.internal']"
    )


def test_log_format_json_writes_one_json_object_per_line():
    import json

    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('emails.sending').warning('Sending %s failed', 'x', extra={'email_id': 7})"
    )
    result = _run(["-c", code], LOG_FORMAT="json")
    assert result.returncode == 0, result.stderr
    (line,) = result.stderr.strip().splitlines()
    entry = json.loads(line)
    assert entry["message"] == "Sending x failed" and entry["level"] == "WARNING"
    assert (entry["logger"], entry["email_id"]) == ("emails.sending", 7)


def test_onepages_own_mail_goes_to_the_smtp_server_the_environment_names(smtp_server):
    code = (
        "import django; django.setup(); from django.core.mail import send_mail; "
        "send_mail('Reset your password', 'Follow the link.', None, ['rex@acme.example'])"
    )
    result = _run(
        ["-c", code],
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST=smtp_server.host,
        EMAIL_PORT=str(smtp_server.port),
        EMAIL_HOST_USER="onepage",
        EMAIL_HOST_PASSWORD="s3cret-pass",
        DEFAULT_FROM_EMAIL="OnePage <noreply@acme.example>",
    )
    assert result.returncode == 0, result.stderr
    [message] = smtp_server.received
    assert message.mail_from == "noreply@acme.example" and message.rcpt_tos == ["rex@acme.example"]
    assert b"From: OnePage <noreply@acme.example>" in message.content


def test_tls_and_ssl_for_onepages_own_mail_is_a_clear_error():
    result = _start(EMAIL_USE_TLS="true", EMAIL_USE_SSL="true")
    assert result.returncode != 0 and "EMAIL_USE_TLS and EMAIL_USE_SSL" in result.stderr
