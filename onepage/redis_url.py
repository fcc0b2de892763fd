"""REDIS_URL to Redis clients, Celery's broker and Django's cache, Redis
under Sentinel included.

`redis+sentinel://[[user]:password@]host1:26379,host2:26379,host3:26379/<master>/<db>`
names the Sentinels that watch a master (by its name in their `sentinel
monitor` line) and the database number (0 when left out); a port left out is
Sentinel's 26379; the user and password, if any, are the data nodes'
(`requirepass` or ACL), not the Sentinels'. Every client is redis-py's own
`Sentinel(...).master_for(...)`: each new connection asks the Sentinels where
the master is, and a connection to a master that was demoted is dropped
(READONLY), so after a failover the next command reaches the promoted
replica, with no restart and no failover logic here (README: Redis under
Sentinel). `redis://`, `rediss://` and `unix://` name one Redis, as before.
"""

import functools
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

import redis
import redis.sentinel
from django.core.exceptions import ImproperlyConfigured

SENTINEL_SCHEME = "redis+sentinel"
SENTINEL_PORT = 26379
FORM = f"{SENTINEL_SCHEME}://[[user]:password@]host:port,host:port,.../<master name>/<db>"


@dataclass(frozen=True)
class SentinelAddress:
    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int
    username: str | None = None
    password: str | None = None


@functools.cache
def sentinel_address(url: str) -> SentinelAddress | None:
    """What a `redis+sentinel://` URL names, or None for one Redis. Raises
    ImproperlyConfigured, saying what is wrong, for a malformed one."""
    if urlsplit(url).scheme != SENTINEL_SCHEME:
        return None
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise ImproperlyConfigured(f"REDIS_URL takes no ?options or #fragment in the Sentinel form: {FORM}.")
    userinfo, _, hosts = parts.netloc.rpartition("@")
    sentinels = tuple(_host_and_port(item) for item in hosts.split(","))
    names = parts.path.removeprefix("/").split("/")
    if not names[0] or len(names) > 2:
        raise ImproperlyConfigured(f"REDIS_URL must name the master Sentinel watches, then the database: {FORM}.")
    db = names[1] if len(names) == 2 else "0"
    if not db.isdigit():
        raise ImproperlyConfigured(f"REDIS_URL's database {db!r} is not a number: {FORM}.")
    username, _, password = userinfo.partition(":")
    return SentinelAddress(
        sentinels=sentinels,
        master=unquote(names[0]),
        db=int(db),
        username=unquote(username) or None,
        password=unquote(password) or None,
    )


def _host_and_port(item: str) -> tuple[str, int]:
    if item.startswith("["):
        host, _, rest = item[1:].partition("]")
        port = rest.removeprefix(":")
    else:
        host, _, port = item.partition(":")
    if not host or (port and not port.isdigit()):
        raise ImproperlyConfigured(
            f"REDIS_URL names the Sentinel {item!r}: each must be host or host:port, separated by commas ({FORM})."
        )
    return unquote(host), int(port or SENTINEL_PORT)


def client(url: str, **options) -> redis.Redis:
    """A client of the Redis that `url` names: the master, under Sentinel.
    `options` are redis-py's (timeouts, decode_responses...); the socket
    timeouts apply to the Sentinels' connections too."""
    address = sentinel_address(url)
    if address is None:
        return redis.Redis.from_url(url, **options)
    return _sentinel(address, redis.sentinel.Sentinel, options).master_for(
        address.master, db=address.db, username=address.username, password=address.password, **options
    )


def async_client(url: str, **options):
    """`client`'s asyncio twin (the bell's live stream): a redis.asyncio.Redis."""
    import redis.asyncio.sentinel

    address = sentinel_address(url)
    if address is None:
        return redis.asyncio.Redis.from_url(url, **options)
    return _sentinel(address, redis.asyncio.sentinel.Sentinel, options).master_for(
        address.master, db=address.db, username=address.username, password=address.password, **options
    )


def _sentinel(address: SentinelAddress, kind, options: dict):
    timeouts = {name: value for name, value in options.items() if name.startswith("socket_")}
    return kind(list(address.sentinels), sentinel_kwargs=timeouts)


def celery_broker(url: str) -> tuple[str, dict]:
    """Celery's broker URL and the transport options it needs beside
    CELERY_BROKER_TRANSPORT_OPTIONS: kombu's own Sentinel transport
    (`sentinel://a;sentinel://b`, master_name) for the Sentinel form."""
    address = sentinel_address(url)
    if address is None:
        return url, {}
    auth = f"{quote(address.username or '')}:{quote(address.password or '')}@" if address.password else ""
    hosts = ";".join(f"sentinel://{auth}{_netloc(host, port)}/{address.db}" for host, port in address.sentinels)
    return hosts, {"master_name": address.master}


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class CachePool:
    """Django's RedisCache `pool_class` (OPTIONS) for any REDIS_URL: the
    connection pool of `client`'s master client."""

    @classmethod
    def from_url(cls, url: str, **options) -> redis.ConnectionPool:
        return client(url, **options).connection_pool
