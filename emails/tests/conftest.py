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
