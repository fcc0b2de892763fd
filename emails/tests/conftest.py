import socket
import threading

import pytest

from conftest import IN_CI
from emails.tests import dovecot


@pytest.fixture
def imap_server():
    """A real IMAP server (Dovecot) with the user rex, password rex-imap-pass,
    and a Sent folder marked \\Sent. Skipped only outside CI when Dovecot is
    not installed (scripts/test.sh installs it)."""
    if not dovecot.available():
        if IN_CI:
            pytest.fail("Dovecot is required in CI (scripts/test.sh installs dovecot-imapd)")
        pytest.skip("Dovecot is not installed (apt-get install dovecot-imapd)")
    server = dovecot.start()
    try:
        yield server
    finally:
        server.stop()


class SilentServer:
    """A server on 127.0.0.1 that accepts connections and never answers: an
    IMAP server blocked by a firewall that drops instead of refusing, or one
    hung. `accepted` is set once a client connected, `client_gave_up` once a
    client closed its side (it stopped waiting); release() closes them all."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.host, self.port = "127.0.0.1", self.sock.getsockname()[1]
        self.accepted, self.client_gave_up = threading.Event(), threading.Event()
        self.connections: list[socket.socket] = []
        self._stopped = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)
            self.accepted.set()
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        try:
            while conn.recv(1024):
                pass  # read what the client says, answer nothing
        except OSError:
            return
        if not self._stopped:
            self.client_gave_up.set()

    def release(self) -> None:
        self._stopped = True
        for conn in self.connections:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent_imap_server():
    server = SilentServer()
    yield server
    server.release()
