"""onepage.clientaddress: the client behind our own proxies, and never an
X-Forwarded-For from anyone else; the member cookie (onepage.membercookie)."""

import pytest
from django.test import RequestFactory

from onepage import membercookie
from onepage.clientaddress import client_address


def request(remote: str, forwarded: str | None = None):
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **headers)


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "client"),
    [
        ([], "203.0.113.7", None, "203.0.113.7"),
        # No trusted proxy: a client's own X-Forwarded-For is ignored.
        ([], "203.0.113.7", "17.0.0.1", "203.0.113.7"),
        # From an untrusted peer, even with proxies configured.
        (["10.0.0.0/8"], "203.0.113.7", "17.0.0.1", "203.0.113.7"),
        # Our nginx on 127.0.0.1 appended the client.
        (["127.0.0.1/32"], "127.0.0.1", "198.51.100.4", "198.51.100.4"),
        # The client forged a first hop: the rightmost untrusted one is the client.
        (["127.0.0.1/32"], "127.0.0.1", "17.0.0.1, 198.51.100.4", "198.51.100.4"),
        # Two proxies of ours (a load balancer, then nginx).
        (["127.0.0.1/32", "10.0.0.0/8"], "127.0.0.1", "6.6.6.6, 198.51.100.4, 10.1.2.3", "198.51.100.4"),
        (["::1/128"], "::1", "2001:db8::5", "2001:db8::5"),
        # A hop that is no address: stop at the last one we trust.
        (["127.0.0.1/32"], "127.0.0.1", "198.51.100.4, garbage", "127.0.0.1"),
        (["127.0.0.1/32"], "127.0.0.1", None, "127.0.0.1"),
        ([], "", None, ""),
    ],
)
def test_client_address(settings, trusted, remote, forwarded, client):
    settings.TRUSTED_PROXIES = trusted
    assert client_address(request(remote, forwarded)) == client


def test_axes_counts_by_the_client_behind_the_proxy(settings):
    from axes.helpers import get_client_ip_address

    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    assert get_client_ip_address(request("127.0.0.1", "198.51.100.4")) == "198.51.100.4"


def test_member_cookie_is_signed():
    value = membercookie.make_value(user_id=3, organization_id=9)
    assert membercookie.read_value(value) == (3, 9)
    assert membercookie.read_value(value[:-2] + "xx") is None
    assert membercookie.read_value("[3, 9]") is None
    assert membercookie.read_value("") is None
