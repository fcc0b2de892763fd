"""tracking.classify: the verdict of each kind of fetch, from real user
agents and addresses in the published ranges (their sources are named in
tracking/classify.py and tracking/data/open_ranges.txt)."""

from datetime import UTC, datetime, timedelta

import pytest

from tracking import classify
from tracking.classify import Signals, signal_verdict, verdict
from tracking.models import Verdict

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

GMAIL_PROXY = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
YAHOO_PROXY = "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html"
APPLE_MPP = "Mozilla/5.0"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
OUTLOOK = "Mozilla/4.0 (compatible; ms-office; MSOffice 16)"
THUNDERBIRD = "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.6.0"
APPLE_MAIL = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"

# (what it is, address, user agent, prefetch header, verdict): the shipped ranges file.
SIGNALS = [
    ("Gmail image proxy", "66.249.84.12", GMAIL_PROXY, False, Verdict.PROXY),
    ("Yahoo Mail proxy", "98.137.27.103", YAHOO_PROXY, False, Verdict.PROXY),
    ("Apple Mail Privacy Protection", "17.58.63.74", APPLE_MPP, False, Verdict.PRIVACY_PREFETCH),
    ("Apple MPP, Apple Mail's own agent", "17.253.1.2", APPLE_MAIL, False, Verdict.PRIVACY_PREFETCH),
    ("Exchange Online Protection", "40.107.22.51", CHROME, False, Verdict.SCANNER),
    ("Exchange Online Protection, IPv6", "2a01:111:f400:7e1b::11", CHROME, False, Verdict.SCANNER),
    ("Exchange Online Protection 52.100/14", "52.101.4.9", CHROME, False, Verdict.SCANNER),
    ("Barracuda Email Security Service", "209.222.82.10", CHROME, False, Verdict.SCANNER),
    ("Outlook desktop", "203.0.113.7", OUTLOOK, False, Verdict.HUMAN),
    ("Thunderbird", "2001:db8::7", THUNDERBIRD, False, Verdict.HUMAN),
    ("Apple Mail at home (MPP off)", "198.51.100.23", APPLE_MAIL, False, Verdict.HUMAN),
    ("Microsoft's other ranges are people", "40.91.1.1", CHROME, False, Verdict.HUMAN),
    ("no user agent", "203.0.113.7", "", False, Verdict.SCANNER),
    ("blank user agent", "203.0.113.7", "   ", False, Verdict.SCANNER),
    ("browser prefetch header", "203.0.113.7", CHROME, True, Verdict.SCANNER),
    ("no address", "", THUNDERBIRD, False, Verdict.HUMAN),
    ("unreadable address", "not-an-address", THUNDERBIRD, False, Verdict.HUMAN),
]


@pytest.mark.parametrize(("what", "address", "agent", "prefetch", "expected"), SIGNALS, ids=[s[0] for s in SIGNALS])
def test_signal_verdicts(what, address, agent, prefetch, expected):
    assert signal_verdict(Signals(address=address, user_agent=agent, prefetch=prefetch)) == expected


@pytest.mark.parametrize(
    ("meta", "prefetch"),
    [
        ({"HTTP_SEC_PURPOSE": "prefetch"}, True),
        ({"HTTP_SEC_PURPOSE": "prefetch;prerender"}, True),
        ({"HTTP_PURPOSE": "prefetch"}, True),
        ({"HTTP_X_PURPOSE": "preview"}, True),
        ({"HTTP_ACCEPT": "image/*"}, False),
    ],
)
def test_prefetch_headers(meta, prefetch):
    assert classify.prefetch_header(meta) is prefetch


