"""A bench-only prototype of the bell's count over Server-Sent Events (not
part of the app), served by granian's ASGI interface for
bench/live_channel.py:

    granian --interface asgi bench.live_sse:app

GET /live/ with the session cookie: the session, the user and the
membership are checked once, with the unread count (4 queries, as the
poll's), then the database connection is closed: the open stream holds no
database connection and no thread, only a coroutine and its socket. Each
worker process has one Redis pub/sub connection (a pattern subscription to
`<LIVE_CHANNEL_PREFIX>:<user id>`) and hands each message, the user's new
unread count, to that user's open streams: `event: count`. A comment line
every LIVE_HEARTBEAT seconds keeps proxies from closing a quiet stream.
"""

import asyncio
import os
from http.cookies import SimpleCookie
from importlib import import_module
from types import SimpleNamespace

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onepage.settings")

import django

django.setup()

import redis.asyncio as aioredis  # noqa: E402
from asgiref.sync import sync_to_async  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user  # noqa: E402
from django.db import connection  # noqa: E402

from alerts.models import Notification  # noqa: E402
from onepage.models import Membership  # noqa: E402

PREFIX = os.environ.get("LIVE_CHANNEL_PREFIX", "bench:bell")
HEARTBEAT = float(os.environ.get("LIVE_HEARTBEAT", "15"))
SessionStore = import_module(settings.SESSION_ENGINE).SessionStore
# user id -> the queues of that user's open streams (in this process)
streams: dict[int, set[asyncio.Queue]] = {}
subscriber: asyncio.Task | None = None


def authenticate(session_key: str) -> tuple[int, int] | None:
    """(user id, unread count) of a signed-in member, else None; then the
    connection is closed, not kept for the stream's lifetime."""
    try:
        user = get_user(SimpleNamespace(session=SessionStore(session_key)))
        if not user.is_authenticated or not Membership.objects.filter(user=user).exists():
            return None
        return user.pk, Notification.objects.filter(user=user, read_at__isnull=True).count()
    finally:
        connection.close()


async def listen() -> None:
    """This process's one subscription; reconnects if Redis goes away."""
    while True:
        client = aioredis.Redis.from_url(settings.REDIS_URL)
        try:
            async with client.pubsub() as pubsub:
                await pubsub.psubscribe(f"{PREFIX}:*")
                async for message in pubsub.listen():
                    if message["type"] != "pmessage":
                        continue
                    user_id = int(message["channel"].rsplit(b":", 1)[1])
                    for queue in streams.get(user_id, ()):
                        queue.put_nowait(message["data"].decode())
        except (OSError, aioredis.RedisError):
            await asyncio.sleep(1)
        finally:
            await client.aclose()


async def disconnected(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def more(send, body: bytes) -> None:
    await send({"type": "http.response.body", "body": body, "more_body": True})


async def respond(send, status: int, body: bytes) -> None:
    length = str(len(body)).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", length)]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


async def app(scope, receive, send) -> None:
    global subscriber
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "http" or scope["path"] != "/live/":
        return await respond(send, 404, b"Not found")
    cookies = SimpleCookie()
    for name, value in scope["headers"]:
        if name == b"cookie":
            cookies.load(value.decode("latin-1"))
    morsel = cookies.get(settings.SESSION_COOKIE_NAME)
    who = await sync_to_async(authenticate)(morsel.value) if morsel else None
    if who is None:
        return await respond(send, 403, b"Sign in")
    user_id, unread = who
    if subscriber is None or subscriber.done():
        subscriber = asyncio.create_task(listen())
    queue: asyncio.Queue = asyncio.Queue()
    streams.setdefault(user_id, set()).add(queue)
    gone = asyncio.create_task(disconnected(receive))  # the tab closed
    try:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-store"),
                                (b"x-accel-buffering", b"no")]})  # fmt: skip
        await more(send, f"event: count\ndata: {unread}\n\n".encode())
        while not gone.done():
            got = asyncio.create_task(queue.get())
            done, _ = await asyncio.wait({got, gone}, timeout=HEARTBEAT, return_when=asyncio.FIRST_COMPLETED)
            if got in done:
                body = f"event: count\ndata: {got.result()}\n\n".encode()
            else:
                got.cancel()
                if gone in done:
                    break
                body = b": still here\n\n"
            await more(send, body)
    except (OSError, RuntimeError):  # a send to a tab already gone
        pass
    finally:
        gone.cancel()
        streams[user_id].discard(queue)
        if not streams[user_id]:
            del streams[user_id]
