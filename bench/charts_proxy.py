"""bench/charts_compare.py's front: one origin on 127.0.0.1 that serves the
pages it was given (the server's HTML as it came, and the same HTML drawn
by uPlot) and the uPlot files from memory, and hands every other request to
the app's server, so that both ways load the app's CSS and JS alike, from
one origin (the CSP's 'self'), with the browser's cache working. Bodies go
uncompressed (page weights are computed gzipped apart); every body sent is
kept by path for that."""

import http.client
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from servers import LOCAL

HOP = {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length"}


@dataclass
class Served:
    body: bytes
    headers: dict[str, str]


@dataclass
class Front:
    upstream: int
    pages: dict[str, Served] = field(default_factory=dict)
    bodies: dict[str, bytes] = field(default_factory=dict)
    server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def start(self) -> None:
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = self.path
                if path in front.pages:
                    served = front.pages[path]
                    status, headers, body = 200, dict(served.headers), served.body
                else:
                    status, headers, body = front.forward(path, self.headers.get("Cookie", ""))
                front.bodies[path.split("?")[0]] = body
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the browser moved on (the bell's poll)
                    self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        self.server = _QuietServer((LOCAL, 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, path: str, cookie: str) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(LOCAL, self.upstream, timeout=30)
        try:
            headers = {"Host": f"{LOCAL}:{self.port}", "Cookie": cookie, "Accept-Encoding": "identity"}
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            kept = {}
            for name, value in response.getheaders():
                kept[name] = f"{kept[name]}, {value}" if name in kept and name.lower() != "set-cookie" else value
            return response.status, kept, body
        finally:
            conn.close()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


class _QuietServer(ThreadingHTTPServer):
    """The browser closes kept-alive connections while the handler waits
    for their next request: nothing went wrong, so no traceback is printed."""

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)
