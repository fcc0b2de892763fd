"""The pixel's Redis connection in an event loop (the ASGI lane,
tracking.pixel.asgi_lane): one per loop and Redis, kept open, and the
appends of the requests the loop is serving at once sent together, in one
write and one read (Redis's pipelining).

A request's append waits on a future. The first one that finds no flush
under way starts one for the loop's next turn, by when the other requests
of this turn have added theirs; while a batch is on the wire, the next
gathers. A batch costs the worker one send and one read, and Redis one
read, whatever its size: that is what makes the ASGI lane faster than the
WSGI one, whose threads each wait for their own round trip (issue 23,
bench/README.md "The ASGI lane").

It does for a batch what tracking.kept does for one command: a connection
Redis closed while it sat idle is replaced and the batch sent once more; a
script Redis does not know (a restart without its data, a promoted replica)
is loaded and the commands that met NOSCRIPT sent again; a master demoted
to a replica (READONLY) closes the connection and the batch is sent once
more on a new one; any other failure closes the connection and fails every
append of the batch with a redis.RedisError, for each caller's fallback
(tracking.intake). redis-py makes the connection (under Sentinel its
asyncio SentinelManagedConnection, which asks the Sentinels where the
master is, as in the live stream); the batch's replies are read here, with
hiredis, in one go (Pipeline._exchange). With `wait_ms`
(OPEN_REPLICA_WAIT_MS), one WAIT follows the batch in the same write, and
its count of replicas applies to every command of it."""

import asyncio
import hashlib
import weakref
from dataclasses import dataclass, field

import hiredis
import redis
import redis.asyncio

from onepage import redis_url

# Each loop's pipelines, by (Redis URL, timeout).
_pipelines: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict]" = weakref.WeakKeyDictionary()


@dataclass
class _Call:
    keys: list
    args: list
    wait_ms: int
    future: asyncio.Future = field(repr=False)


def run_script(url: str, script: str, keys: list, args: list, *, timeout: float, wait_ms: int = 0):
    """An awaitable of (the script's reply, the replicas WAIT counted, or
    None without `wait_ms`), run on this loop's connection to `url` with
    the other requests' commands of this turn. It raises redis.RedisError."""
    loop = asyncio.get_running_loop()
    mine = _pipelines.setdefault(loop, {})
    pipeline = mine.get((url, timeout))
    if pipeline is None:
        pipeline = mine[(url, timeout)] = Pipeline(url, timeout)
    return pipeline.run(script, keys, args, wait_ms)


