"""The outbound guard (emails.transport.guard): mailbox servers are reached only
at public addresses on mail ports, unless the operator allows a host; for
"Test connection" and for the send task alike."""

import ipaddress
import socket
import threading
from collections.abc import Iterator

import pytest
from django.urls import reverse

from conftest import free_port
from emails.models import Email, Mailbox
from emails.services import email_create
from emails.tasks import send_email
from emails.transport.guard import INVALID_HOST, PRIVATE_ADDRESS, RefusedDestination, checked_addresses, is_public
from emails.views.mailbox import CONNECTION_TESTS_PER_MINUTE, TOO_MANY_TESTS

pytestmark = pytest.mark.django_db

# Every way of writing "this machine" (and its neighbours) we know of: the
# resolver turns each into an address, and the address is what is judged.
LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "127.1",  # short form
    "127.0.1",
    "2130706433",  # decimal
    "0x7f000001",  # hex
    "0x7f.0.0.1",
    "0177.0.0.1",  # octal
    "017700000001",
    "::1",
    "[::1]",
    "::ffff:127.0.0.1",  # IPv6-mapped
    "::ffff:7f00:1",
    "0:0:0:0:0:ffff:7f00:0001",
    "localhost",  # a name resolving to 127.0.0.1
    "LocalHost",
]
OTHER_PRIVATE = [
    "0.0.0.0",
    "0",
    "10.0.0.5",
    "172.16.3.4",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "224.0.0.1",  # multicast
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "fe80::1",  # link-local
    "fc00::1",  # unique local
    "ff02::1",  # multicast
    "::",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2001:db8::1",  # documentation
]


def smtp_form(host: str, port: int, **overrides) -> dict:
    data = {
        "kind": "smtp",
        "smtp_host": host,
        "smtp_port": port,
        "security": "none",
        "username": "",
        "password": "",
        "from_name": "Rex Rep",
        "from_address": "rex@acme.example",
    }
    data.update(overrides)
    return data


def check_message(response) -> str:
    check = response.context["check"]
    assert check is not None, response.context["form"].errors
    return check.message


@pytest.fixture
def nothing_allowed(settings):
    settings.MAILBOX_ALLOWED_HOSTS = []


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS + OTHER_PRIVATE)
def test_test_connection_refuses_private_addresses_in_every_spelling(rep_client, smtp_server, nothing_allowed, host):
    response = rep_client.post(reverse("mailbox_test"), smtp_form(host, smtp_server.port))

    assert response.status_code == 200
    assert check_message(response) == PRIVATE_ADDRESS
    assert not response.context["check"].ok


@pytest.mark.parametrize("host", ["127.1", "2130706433", "0x7f000001", "0177.0.0.1", "::ffff:127.0.0.1", "localhost"])
def test_the_send_task_refuses_a_saved_mailbox_on_a_private_address(
    sender, smtp_server, nothing_allowed, django_capture_on_commit_callbacks, host
):
    Mailbox.objects.filter(user=sender).update(smtp_host=host)
    with django_capture_on_commit_callbacks(execute=False):
        email = email_create(
            organization=sender.membership.organization,
            sender=sender,
            subject="Hello",
            body_text="Hi",
            to=["ann@ex.org"],
        )

    send_email.apply(args=[email.pk])

    email.refresh_from_db()
    # Permanent: the address will not become public by itself.
    assert (email.status, email.error) == (Email.Status.FAILED, PRIVATE_ADDRESS)
    assert smtp_server.received == []


def test_an_allowed_host_name_is_reached_on_any_port(rep_client, smtp_server, settings):
    settings.MAILBOX_ALLOWED_HOSTS = ["localhost"]

    response = rep_client.post(reverse("mailbox_test"), smtp_form("localhost", smtp_server.port))

    assert response.context["check"].ok, check_message(response)
    assert check_message(response) == f"Connected to localhost:{smtp_server.port}. This mailbox can send."


