"""deploy/ and the README's Production steps as an operator runs them on
Debian 12: the nginx example under nginx itself, every systemd unit under
`systemd-analyze verify`, the README's `manage` function under sudo. Each
test skips where its tool is missing; scripts/test.sh installs nginx."""

import configparser
import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from uuid import uuid4

import pytest
import redis
from django.conf import settings
from django.db import connection

from alerts.stream_views import HEARTBEAT
from conftest import free_port
from emails.pixels import make_token
from emails.tests.factories import EmailRecipientFactory
from onepage.models import User
from onepage.tests.tls_proxy import self_signed_certificate

BASE_DIR = Path(settings.BASE_DIR)
DEPLOY = BASE_DIR / "deploy"
README = BASE_DIR / "README.md"
GRANIAN = Path(sys.executable).with_name("granian")
NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
MAIL_CLIENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
# What nginx 1.25.1 and later say of `listen ... http2`, which the example
# keeps so that it also runs on the nginx of Debian 12 and Ubuntu 24.04.
HTTP2_DEPRECATED = 'the "listen ... http2" directive is deprecated'

needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx-light)")


def _readme_production() -> str:
    text = README.read_text()
    return text[text.index("## Production") : text.index("\n## ", text.index("## Production") + 1)]


# --- nginx --------------------------------------------------------------------


def _substitute(text: str, pattern: str, replacement: str) -> str:
    changed, count = re.subn(pattern, replacement, text)
    assert count, f"the nginx example no longer has {pattern!r}: update this test"
    return changed


