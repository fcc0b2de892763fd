"""The fault suite's own services, as real processes on 127.0.0.1: a Redis
with AOF, a PostgreSQL cluster, the web server (runserver), the live process
(granian ASGI, whose lane answers the pixel in production), the recorder and
a Celery worker. Each can be killed, frozen, stopped and started again; every
process started here is stopped by `Services.close`."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.request import urlopen

import psycopg2
import redis

ROOT = Path(__file__).resolve().parents[2]
GRANIAN = Path(sys.executable).with_name("granian")


def _postgres_bin() -> Path:
    """The newest PostgreSQL server binaries installed (Debian's layout)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _postgres_bin()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, *, timeout: float, what: str, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except Exception:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {timeout}s")
        time.sleep(every)


def available() -> str | None:
    """Why the fault suite cannot run here, or None."""
    if not shutil.which("redis-server"):
        return "redis-server is not installed"
    if not (PG_BIN / "initdb").exists():
        return f"PostgreSQL binaries not found in {PG_BIN}"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "runuser is needed to run PostgreSQL as the postgres user"
    return None


class Redis:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.folder / "redis.log").open("a")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(self.folder)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        wait_for(lambda: client.ping() and client.info("persistence")["loading"] == 0, timeout=20, what="Redis")

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)

    def forget(self) -> None:
        """Delete its data, as a Redis without persistence loses it."""
        shutil.rmtree(self.folder / "appendonlydir", ignore_errors=True)
        (self.folder / "dump.rdb").unlink(missing_ok=True)

    def close(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(10)


class Postgres:
    """A throwaway cluster, run as the postgres user when we are root."""

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="onepage-faults-pg-"))
        self.data = self.folder / "data"
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._as_postgres(
            [str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        )
        self.started = False

    def _as_postgres(self, argv: list[str]) -> None:
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/onepage"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
        self._as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                           str(self.folder / "postgres.log"), "-w", "-t", "60", "start"])  # fmt: skip
        self.started = True

    def stop(self) -> None:
        self._as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop"])
        self.started = False

    def create_database(self) -> None:
        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("CREATE DATABASE onepage")
        conn.close()

    def connect(self):
        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="onepage")
        conn.autocommit = True
        return conn

    def close(self) -> None:
        try:
            if self.started:
                self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


class Process:
    """A project process (manage.py or celery) with its log in a file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], folder: Path) -> None:
        self.name = name
        self.log_path = folder / f"{name}.log"
        self.process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=self.log_path.open("a"), stderr=subprocess.STDOUT, start_new_session=True
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def stop(self, *, timeout: float = 15) -> int | None:
        """SIGTERM, then SIGKILL if it does not stop; the whole process group."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


class Services:
    """One fault suite's world: its Redis, its PostgreSQL, its processes."""

    def __init__(self, folder: Path, *, secret_key: str) -> None:
        self.folder = folder
        self.secret_key = secret_key
        self.processes: list[Process] = []
        self.postgres = Postgres()
        self.redis = Redis(folder / "redis")
        self.web_port = free_port()
        self.live_port = free_port()
        self.spool = folder / "spool"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "PYTEST"))}
        env.update(
            DJANGO_SETTINGS_MODULE="onepage.settings",
            DATABASE_URL=self.postgres.url,
            REDIS_URL=self.redis.url,
            SECRET_KEY=self.secret_key,
            DEBUG="false",
            ALLOWED_HOSTS="127.0.0.1",
            # Production settings want a public https SITE_URL; the suite calls
            # the pixel on the web process directly, over plain HTTP.
            SITE_URL="https://faults.onepage.test",
            SECURE_SSL_REDIRECT="false",
            # The SMTP sink listens on 127.0.0.1, and every hit must count.
            MAILBOX_ALLOWED_HOSTS="127.0.0.1",
            OPENS_PER_RECIPIENT_PER_MINUTE="1000000",
            OPEN_SPOOL_DIR=str(self.spool),
            OPEN_RECLAIM_IDLE_MS="2000",
            CELERY_TASK_ALWAYS_EAGER="false",
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def start(self) -> None:
        self.postgres.start()
        self.postgres.create_database()
        self.redis.start()
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=self.env(),
                       check=True, timeout=300)  # fmt: skip

    def seed(self, emails: int, per_email: int) -> list[int]:
        import json

        out = subprocess.run([sys.executable, "tests/faults/seed.py", str(emails), str(per_email)], cwd=ROOT,
                             env=self.env(), timeout=120, capture_output=True, text=True)  # fmt: skip
        if out.returncode:
            raise RuntimeError(f"seeding failed: {out.stderr[-3000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    def seed_email(self, smtp_port: int, recipients: int) -> int:
        out = subprocess.run([sys.executable, "tests/faults/seed_email.py", str(smtp_port), str(recipients)],
                             cwd=ROOT, env=self.env(), timeout=120, capture_output=True, text=True)  # fmt: skip
        if out.returncode:
            raise RuntimeError(f"seeding failed: {out.stderr[-3000:]}")
        return int(out.stdout.strip().splitlines()[-1])

    def spawn(self, name: str, argv: list[str], **env: str) -> Process:
        process = Process(name, argv, self.env(**env), self.folder)
        self.processes.append(process)
        return process

    def web(self, **env: str) -> Process:
        # runserver starts a thread per request and closes no connection when
        # the thread ends: with persistent connections (CONN_MAX_AGE) each
        # request would leave one open until PostgreSQL refuses more.
        env.setdefault("CONN_MAX_AGE", "0")
        process = self.spawn("web", [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.web_port}",
                                     "--noreload"], **env)  # fmt: skip
        wait_for(lambda: urlopen(f"http://127.0.0.1:{self.web_port}/o/x.gif", timeout=2).status == 200,
                 timeout=30, what="the web server")  # fmt: skip
        return process

    def live(self, **env: str) -> Process:
        """The live process as deploy/systemd/onepage-live.service runs it:
        granian's ASGI interface, two workers, no persistent database
        connection (CONN_MAX_AGE=0, as there). nginx sends it /o/ in
        production; its lane answers the pixel in an event loop, the Redis
        appends of concurrent hits sent in one round trip."""
        env.setdefault("CONN_MAX_AGE", "0")
        process = self.spawn("live", [str(GRANIAN), "--interface", "asgi", "--workers", "2", "--host", "127.0.0.1",
                                      "--port", str(self.live_port), "--log-level", "warning",
                                      "onepage.asgi:application"], **env)  # fmt: skip
        wait_for(lambda: urlopen(f"http://127.0.0.1:{self.live_port}/o/x.gif", timeout=2).status == 200,
                 timeout=30, what="the live process")  # fmt: skip
        return process

    def recorder(self) -> Process:
        return self.spawn("recorder", [sys.executable, "manage.py", "record_opens", "--block-ms", "500"])

    def worker(self, *, beat: bool = False, **env: str) -> Process:
        argv = [sys.executable, "-m", "celery", "-A", "onepage", "worker", "-l", "info", "--concurrency", "1",
                "-n", f"faults{len(self.processes)}@%h"]  # fmt: skip
        if beat:
            argv += ["-B", "-s", str(self.folder / "beat" / "celerybeat-schedule")]
        return self.spawn("worker", argv, **env)

    def close(self) -> None:
        for process in reversed(self.processes):
            try:
                process.stop(timeout=10)
            except Exception:
                process.kill()
        try:
            self.redis.close()
        finally:
            self.postgres.close()


