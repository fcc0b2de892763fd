"""Which production server: gunicorn or granian, measured on the pixel and
on a report page, under the same load, in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/onepage_bench \\
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/servers.py [seconds]

Each server runs OnePage as production does (DEBUG=false, WhiteNoise, 2 worker
processes on this 2-core machine) against PostgreSQL and Redis on 127.0.0.1.
wrk (Debian's package) sends keep-alive requests from 16 connections for
`seconds` per round; servers take turns, two rounds each, so that they share
the machine's ups and downs. Printed: requests per second, median and p99
latency, and each server's throughput as a ratio of the reference (gunicorn,
sync workers). Needs the database bench/reports.py filled (it uses the small
organization's rep for the report page).
"""

import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent
LOCAL = "127.0.0.1"
# What the pixel sees of a desktop mail client (tracking.classify.Signals'
# fields): the hits the benchmarks put on the stream carry it, as the
# pixel's entries do (their signals' verdict, a person's open).
MAIL_CLIENT = {"address": "203.0.113.7", "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Thunderbird/128.5.0"}
SERVERS = {
    "gunicorn sync, 2 workers": ["gunicorn", "--workers", "2", "onepage.wsgi"],
    "gunicorn gthread, 2x4 threads": ["gunicorn", "--workers", "2", "--threads", "4", "onepage.wsgi"],
    "granian wsgi, 2 workers": ["granian", "--interface", "wsgi", "--workers", "2", "onepage.wsgi:application"],
}
REFERENCE = "gunicorn sync, 2 workers"


def bind_args(name: str, port: int) -> list[str]:
    if name.startswith("granian"):
        return ["--host", LOCAL, "--port", str(port), "--no-ws"]
    return ["--bind", f"{LOCAL}:{port}", "--access-logfile", "-", "--error-logfile", "-", "--log-level", "warning"]


def production_env(static_root: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("DATABASE_URL", "REDIS_URL"):
        if urlparse(env.get(name, "")).hostname != LOCAL:
            sys.exit(f"bench/servers.py only talks to {LOCAL}: set {name} to a service there.")
    env.update(
        DEBUG="false",
        SECRET_KEY="bench-" + "x" * 30 + "-not-a-real-secret-key-abcdefghij",
        SITE_URL="https://bench.onepage.example",
        ALLOWED_HOSTS=LOCAL,
        SECURE_SSL_REDIRECT="false",
        STATIC_ROOT=static_root,
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="onepage.settings",
    )
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOCAL, 0))
        return s.getsockname()[1]


def targets(env: dict[str, str]) -> dict[str, tuple[str, str]]:
    """(path, Cookie header) of the pixel and of a report page, made in a child
    process with the production settings."""
    code = """
from django.contrib.auth import SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.urls import reverse
from emails.models import EmailRecipient
from onepage.models import User
from emails.pixels import make_token
rep = User.objects.get(username="bench-small-rep-1")
session = SessionStore()
session[SESSION_KEY], session[BACKEND_SESSION_KEY] = str(rep.pk), "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = rep.get_session_auth_hash()
session.create()
small = "Bench: small organization"
recipient = EmailRecipient.objects.filter(email__organization__name=small, track_opens=True).first()
print(reverse("tracking:pixel", args=[make_token(recipient.pk)]))
print(session.session_key)
"""
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + code],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    pixel, session_key = out
    return {"pixel": (pixel, ""), "Open tracking page": ("/email/open-tracking/", f"sessionid={session_key}")}


def start(name: str, env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    argv = SERVERS[name]
    process = subprocess.Popen(
        [str(VENV_BIN / argv[0]), *argv[1:], *bind_args(name, port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://{LOCAL}:{port}/healthz", timeout=2)
            return process, port
        except OSError:
            time.sleep(0.2)
    stop(process)
    sys.exit(f"{name} did not answer /healthz within 30 s")


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def wrk(port: int, path: str, cookie: str, seconds: int) -> dict[str, float]:
    argv = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", f"http://{LOCAL}:{port}{path}"]
    if cookie:
        argv[1:1] = ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    if "Non-2xx" in out:
        sys.exit(f"wrk saw errors on {path}:\n{out}")
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
        "p99": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
    }


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    if shutil.which("wrk") is None:
        sys.exit("bench/servers.py needs wrk: apt-get install wrk")
    static_root = tempfile.mkdtemp(prefix="onepage-static-")
    env = production_env(static_root)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    pages = targets(env)
    results: dict[tuple[str, str], list[dict]] = {}
    for _round in range(2):
        for name in SERVERS:
            process, port = start(name, env)
            try:
                for page, (path, cookie) in pages.items():
                    wrk(port, path, cookie, 2)  # warm up
                    results.setdefault((name, page), []).append(wrk(port, path, cookie, seconds))
            finally:
                stop(process)
    shutil.rmtree(static_root, ignore_errors=True)
    report(results, pages)


def report(results: dict[tuple[str, str], list[dict]], pages: dict) -> None:
    print(f"\n{'server':32} {'page':20} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'x ref':>6}")
    for page in pages:
        reference = statistics.median(r["rps"] for r in results[(REFERENCE, page)])
        for name in SERVERS:
            runs = results[(name, page)]
            rps = statistics.median(r["rps"] for r in runs)
            p50 = statistics.median(r["p50"] for r in runs)
            p99 = statistics.median(r["p99"] for r in runs)
            print(f"{name:32} {page:20} {rps:8.0f} {p50:8.2f} {p99:8.2f} {rps / reference:6.2f}")


def admin(url: str, sql: str) -> None:
    import psycopg2

    conn = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
    conn.autocommit = True
    try:
        conn.cursor().execute(sql)
    finally:
        conn.close()


def _drop_stream(env: dict) -> None:
    import redis

    queue = env.get("NOTIFY_QUEUE")
    # The queue and kombu's binding of it, when the run handed notifications off.
    queues = [queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"] if queue else []
    redis.Redis.from_url(env["REDIS_URL"]).delete(env["OPEN_STREAM"], *queues)


def own_environment(workdir: Path, kind: str) -> dict:
    """The production settings on a database and a stream of this run's own."""
    base = production_env(str(workdir / "static"))
    url = base["DATABASE_URL"].rsplit("/", 1)[0] + f"/bench_{kind}_{os.getpid()}"
    if urlparse(url).hostname != LOCAL:
        sys.exit("DATABASE_URL must be on 127.0.0.1")
    admin(url, f"CREATE DATABASE {url.rsplit('/', 1)[1]}")
    # The recorder's notification tasks (NOTIFY_IN_WORKER) wait in a queue of
    # the run's own, which no worker reads, deleted with the stream.
    return {**base, "DATABASE_URL": url, "OPEN_STREAM": f"bench:{kind}:{os.getpid()}",
            "NOTIFY_QUEUE": f"bench:notify:{kind}:{os.getpid()}",
            "OPENS_PER_RECIPIENT_PER_MINUTE": "1000000000"}  # fmt: skip


def drop_environment(env: dict, workdir: Path) -> None:
    _drop_stream(env)
    admin(env["DATABASE_URL"], f"DROP DATABASE IF EXISTS {env['DATABASE_URL'].rsplit('/', 1)[1]} WITH (FORCE)")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