def _nginx_config(directory: Path, *, http_port: int, https_port: int, upstream: str) -> Path:
    """The example as an operator installs it, in a throwaway prefix: loopback
    ports, a self-signed certificate, `upstream` for OnePage's address, and a
    main file shaped like Debian's (an access log for the whole http block)."""
    cert, key = self_signed_certificate(directory)
    site = (DEPLOY / "nginx.conf.example").read_text()
    site = _substitute(site, r"listen\s+80\b", f"listen 127.0.0.1:{http_port}")
    site = _substitute(site, r"listen\s+443\b", f"listen 127.0.0.1:{https_port}")
    site = _substitute(site, r"/etc/letsencrypt/live/crm\.example\.com/fullchain\.pem", str(cert))
    site = _substitute(site, r"/etc/letsencrypt/live/crm\.example\.com/privkey\.pem", str(key))
    site = _substitute(site, r"127\.0\.0\.1:8000", upstream)
    (directory / "onepage.conf").write_text(site)
    temp_paths = "".join(
        f"    {kind}_temp_path {directory / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = directory / "nginx.conf"
    main.write_text(
        f"pid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'error.log'};\n"
        "daemon off;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        f"    access_log {directory / 'access.log'};\n"
        f"{temp_paths}"
        f"    include {directory / 'onepage.conf'};\n"
        "}\n"
    )
    return main


def _nginx(*args: str | Path, prefix: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [NGINX, "-p", str(prefix), *map(str, args)], capture_output=True, text=True, timeout=30, check=False
    )


@needs_nginx
def test_the_nginx_example_passes_nginx_t(tmp_path):
    config = _nginx_config(tmp_path, http_port=free_port(), https_port=free_port(), upstream="127.0.0.1:8000")
    result = _nginx("-t", "-c", config, prefix=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr
    warnings = [line for line in result.stderr.splitlines() if "[warn]" in line and HTTP2_DEPRECATED not in line]
    assert not warnings


def _get(url: str, *, user_agent: str = MAIL_CLIENT) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers={"User-Agent": user_agent})
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # the test's own certificate

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def _wait_for_port(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"nginx exited: {process.stderr.read()}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"nginx did not listen on {port} within 15 s")


@needs_nginx
def test_nginx_keeps_no_access_log_line_of_a_pixel_fetch(tmp_path, live_server, transactional_db):
    """OnePage stores no address and no user agent of an open: nor may the
    proxy in front of it, in a log kept for weeks."""
    http_port, https_port = free_port(), free_port()
    upstream = f"127.0.0.1:{live_server.url.rsplit(':', 1)[1]}"
    config = _nginx_config(tmp_path, http_port=http_port, https_port=https_port, upstream=upstream)
    token = make_token(EmailRecipientFactory().pk)
    process = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(config)], stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_port(https_port, process)
        _wait_for_port(http_port, process)
        # The recipient's mail client gets the pixel through nginx, over https and plain http.
        status, content_type, body = _get(f"https://127.0.0.1:{https_port}/o/{token}.gif")
        assert (status, content_type, len(body)) == (200, "image/gif", 43)
        assert _get(f"http://127.0.0.1:{http_port}/o/{token}.gif")[0] == 301
        # Pages are logged as before: the log is written at all.
        assert _get(f"https://127.0.0.1:{https_port}/accounts/login/", user_agent=BROWSER)[0] == 200
    finally:
        _stop_nginx(process)
    access_log = (tmp_path / "access.log").read_text()
    assert "/accounts/login/" in access_log
    assert "/o/" not in access_log
    assert token not in access_log
    assert "Thunderbird" not in access_log


def _stop_nginx(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGQUIT)  # graceful: logs flushed
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _kill_group(process: subprocess.Popen) -> None:
    """SIGKILL to a process started in a session of its own, and its children."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def _live_process(tmp_path: Path) -> tuple[subprocess.Popen, int, str]:
    """The live process as deploy/systemd/onepage-live.service runs it
    (granian's ASGI interface, CONN_MAX_AGE=0) against the test database and
    Redis, appending opens to a stream of its own; its port and that stream,
    once it answers the pixel."""
    database = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE")}
    stream = f"deploy-test:{uuid4().hex}"
    env.update(
        DATABASE_URL=(
            f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
        REDIS_URL=settings.REDIS_URL,
        OPEN_STREAM=stream,  # only the live process appends here
        OPEN_SPOOL_DIR=str(tmp_path / "live-spool"),
        SECRET_KEY=settings.SECRET_KEY,  # the pixel tokens verify
        DEBUG="true",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        CONN_MAX_AGE="0",
        MAILBOX_SYNC_ON_PAGE_LOADS="false",
        LOG_LEVEL="WARNING",
    )
    port = free_port()
    with (tmp_path / "granian.log").open("w") as log:
        process = subprocess.Popen(
            [GRANIAN, "--interface", "asgi", "--workers", "1", "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "warning", "onepage.asgi:application"],
            cwd=BASE_DIR, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            pytest.fail(f"granian exited: {(tmp_path / 'granian.log').read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/o/x.gif", timeout=2) as response:
                if response.status == 200:
                    return process, port, stream
        except OSError:
            pass
        if time.monotonic() > deadline:
            _kill_group(process)
            pytest.fail(f"granian did not answer /o/x.gif within 30 s: {(tmp_path / 'granian.log').read_text()}")
        time.sleep(0.2)


@needs_nginx
def test_nginx_sends_the_pixel_to_the_live_process_and_to_the_web_process_when_it_is_down(
    tmp_path, live_server, transactional_db
):
    """The example as installed: a pixel goes to the live process (its ASGI
    lane appends the open to Redis); with that process killed, nginx's
    error_page hands the same pixel to the web process (@pixel_on_web), and
    the recipient's mail client still gets the GIF."""
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("needs a database and a Redis another process can reach: runs in the PostgreSQL + Redis run")
    recipient = EmailRecipientFactory()
    token = make_token(recipient.pk)
    streams = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    live, live_port, live_stream = _live_process(tmp_path)
    nginx = None
    try:
        https_port = free_port()
        upstream = f"127.0.0.1:{live_server.url.rsplit(':', 1)[1]}"
        config = _nginx_config(tmp_path, http_port=free_port(), https_port=https_port, upstream=upstream)
        config.with_name("onepage.conf").write_text(
            _substitute(config.with_name("onepage.conf").read_text(), r"127\.0\.0\.1:8001", f"127.0.0.1:{live_port}")
        )
        nginx = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(config)], stderr=subprocess.PIPE, text=True)
        _wait_for_port(https_port, nginx)
        pixel = f"https://127.0.0.1:{https_port}/o/{token}.gif"

        # The live process answers: its lane appended the open to its stream.
        status, content_type, body = _get(pixel)
        assert (status, content_type, len(body)) == (200, "image/gif", 43)
        entries = streams.xrange(live_stream)
        assert [fields["recipient"] for _, fields in entries] == [str(recipient.pk)]
        assert streams.xlen(settings.OPEN_STREAM) == 0  # not the web process

        # The live process dies: nginx gets no answer from it (502) and
        # passes the pixel to the web process.
        _kill_group(live)
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", live_port)) != 0:
                    break
            assert time.monotonic() < deadline, f"port {live_port} still accepts connections after the kill"
            time.sleep(0.1)
        status, content_type, body = _get(pixel)
        assert (status, content_type, len(body)) == (200, "image/gif", 43), (tmp_path / "error.log").read_text()
        assert streams.xlen(live_stream) == 1
        web_entries = streams.xrange(settings.OPEN_STREAM)
        assert [fields["recipient"] for _, fields in web_entries] == [str(recipient.pk)]
    finally:
        if nginx is not None:
            _stop_nginx(nginx)
        if live.returncode is None:  # not killed and reaped above
            _kill_group(live)
        streams.delete(live_stream, *streams.scan_iter(f"{live_stream}:*"))  # and its per-minute limit counters
        streams.close()