def test_an_allowed_network_covers_every_spelling_of_its_addresses(rep_client, smtp_server, settings):
    settings.MAILBOX_ALLOWED_HOSTS = ["127.0.0.0/8"]

    response = rep_client.post(reverse("mailbox_test"), smtp_form("2130706433", smtp_server.port))

    assert response.context["check"].ok, check_message(response)


def test_an_allowed_saved_mailbox_sends(sender, smtp_server, settings, django_capture_on_commit_callbacks):
    settings.MAILBOX_ALLOWED_HOSTS = ["127.0.0.1"]
    with django_capture_on_commit_callbacks(execute=False):
        email = email_create(
            organization=sender.membership.organization, sender=sender, subject="Hi", body_text="Hi", to=["a@ex.org"]
        )

    send_email.apply(args=[email.pk])

    email.refresh_from_db()
    assert email.status == Email.Status.SENT
    assert len(smtp_server.received) == 1


def test_public_addresses_are_reached_on_mail_ports_only(nothing_allowed):
    # Literal addresses: resolving them asks no server, and nothing connects.
    for port in (25, 143, 465, 587, 993, 2525):
        assert checked_addresses("93.184.215.14", port) == [(socket.AF_INET, ("93.184.215.14", port))]
    for port in (22, 80, 5432, 6379):
        with pytest.raises(RefusedDestination, match=r"ports 25, 143, 465, 587, 993 and 2525 only"):
            checked_addresses("93.184.215.14", port)


def test_a_port_outside_the_mail_ports_is_explained_on_test_connection(rep_client, nothing_allowed):
    response = rep_client.post(reverse("mailbox_test"), smtp_form("93.184.215.14", 6379))

    assert "OnePage connects to mail servers on ports 25, 143, 465, 587, 993 and 2525 only" in check_message(response)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("::ffff:93.184.215.14", False),  # mapped addresses are never what a resolver hands a mail client
        ("127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("192.0.2.1", False),
        ("198.18.0.1", False),
    ],
)
def test_is_public(address, public):
    assert is_public(ipaddress.ip_address(address)) is public


@pytest.fixture
def banner_server() -> Iterator[int]:
    """A service that is not a mail server: it says who it is and waits."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", free_port()))
    sock.listen(5)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2 internal-bastion-7\r\n")
                conn.recv(1024)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    sock.close()


def test_a_foreign_services_banner_is_not_echoed(rep_client, banner_server):
    response = rep_client.post(reverse("mailbox_test"), smtp_form("127.0.0.1", banner_server))

    message = check_message(response)
    assert message == (
        f"The server at 127.0.0.1:{banner_server} did not answer like a mail server. Check the host name and the port."
    )
    assert "OpenSSH" not in response.content.decode()
    assert "bastion" not in response.content.decode()


@pytest.mark.parametrize("host", ["a" * 64 + ".example", "smtp..example.com", "a" * 254, "."])
def test_a_host_name_the_lookup_cannot_take_is_a_field_error(rep_client, rep_user, host):
    for url in (reverse("mailbox_test"), reverse("mailbox")):
        response = rep_client.post(url, smtp_form(host, 587))
        assert response.status_code == 200
        assert response.context["form"].errors["smtp_host"] == [INVALID_HOST]
    assert not Mailbox.objects.filter(user=rep_user).exists()


def test_test_connection_is_rate_limited_per_user(rep_client, nothing_allowed):
    # Refused at once (no network), but each still counts.
    for _ in range(CONNECTION_TESTS_PER_MINUTE):
        response = rep_client.post(reverse("mailbox_test"), smtp_form("10.0.0.1", 587))
        assert check_message(response) == PRIVATE_ADDRESS

    response = rep_client.post(reverse("mailbox_test"), smtp_form("10.0.0.1", 587))

    assert response.status_code == 429
    assert check_message(response) == TOO_MANY_TESTS