DELIVERED = T0
# (what, pre-verdict, member cookie's organization, opened, last counted open, verdict); the email's organization is 7.
TIMING = [
    ("a person, an hour after delivery", Verdict.HUMAN, None, T0 + timedelta(hours=1), None, Verdict.HUMAN),
    ("a proxy, an hour after", Verdict.PROXY, None, T0 + timedelta(hours=1), None, Verdict.PROXY),
    ("0.01 s after delivery", Verdict.HUMAN, None, T0 + timedelta(seconds=0.01), None, Verdict.EARLY),
    ("1.9 s after delivery", Verdict.HUMAN, None, T0 + timedelta(seconds=1.9), None, Verdict.EARLY),
    ("2 s after delivery", Verdict.HUMAN, None, T0 + timedelta(seconds=2), None, Verdict.HUMAN),
    ("while the server held DATA", Verdict.HUMAN, None, T0 - timedelta(seconds=1), None, Verdict.EARLY),
    ("a proxy on delivery", Verdict.PROXY, None, T0 + timedelta(seconds=0.5), None, Verdict.EARLY),
    ("3 s after a counted open", Verdict.HUMAN, None, T0 + timedelta(hours=1, seconds=3), T0 + timedelta(hours=1),
     Verdict.REPEAT),
    ("a minute after a counted open", Verdict.HUMAN, None, T0 + timedelta(hours=1, minutes=1),
     T0 + timedelta(hours=1), Verdict.HUMAN),
    ("the team's own browser", Verdict.HUMAN, 7, T0 + timedelta(hours=1), None, Verdict.SELF),
    ("the team's browser on delivery", Verdict.HUMAN, 7, T0, None, Verdict.SELF),
    ("another organization's member", Verdict.HUMAN, 8, T0 + timedelta(hours=1), None, Verdict.HUMAN),
    ("a scanner stays a scanner", Verdict.SCANNER, None, T0 + timedelta(hours=1), None, Verdict.SCANNER),
    ("Apple's prefetch on delivery", Verdict.PRIVACY_PREFETCH, None, T0, None, Verdict.PRIVACY_PREFETCH),
]  # fmt: skip


@pytest.mark.parametrize(("what", "pre", "member", "opened", "last", "expected"), TIMING, ids=[t[0] for t in TIMING])
def test_verdicts_with_timing(what, pre, member, opened, last, expected):
    got = verdict(
        pre_verdict=pre,
        member_organization=member,
        organization_id=7,
        opened_at=opened,
        delivered_at=DELIVERED,
        last_counted_at=last,
    )
    assert got == expected


def test_the_windows_are_the_documented_ones():
    # The justification is in tracking/classify.py's docstring and the README.
    assert classify.EARLY_SECONDS == 2 and classify.REPEAT_SECONDS == 10
    assert "EARLY_SECONDS" in classify.__doc__ and "REPEAT_SECONDS" in classify.__doc__


def test_the_shipped_ranges_name_their_sources(settings):
    text = settings.OPEN_RANGES_FILE.read_text()
    for source in ("support.apple.com", "mask-api.icloud.com", "learn.microsoft.com", "campus.barracuda.com"):
        assert source in text
    ranges = classify.parse_ranges(text)
    assert ranges.kind_of("17.0.0.1") == Verdict.PRIVACY_PREFETCH


def test_the_narrowest_range_decides():
    ranges = classify.parse_ranges("10.0.0.0/8 scanner\n10.1.0.0/16 privacy_prefetch\n")
    assert ranges.kind_of("10.1.2.3") == Verdict.PRIVACY_PREFETCH
    assert ranges.kind_of("10.2.0.1") == Verdict.SCANNER
    assert ranges.kind_of("11.0.0.1") is None


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("2a01:111:f400::25", Verdict.SCANNER),
        ("2a01:111:f400::25%eth0", Verdict.SCANNER),  # a zone: read by ipaddress
        ("2a01:112::1", None),
        ("::ffff:10.1.2.3", None),  # an IPv4-mapped IPv6 address is IPv6
        ("10.1.2.3 ", None),
        ("010.1.2.3", None),  # leading zeros: refused, as ipaddress does
        ("10.1.2", None),
        ("0x0a.1.2.3", None),
        ("not an address", None),
        ("", None),
    ],
)
def test_addresses_are_read_strictly_in_both_versions(address, kind):
    ranges = classify.parse_ranges("10.0.0.0/8 scanner\n2a01:111:f400::/48 scanner\n")
    assert ranges.kind_of(address) == kind


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no address range"),
        ("# only a comment\n", "no address range"),
        ("17.0.0.0/8\n", "line 1: expected 'CIDR KIND'"),
        ("17.0.0.0/8 privacy_prefetch\n300.1.0.0/16 scanner\n", "line 2: '300.1.0.0/16' is not an address range"),
        ("17.0.0.0/8 human\n", "line 1: unknown kind 'human'"),
        ("<html><body>Not found</body></html>", "line 1: unknown kind"),
    ],
)
def test_a_bad_ranges_file_says_what_is_wrong(text, message):
    with pytest.raises(classify.RangesError, match=message):
        classify.parse_ranges(text)
