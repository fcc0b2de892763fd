"""DATABASE_URL to Django's DATABASES entry, libpq's multi-host form included.

`postgres://app@primary:5432,standby:5432/onepage?target_session_attrs=read-write`
names a primary and its standby: libpq tries them in order and keeps the
first that accepts writes, so after a switchover (the standby promoted, the
primary stopped) the next connection a process opens finds the new primary
without a restart (README: PostgreSQL standby). Django's backend hands HOST
and PORT to libpq as they are, comma-separated lists included.

django-environ parses such a URL almost right: it gives every host the one
port it finds when some hosts have none, and keeps IPv6 brackets libpq does
not read. The host list is therefore read again here, one port per host.
"""

from urllib.parse import unquote, urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

DEFAULT_PORT = "5432"
# With several hosts a connection attempt to one that does not answer (a
# machine that is gone, not one that refuses) would wait for TCP's own
# timeout, minutes, before libpq tries the next.
MULTI_HOST_CONNECT_TIMEOUT = 5


def database_config(url: str) -> dict:
    config = environ.Env.db_url_config(url)
    if config["ENGINE"] != "django.db.backends.postgresql" or "," not in (config.get("HOST") or ""):
        return config
    hosts, ports = _hosts_and_ports(url)
    config["HOST"], config["PORT"] = ",".join(hosts), ",".join(ports)
    options = config.setdefault("OPTIONS", {})
    # libpq's default, any, would settle on a standby that refuses writes.
    options.setdefault("target_session_attrs", "read-write")
    options.setdefault("connect_timeout", MULTI_HOST_CONNECT_TIMEOUT)
    return config


def _hosts_and_ports(url: str) -> tuple[list[str], list[str]]:
    netloc = urlsplit(url).netloc.rpartition("@")[2]
    hosts, ports = [], []
    for item in netloc.split(","):
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            port = rest.removeprefix(":")
        else:
            host, _, port = item.partition(":")
        if not host or (port and not port.isdigit()):
            raise ImproperlyConfigured(
                f"DATABASE_URL names the hosts {netloc!r}: each must be host or host:port, separated by commas."
            )
        hosts.append(unquote(host))
        ports.append(port or DEFAULT_PORT)
    return hosts, ports