class Pipeline:
    def __init__(self, url: str, timeout: float) -> None:
        client = redis_url.async_client(
            url, socket_connect_timeout=timeout, socket_timeout=timeout, decode_responses=True
        )
        # Kept with the connection made from its pool (under Sentinel, the
        # pool asks the Sentinels where the master is).
        self.client = client
        pool = client.connection_pool
        self.connection = pool.connection_class(**pool.connection_kwargs)
        self.timeout = timeout
        # The connection's replies as they are read: a reader made with each
        # connection (_exchange).
        self.replies: hiredis.Reader | None = None
        self.script = ""
        self.sha = ""
        self.pending: list[_Call] = []
        self.flushing = False
        self.flush_task: asyncio.Task | None = None

    def run(self, script: str, keys: list, args: list, wait_ms: int) -> asyncio.Future:
        if script != self.script:
            # EVALSHA names a script by its SHA-1 (Redis's id, not a secret).
            self.script, self.sha = script, hashlib.sha1(script.encode(), usedforsecurity=False).hexdigest()
        loop = asyncio.get_running_loop()
        call = _Call(keys, args, wait_ms, loop.create_future())
        self.pending.append(call)
        if not self.flushing:
            self.flushing = True
            # Kept: the loop holds its tasks weakly.
            self.flush_task = loop.create_task(self._flush())
        return call.future

    async def _flush(self) -> None:
        try:
            while self.pending:
                batch, self.pending = self.pending, []
                await self._send(batch)
        except BaseException as exc:
            # The task itself was cancelled (the loop ends): nothing waits forever.
            for call in self.pending:
                _fail(call, exc)
            self.pending = []
            raise
        finally:
            self.flushing = False

    async def _send(self, batch: list[_Call]) -> None:
        try:
            replies, replicas = await self._once_more_if_closed(batch)
            again = [call for call, reply in zip(batch, replies, strict=True) if _no_script(reply)]
            if again:
                await self._load_script()
                replies_again, replicas = await self._round_trip(again)
                replies = [replies_again.pop(0) if _no_script(reply) else reply for reply in replies]
        except BaseException as exc:
            await self.connection.disconnect()
            for call in batch:
                _fail(call, exc)
            if not isinstance(exc, Exception):
                raise
            return
        for call, reply in zip(batch, replies, strict=True):
            if call.future.done():  # its request was cancelled
                continue
            if isinstance(reply, Exception):
                call.future.set_exception(reply)
            else:
                call.future.set_result((reply, replicas))

    async def _once_more_if_closed(self, batch: list[_Call]):
        reused = self.connection.is_connected
        try:
            return await self._round_trip(batch)
        except redis.ConnectionError:
            # Not a timeout: Redis may have run the batch. Its entries' keys
            # make a second copy, or a direct write, one open.
            await self.connection.disconnect()
            if not reused:
                raise
        return await self._round_trip(batch)

    async def _round_trip(self, batch: list[_Call]) -> tuple[list, int | None]:
        commands = [("EVALSHA", self.sha, len(call.keys), *call.keys, *call.args) for call in batch]
        wait_ms = max(call.wait_ms for call in batch)
        if wait_ms:
            commands.append(("WAIT", 1, wait_ms))
        replies = await self._exchange(commands)
        replicas = replies.pop() if wait_ms else None
        if isinstance(replicas, Exception):
            raise replicas
        return replies, replicas

    async def _exchange(self, commands: list[tuple]) -> list:
        """Send `commands` in one write and read their replies, an error
        reply as its exception (it answers its own command only).

        redis-py makes the connection (under Sentinel, asking where the
        master is; its password, database and TLS) and keeps its streams
        (`_reader`, `_writer`: redis-py is pinned, and the lane's tests
        fail without them). The replies are read here, all at once, under
        one timeout, instead of with redis-py's read_response per reply,
        each under a timeout of its own: the lane serves 1.06x the pixels
        (bench/README.md, "The ASGI lane, second pass"). A timeout, a reset or
        a reply that cannot be read closes the connection, and the next
        batch makes a new one. A READONLY reply means the master was
        demoted (a failover): as redis-py's Sentinel connection does, the
        connection is closed and the batch fails with ConnectionError, sent
        once more on a new connection (_once_more_if_closed), to the
        promoted replica under Sentinel."""
        connection = self.connection
        if not connection.is_connected or connection._reader.at_eof():
            # Closed by Redis while it sat idle: a new one, with no retry.
            await connection.disconnect()
            await connection.connect()
            self.replies = hiredis.Reader(replyError=_error, encoding="utf-8")
        reader, writer, replies = connection._reader, connection._writer, self.replies
        try:
            async with asyncio.timeout(self.timeout):
                # hiredis's packer (C): redis-py's asyncio connection packs in
                # Python, a third of the lane's time per append.
                writer.write(b"".join([hiredis.pack_command(command) for command in commands]))
                out = []
                while len(out) < len(commands):
                    reply = replies.gets()
                    if reply is False:
                        data = await reader.read(65536)
                        if not data:
                            raise redis.ConnectionError("Redis closed the connection")
                        replies.feed(data)
                    else:
                        out.append(reply)
        except BaseException as exc:
            await connection.disconnect()
            if isinstance(exc, TimeoutError):
                raise redis.TimeoutError(f"Timeout: Redis did not answer within {self.timeout}s") from exc
            if isinstance(exc, (OSError, hiredis.ProtocolError)):
                raise redis.ConnectionError(f"the open stream's connection failed: {exc}") from exc
            raise
        if any(isinstance(reply, redis.ReadOnlyError) for reply in out):
            await connection.disconnect()
            raise redis.ConnectionError("the master Redis is now a replica")
        return out

    async def _load_script(self) -> None:
        (sha,) = await self._exchange([("SCRIPT", "LOAD", self.script)])
        if isinstance(sha, Exception):
            raise sha
        self.sha = sha


def _error(message: str) -> redis.ResponseError:
    """An error reply as redis-py would raise it, for the errors the lane
    tells apart: a script Redis does not know, a master demoted."""
    code, _, rest = message.partition(" ")
    if code == "NOSCRIPT":
        return redis.exceptions.NoScriptError(rest)
    if code == "READONLY":
        return redis.ReadOnlyError(rest)
    return redis.ResponseError(message)


def _no_script(reply) -> bool:
    return isinstance(reply, redis.exceptions.NoScriptError)


def _fail(call: _Call, exc: BaseException) -> None:
    if call.future.done():
        return
    if not isinstance(exc, redis.RedisError):
        # A cancelled flush or an OSError redis-py did not wrap: the caller
        # falls back as for any Redis failure.
        exc = redis.ConnectionError(f"the open stream's pipeline failed: {type(exc).__name__}: {exc}")
    call.future.set_exception(exc)