# --- PostgreSQL primary and streaming standby (test_switchover_faults) -------
# Two clusters on their own ports: the suite's Postgres as the primary, a
# copy made with pg_basebackup -R streaming from it. The app's processes get
# both in one multi-host DATABASE_URL (target_session_attrs=read-write), as
# README: PostgreSQL standby says to run it.


class Standby(Postgres):
    """A cluster made by copying a running primary, not by initdb."""

    def __init__(self, primary: Postgres, *, port: int) -> None:
        self.port = port
        self.folder = Path(tempfile.mkdtemp(prefix="onepage-faults-pg-standby-"))
        self.data = self.folder / "data"
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self.started = False
        clone(self, primary)


def clone(node: Postgres, primary: Postgres) -> None:
    """Make `node` (stopped) a streaming standby of `primary` (running)."""
    shutil.rmtree(node.data, ignore_errors=True)
    node._as_postgres([str(PG_BIN / "pg_basebackup"), "-D", str(node.data), "-h", "127.0.0.1",
                       "-p", str(primary.port), "-U", "postgres", "-R", "-X", "stream", "-c", "fast"])  # fmt: skip


class StandbyPair:
    """What Services uses as its `postgres`: a primary and its standby, with
    a planned switchover (stop the primary, promote the standby)."""

    def __init__(self, primary: Postgres) -> None:
        self.primary = primary
        self.standby: Postgres | None = None
        # Both ports from the start: the processes keep the URL they started with.
        self.ports = [primary.port, free_port()]
        # Replication explicitly, whatever this PostgreSQL's defaults.
        with (primary.data / "postgresql.conf").open("a") as conf:
            conf.write("\nwal_level = replica\nmax_wal_senders = 5\nhot_standby = on\n")

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.ports)
        return f"postgres://postgres@{hosts}/onepage?target_session_attrs=read-write"

    def start(self) -> None:
        self.primary.start()

    def create_database(self) -> None:
        self.primary.create_database()
        self.standby = Standby(self.primary, port=self.ports[1])
        self.standby.start()
        self.wait_streaming()

    def wait_streaming(self) -> None:
        def streaming():
            conn = self.primary.connect()
            try:
                with conn.cursor() as cursor:
                    cursor.execute("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
                    return cursor.fetchone()[0] == 1
            finally:
                conn.close()

        wait_for(streaming, timeout=30, what="the standby streaming")

    def switchover(self) -> float:
        """Stop the primary (fast: it sends the standby all its WAL first),
        promote the standby. Returns the seconds with no primary."""
        started = time.monotonic()
        old, new = self.primary, self.standby
        old.stop()
        old._as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(new.data), "-w", "-t", "60", "promote"])
        self.primary, self.standby = new, old
        return time.monotonic() - started

    def rebuild_standby(self) -> None:
        """The stopped old primary copied afresh from the new one, streaming."""
        clone(self.standby, self.primary)
        self.standby.start()
        self.wait_streaming()

    def connect(self):
        ports = ",".join(str(p) for p in self.ports)
        conn = psycopg2.connect(host="127.0.0.1,127.0.0.1", port=ports, user="postgres",
                                dbname="onepage", target_session_attrs="read-write", connect_timeout=5)  # fmt: skip
        conn.autocommit = True
        return conn

    def close(self) -> None:
        try:
            if self.standby:
                self.standby.close()
        finally:
            self.primary.close()


# --- end PostgreSQL primary and streaming standby -----------------------------
