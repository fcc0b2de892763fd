"""manage.py refresh_open_ranges against a real HTTP server on 127.0.0.1:
a good file replaces the ranges (atomically), a bad one leaves them alone
with an error that says why."""

import http.server
import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tracking import classify
from tracking.classify import Signals
from tracking.models import Verdict

GOOD = "# test ranges\n203.0.113.0/24 scanner\n17.0.0.0/8 privacy_prefetch\n"


@pytest.fixture
def served():
    """A local HTTP server answering each path with what the test put there."""
    files: dict[str, tuple[int, bytes]] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            status, body = files.get(self.path, (404, b"not here"))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield files, base
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def ranges_file(settings, tmp_path):
    path = tmp_path / "data" / "open_ranges.txt"
    path.parent.mkdir()
    path.write_text("17.0.0.0/8 privacy_prefetch\n")
    settings.OPEN_RANGES_FILE = path
    classify.forget_ranges()
    yield path
    classify.forget_ranges()


def test_a_good_file_replaces_the_ranges(served, ranges_file, settings):
    files, base = served
    files["/ranges.txt"] = (200, GOOD.encode())
    settings.OPEN_RANGES_URL = f"{base}/ranges.txt"
    desktop = Signals(address="203.0.113.9", user_agent="Thunderbird/115")
    assert classify.signal_verdict(desktop) == Verdict.HUMAN

    out = StringIO()
    call_command("refresh_open_ranges", stdout=out)

    assert "2 address ranges written" in out.getvalue()
    assert ranges_file.read_text() == GOOD
    assert classify.signal_verdict(desktop) == Verdict.SCANNER
    assert [p.name for p in ranges_file.parent.iterdir()] == ["open_ranges.txt"]  # no temporary left


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (200, b"<html>Maintenance</html>", "is not a ranges file \\(line 1: expected 'CIDR KIND'"),
        (200, b"17.0.0.0/8 privacy_prefetch\n999.0.0.0/8 scanner\n", "line 2: '999.0.0.0/8' is not an address range"),
        (200, b"", "no address range"),
        (200, b"\xff\xfe\x00garbage", "is not UTF-8 text"),
        (500, b"oops", "answered 500"),
    ],
)
def test_bad_content_keeps_the_old_file(served, ranges_file, settings, status, body, message):
    files, base = served
    files["/ranges.txt"] = (status, body)
    with pytest.raises(CommandError, match=message):
        call_command("refresh_open_ranges", url=f"{base}/ranges.txt")
    assert ranges_file.read_text() == "17.0.0.0/8 privacy_prefetch\n"
    assert [p.name for p in ranges_file.parent.iterdir()] == ["open_ranges.txt"]


def test_no_url_or_no_server_is_a_clear_error(settings, ranges_file):
    settings.OPEN_RANGES_URL = ""
    with pytest.raises(CommandError, match="set OPEN_RANGES_URL"):
        call_command("refresh_open_ranges")
    with pytest.raises(CommandError, match="not an http"):
        call_command("refresh_open_ranges", url="file:///etc/passwd")
    with pytest.raises(CommandError, match="Could not fetch"):
        call_command("refresh_open_ranges", url="http://127.0.0.1:1/ranges.txt")
    assert ranges_file.read_text() == "17.0.0.0/8 privacy_prefetch\n"
