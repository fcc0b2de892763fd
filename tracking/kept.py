"""The pixel's Redis connection in the WSGI lane: one per thread, kept open,
used for the pixel's one command (tracking.stream.append's script) without
redis-py's pool (the ASGI lane's, one per event loop with its appends sent
together: tracking.pipelined, which handles the same events for a batch).
Through the pool, each command also took the pool's lock, a poll of
the socket, the retry wrapper and the client's metrics: more Python than
the command itself (issue 23, bench/README.md "The pixel lane").

What the pool did that matters is kept here: a connection Redis closed while
it sat idle (its `timeout`, a restart) is replaced and the command sent once
more, so an idle pixel does not fall back to the database for it; any other
failure closes the connection and raises (redis.RedisError), for the
caller's fallback (tracking.intake). A script Redis does not know (after a
restart without its data, or a replica just promoted) is loaded and run
again. A process that forked makes connections of its own.

Under Sentinel the connection is the client's own kind,
redis.sentinel.SentinelManagedConnection: each new socket asks the
Sentinels where the master is, and a master demoted to a replica (READONLY,
or its clients disconnected by Sentinel) is a closed connection, replaced
as above, so the pixel follows a failover without a fallback (README: Redis
under Sentinel). `wait_for_replicas` asks, on the same connection, whether a
replica has what it wrote."""

import os
import threading

import redis
from redis.commands.core import Script

_local = threading.local()


def _connection(pool: redis.ConnectionPool) -> redis.Connection:
    kept = getattr(_local, "connections", None)
    if kept is None or _local.pid != os.getpid():
        kept = _local.connections = {}
        _local.pid = os.getpid()
    connection = kept.get(id(pool))
    if connection is None:
        connection = kept[id(pool)] = pool.connection_class(**pool.connection_kwargs)
    return connection


def run_script(client: redis.Redis, script: Script, keys: list, args: list):
    """EVALSHA `script` on this thread's kept connection to `client`'s Redis.
    Raises redis.RedisError."""
    connection = _connection(client.connection_pool)
    reused = connection._sock is not None
    try:
        return _evalsha(connection, client, script, keys, args)
    except redis.ConnectionError:
        # Not a timeout: Redis may have run a command that timed out.
        connection.disconnect()
        if not reused:
            raise
    # The kept connection was closed under it: once more, on a new one.
    try:
        return _evalsha(connection, client, script, keys, args)
    except BaseException:
        connection.disconnect()
        raise


def wait_for_replicas(client: redis.Redis, replicas: int, timeout_ms: int) -> int:
    """WAIT on this thread's kept connection to `client`'s Redis, after the
    command it just ran: how many replicas have every write this connection
    made, within timeout_ms. Never on a new connection (it made no write,
    and would be answered at once): a connection closed since raises
    redis.ConnectionError."""
    connection = _connection(client.connection_pool)
    if connection._sock is None:
        raise redis.ConnectionError("the kept connection closed after its write")
    try:
        connection.send_command("WAIT", replicas, timeout_ms)
        return connection.read_response()
    except BaseException:
        connection.disconnect()
        raise


def _evalsha(connection: redis.Connection, client: redis.Redis, script: Script, keys: list, args: list):
    try:
        if connection._sock is None:
            # connect(), not the connection made by send_command: only
            # connect() asks the Sentinels where the master is (a
            # SentinelManagedConnection sent on its own goes to localhost:6379).
            connection.connect()
        connection.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
        return connection.read_response()
    except redis.exceptions.NoScriptError:
        script.sha = client.script_load(script.script)
        connection.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
        return connection.read_response()
    except redis.ConnectionError:
        raise
    except BaseException:
        # A timeout, or one cut short: the reply may still come, and would
        # be read as the next command's.
        connection.disconnect()
        raise
