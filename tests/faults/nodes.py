"""Several web nodes for the fault suite: each a granian process as
deploy/systemd/onepage-web.service runs it, with its own recorder and its own
spool directory (as a separate machine would have), behind an nginx on a free
loopback port whose upstream holds them all. They share the suite's one Redis
and one PostgreSQL. Kept apart from processes.py, whose Services they use:
every process here is spawned through it and stopped by `Services.close`."""

import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.request import urlopen

from .processes import GRANIAN, Process, Services, free_port, wait_for

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
HEALTHZ_TOKEN = "faults-healthz-" + "t" * 32


# The pixel's server per interface (its process's name, its own options and
# environment): the web process (WSGI, 2 workers of 4 threads, as
# deploy/env.example), or the live process, where nginx sends /o/ in
# production (ASGI, 2 workers, no persistent database connection, as
# deploy/systemd/onepage-live.service).
SERVERS = {
    "wsgi": ("web", ["--interface", "wsgi", "--blocking-threads", "4", "onepage.wsgi:application"], {}),
    "asgi": ("live", ["--interface", "asgi", "onepage.asgi:application"], {"CONN_MAX_AGE": "0"}),
}


class Node:
    """One web node: granian (`interface`: SERVERS) and its recorder, both on
    the node's spool. `web` is the process that answers the pixel."""

    def __init__(self, services: Services, name: str, *, interface: str = "wsgi") -> None:
        self.name, self.interface = name, interface
        self.port = free_port()
        self.spool = services.folder / f"spool-{name}"
        # nginx, on 127.0.0.1, is the nodes' trusted proxy: its request ids key the hits.
        env = {"OPEN_SPOOL_DIR": str(self.spool), "HEALTHZ_TOKEN": HEALTHZ_TOKEN, "TRUSTED_PROXIES": "127.0.0.1/32"}
        kind, options, server_env = SERVERS[interface]
        self.web: Process = services.spawn(f"{kind}-{name}", [
            str(GRANIAN), "--host", "127.0.0.1", "--port", str(self.port), "--workers", "2",
            "--respawn-failed-workers", "--log-level", "warning", *options,
        ], **env, **server_env)  # fmt: skip
        self.recorder: Process = services.spawn(
            f"recorder-{name}", [sys.executable, "manage.py", "record_opens", "--block-ms", "500"], **env
        )
        wait_for(lambda: urlopen(f"{self.url}/o/x.gif", timeout=2).status == 200, timeout=30, what=f"node {name}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spooled_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.spool.glob("opens*")) if self.spool.exists() else 0

    def kill(self) -> None:
        """The machine gone: its web server and its recorder SIGKILLed at once."""
        self.web.kill()
        self.recorder.kill()


def nginx_config(folder: Path, *, port: int, servers: list[str]) -> Path:
    """deploy/nginx.conf.example's pixel and /healthz locations and its
    request ids over plain HTTP (TLS is not what is tested), with an upstream
    of every node and nginx's defaults for a failed node (max_fails=1,
    fail_timeout=10s, a GET retried on the next node on a connection error).
    The pixel keeps no access log line of its address, as in production; this
    log holds only which node answered. `servers`: the upstream's lines
    ("127.0.0.1:8000", "127.0.0.1:8001 backup")."""
    folder.mkdir(parents=True, exist_ok=True)
    upstream = "".join(f"        server {server};\n" for server in servers)
    temp_paths = "".join(f"    {kind}_temp_path {folder / kind};\n" for kind in ("client_body", "proxy", "fastcgi",
                                                                              "uwsgi", "scgi"))  # fmt: skip
    config = folder / "nginx.conf"
    config.write_text(
        f"pid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'};\n"
        "daemon off;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"{temp_paths}"
        "    log_format nodes '$upstream_addr $status';\n"
        f"    access_log {folder / 'nodes.log'} nodes;\n"
        f"    upstream onepage {{\n{upstream}    }}\n"
        "    server {\n"
        f"        listen 127.0.0.1:{port};\n"
        "        proxy_set_header Host $host;\n"
        "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
        "        proxy_set_header X-Request-ID $request_id;\n"
        '        proxy_set_header X-Request-Start "t=${msec}";\n'
        "        location /o/ { proxy_pass http://onepage; }\n"
        "        location = /healthz { proxy_pass http://onepage; }\n"
        "    }\n"
        "}\n"
    )
    return config


class Balancer:
    """nginx in front of `nodes` (or of the upstream lines `servers`), in a
    throwaway prefix (never /etc/nginx)."""

    def __init__(
        self, services: Services, nodes: list[Node], *, servers: tuple[str, ...] = (), name: str = "nginx"
    ) -> None:
        self.port = free_port()
        self.folder = services.folder / name
        servers = list(servers) or [f"127.0.0.1:{node.port}" for node in nodes]
        config = nginx_config(self.folder, port=self.port, servers=servers)
        checked = subprocess.run([NGINX, "-p", str(self.folder), "-t", "-c", str(config)], capture_output=True,
                                 text=True, timeout=30)  # fmt: skip
        if checked.returncode:
            raise RuntimeError(f"nginx -t: {checked.stderr}")
        self.process = services.spawn(name, [NGINX, "-p", str(self.folder), "-c", str(config)])
        wait_for(lambda: urlopen(f"{self.url}/o/x.gif", timeout=2).status == 200, timeout=15, what="nginx")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answered_by(self) -> list[str]:
        """Per request, the node(s) nginx tried: '127.0.0.1:P' or 'A, B' after a retry."""
        return [line.rsplit(" ", 1)[0] for line in (self.folder / "nodes.log").read_text().splitlines()]

    def upstream_errors(self) -> Counter:
        """Why nginx gave up on a node, from its error log: refused (nothing
        was sent: safe to retry) or cut off mid-request (the node may have
        recorded the hit before it died)."""
        text = (self.folder / "error.log").read_text() if (self.folder / "error.log").exists() else ""
        kinds = {"refused": "Connection refused", "reset": "reset by peer", "closed": "prematurely closed"}
        return Counter({kind: text.count(marker) for kind, marker in kinds.items()})


class RecordThenDie:
    """A node that dies after recording a hit and before answering it: each
    request goes to `node`, which records the hit and answers; the answer is
    dropped and the connection reset, as when a node is killed between its
    stream append and its write. nginx then retries the request on the next
    node. Runs in the test's process; `close` stops it."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.recorded = 0
        self.answers: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        with client:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = client.recv(65536)
                if not chunk:
                    return
                request += chunk
            # nginx asks its upstreams in HTTP/1.0: the node closes after its answer.
            with self._connect() as upstream:
                upstream.sendall(request)
                answer = b""
                while chunk := upstream.recv(65536):
                    answer += chunk
            self.answers.append(answer.split(b"\r\n", 1)[0].decode(errors="replace"))
            if answer.split(b" ", 2)[1:2] == [b"200"]:
                self.recorded += 1
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close: reset

    def _connect(self) -> socket.socket:
        """A connection to the node, tried again for up to 2 s when refused.
        Once in some 7 runs of this module, on 5 December 2026, one of the
        20 connections was refused by a node that had answered before (the
        cause not found: granian's workers share their main process's
        listening socket); nginx retried that hit on the other node, which
        recorded it once, but the test then counted 19 answers of 20."""
        for _ in range(20):
            try:
                return socket.create_connection(("127.0.0.1", self.node.port), timeout=10)
            except ConnectionRefusedError:
                time.sleep(0.1)
        return socket.create_connection(("127.0.0.1", self.node.port), timeout=10)

    def close(self) -> None:
        self.listener.close()