def test_the_web_and_live_ports_are_named_once_in_nginx_and_match_the_env_example():
    env = dict(
        line.split("=", 1)
        for line in (DEPLOY / "env.example").read_text().splitlines()
        if re.match(r"(WEB|LIVE)_\w+=", line)
    )
    addresses = re.findall(r"\b\d{1,3}(?:\.\d{1,3}){3}:\d+\b", (DEPLOY / "nginx.conf.example").read_text())
    assert addresses == [f"{env['WEB_BIND']}:{env['WEB_PORT']}", f"{env['LIVE_BIND']}:{env['LIVE_PORT']}"]
    # And the README tells the operator that the two go together.
    production = _readme_production()
    assert re.search(r"WEB_PORT[^.]*nginx[^.]*both", production), "README: change WEB_PORT and nginx together"
    assert re.search(r"LIVE_PORT[^.]*nginx[^.]*both", production), "README: change LIVE_PORT and nginx together"


def test_nginx_passes_the_bells_stream_on_unbuffered_and_keeps_it_open():
    site = (DEPLOY / "nginx.conf.example").read_text()
    location = re.search(r"location = /alerts/stream/ \{(.*?)\}", site, re.DOTALL)
    assert location, "nginx: a location for /alerts/stream/"
    directives = dict(
        line.strip().rstrip(";").split(None, 1) for line in location.group(1).splitlines() if line.strip()
    )
    assert directives["proxy_pass"] == "http://onepage_live"
    assert directives["proxy_buffering"] == "off"
    assert directives["proxy_http_version"] == "1.1"
    timeout = re.fullmatch(r"(\d+)([smh])", directives["proxy_read_timeout"])
    seconds = int(timeout[1]) * {"s": 1, "m": 60, "h": 3600}[timeout[2]]
    assert seconds > 2 * HEARTBEAT  # well above the stream's heartbeat
    # Its own proxy_set_header lines drop the server's: Host and the forwarded ones are repeated.
    headers = re.findall(r"proxy_set_header (\S+)", location.group(1))
    assert {"Host", "X-Forwarded-Proto", "X-Forwarded-For", "Connection"} <= set(headers)


def test_the_readme_says_the_pixel_is_not_in_nginx_access_log():
    assert re.search(r"/o/[^.]*access log|access log[^.]*/o/", _readme_production())


# --- systemd ------------------------------------------------------------------


def _unit_copy(unit: Path, directory: Path) -> Path:
    # The units' programs live in /opt/onepage; this checkout's stand in, so
    # that verify checks that they exist rather than failing on the path.
    copy = directory / unit.name
    copy.write_text(unit.read_text().replace("/opt/onepage", str(BASE_DIR)))
    return copy


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("unit", UNITS, ids=[unit.name for unit in UNITS])
def test_systemd_analyze_verify_finds_nothing_to_say_of_the_unit(unit, tmp_path):
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", str(_unit_copy(unit, tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Warnings such as "Unknown key ... ignoring" exit 0: any output is a finding.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@pytest.mark.parametrize("unit", UNITS, ids=[unit.name for unit in UNITS])
def test_every_unit_is_restarted_for_ever(unit):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(unit.read_text())
    assert parser["Service"]["Restart"] == "always"
    # systemd reads the start limit in [Unit] only; 0 = never give up.
    assert parser["Unit"].get("StartLimitIntervalSec") == "0"
    assert "StartLimitIntervalSec" not in parser["Service"]


# --- The README's manage function ---------------------------------------------


def _sudo_user() -> str | None:
    """Who the README's `manage` may run as here: the service user when it can
    run this checkout's Python, else this user (sudo resets the environment
    of either the same way); None where sudo would ask for a password."""
    if shutil.which("sudo") is None:
        return None
    candidates = [name for name in ("onepage",) if _user_exists(name)] + [pwd.getpwuid(os.getuid()).pw_name]
    for name in candidates:
        probe = ["sudo", "-n", "-u", name, str(BASE_DIR / ".venv" / "bin" / "python"), "-c", ""]
        if subprocess.run(probe, capture_output=True, timeout=30, check=False).returncode == 0:
            return name
    return None


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def test_the_readme_manage_function_passes_the_admin_password_to_create_organization(tmp_path, transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("needs a database another process can reach: runs in the PostgreSQL run")
    user = _sudo_user()
    if user is None:
        pytest.skip("needs sudo that runs without a password prompt")
    function = re.search(r"^manage\(\) \{.*\}$", _readme_production(), re.MULTILINE)
    assert function, "the README's manage function"
    function = function.group(0).replace("/etc/onepage/env", str(tmp_path / "env"))
    function = function.replace("/opt/onepage", str(BASE_DIR)).replace("-u onepage", f"-u {user}")
    database = connection.settings_dict
    (tmp_path / "env").write_text(
        f"DATABASE_URL=postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:"
        f"{database['PORT'] or 5432}/{database['NAME']}\n"
    )
    password = "the-admin's passphrase 42"
    script = f"""{function}
ONEPAGE_ADMIN_PASSWORD="$1" manage create_organization "Sudo Trading" --admin sue --email sue@sudo.example"""
    result = subprocess.run(
        ["bash", "-c", script, "bash", password],
        stdin=subprocess.DEVNULL,  # as from a provisioning script: no terminal to type at
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Created Sudo Trading" in result.stdout
    assert User.objects.get(username="sue").check_password(password)
