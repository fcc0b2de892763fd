"""REDIS_URL in the Sentinel form (README: Redis under Sentinel): the master
found through the Sentinels by every client (the pixel's, the recorder's,
Django's cache, Celery's broker), and found again after a failover."""

import asyncio
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from kombu import Connection

from onepage.redis_url import SentinelAddress, celery_broker, client, sentinel_address
from tests.faults import sentinel

THREE = "redis+sentinel://10.0.0.1:26379,10.0.0.2:26380,10.0.0.3/onepage/5"


def test_the_sentinel_form_names_the_sentinels_the_master_and_the_database():
    assert sentinel_address(THREE) == SentinelAddress(
        sentinels=(("10.0.0.1", 26379), ("10.0.0.2", 26380), ("10.0.0.3", 26379)), master="onepage", db=5
    )


def test_the_database_defaults_to_0_and_the_password_is_the_data_nodes():
    address = sentinel_address("redis+sentinel://:s%40cret@[::1]:26379/main")
    assert (address.sentinels, address.master, address.db, address.password) == ((("::1", 26379),), "main", 0, "s@cret")


def test_one_redis_is_not_the_sentinel_form():
    assert sentinel_address("redis://127.0.0.1:6379/3") is None
    assert client("redis://127.0.0.1:6379/3").connection_pool.connection_kwargs["db"] == 3
    assert celery_broker("redis://127.0.0.1:6379/3") == ("redis://127.0.0.1:6379/3", {})


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis+sentinel://10.0.0.1:26379", "must name the master"),
        ("redis+sentinel://10.0.0.1:26379/", "must name the master"),
        ("redis+sentinel://10.0.0.1:26379/onepage/0/x", "must name the master"),
        ("redis+sentinel://10.0.0.1:26379/onepage/zero", "'zero' is not a number"),
        ("redis+sentinel://10.0.0.1:port/onepage", "'10.0.0.1:port'"),
        ("redis+sentinel://10.0.0.1,,10.0.0.2/onepage", "each must be host or host:port"),
        ("redis+sentinel://10.0.0.1/onepage?ssl=true", "no ?options"),
    ],
)
def test_a_malformed_sentinel_url_says_what_is_wrong(url, says):
    with pytest.raises(ImproperlyConfigured, match=says.replace("?", r"\?")):
        sentinel_address(url)


def test_celerys_broker_is_kombus_sentinel_transport_on_the_same_database():
    url, options = celery_broker("redis+sentinel://:pw@10.0.0.1:26379,10.0.0.2/onepage/5")
    assert options == {"master_name": "onepage"}
    assert url == "sentinel://:pw@10.0.0.1:26379/5;sentinel://:pw@10.0.0.2:26379/5"
    broker = Connection(url, transport_options=options)
    assert (broker.transport_cls, broker.virtual_host, broker.password) == ("sentinel", "5", "pw")


def _settings_of(redis_url: str, names: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "PYTEST"))}
    code = f"import django; django.setup(); from django.conf import settings as s; print({names})"
    return subprocess.run([sys.executable, "-c", code], env={**env, "REDIS_URL": redis_url},
                          capture_output=True, text=True, timeout=60, cwd=settings.BASE_DIR)  # fmt: skip


def test_the_settings_take_the_sentinel_form_for_the_broker_the_cache_and_the_pixels_wait():
    out = _settings_of(THREE, "s.CELERY_BROKER_URL, s.CELERY_BROKER_TRANSPORT_OPTIONS['master_name'], "
                              "s.CACHES['default']['OPTIONS'], s.OPEN_REPLICA_WAIT_MS, sep='|'")  # fmt: skip
    assert out.returncode == 0, out.stderr
    broker, master, cache, wait = out.stdout.strip().split("|")
    assert broker.startswith("sentinel://10.0.0.1:26379/5;sentinel://10.0.0.2:26380/5;")
    assert master == "onepage"
    assert "onepage.redis_url.CachePool" in cache
    assert wait == "100"
    # One Redis: the pixel never waits for a replica.
    out = _settings_of("redis://127.0.0.1:6379/5", "s.OPEN_REPLICA_WAIT_MS")
    assert out.stdout.strip() == "0", out.stderr


def test_a_malformed_sentinel_url_stops_the_start_naming_the_variable():
    out = _settings_of("redis+sentinel://10.0.0.1:26379", "1")
    assert out.returncode != 0
    assert "ImproperlyConfigured: REDIS_URL must name the master" in out.stderr


# --- against a master, a replica and three Sentinels -------------------------


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    # Once, in the PostgreSQL + Redis run: a Redis set of its own, started per module.
    if not settings.REDIS_URL:
        pytest.skip("runs in the PostgreSQL + Redis run (REDIS_URL)")
    yield from sentinel.started(tmp_path_factory.mktemp("sentinel"))


def test_a_client_writes_to_the_master_and_finds_the_promoted_replica_after_a_failover(nodes):
    master_client = client(nodes.sentinel_url, socket_timeout=2, decode_responses=True)
    master_client.set("where", "first")
    assert nodes.master().client().get("where") == b"first"

    nodes.switch()

    # The connection to the demoted master is dropped (its clients were
    # disconnected); the next command asks the Sentinels again. One retry:
    # redis-py's default (a command on a connection that was cut).
    master_client.set("where", "second")
    assert nodes.master().client().get("where") == b"second"
    assert master_client.connection_pool.master_address == ("127.0.0.1", nodes.master().port)


def test_djangos_cache_reaches_the_master_through_the_sentinels(nodes):
    from django.core.cache.backends.redis import RedisCache

    # As the settings make it (CACHES).

    cache = RedisCache([nodes.sentinel_url], {"OPTIONS": {"pool_class": "onepage.redis_url.CachePool"}})
    cache.set("heartbeat", 42)
    assert cache.get("heartbeat") == 42
    assert nodes.master().client().get(cache.make_key("heartbeat")) == b"42"
    nodes.switch()
    cache.set("heartbeat", 43)
    assert cache.get("heartbeat") == 43


def test_celerys_broker_delivers_through_the_sentinels(nodes):
    url, options = celery_broker(nodes.sentinel_url)
    with Connection(url, transport_options=options) as broker:
        queue = broker.SimpleQueue("sentinel-test")
        queue.put({"send": 7})
        message = queue.get(timeout=5)
        message.ack()
        assert message.payload == {"send": 7}
        queue.close()


def test_the_asyncio_client_reaches_the_master(nodes):
    from onepage.redis_url import async_client

    async def ping_and_set() -> bytes:
        aclient = async_client(nodes.sentinel_url, socket_connect_timeout=2)
        try:
            await aclient.set("async", "yes")
            return await aclient.get("async")
        finally:
            await aclient.aclose()

    # In a thread of its own: an earlier test may have left this one a running loop.
    with ThreadPoolExecutor(1) as thread:
        assert thread.submit(asyncio.run, ping_and_set()).result() == b"yes"
    assert nodes.master().client().get("async") == b"yes"
