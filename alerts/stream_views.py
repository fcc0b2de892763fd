"""The bell's live channel, streaming half: GET /alerts/stream/, Server-Sent
Events, served by the ASGI process (onepage-live; README, Production).

A signed-in member's page holds it open: it is subscribed to the user's
Redis channel (alerts.live publishes there), sends the current count at
once, then each message as one event, and a comment line every HEARTBEAT
seconds so that proxies keep a quiet stream open. Once the first event is
out, the stream holds no database connection and no thread: it is a
coroutine waiting on its Redis connection, until the tab goes (Django
cancels it then: the subscription ends with it).

Answered 204 (no stream: the page's script keeps the 5 s poll, EventSource
does not reconnect) by the WSGI process, without Redis, or when Redis does
not answer; signed out, 403. The event's data is the JSON of alerts.live:
{"unread": 3} and, for a user who opted in to browser notifications,
"fresh" (what to show there)."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from asgiref.sync import SyncToAsync, sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from onepage import redis_url

from . import live

logger = logging.getLogger(__name__)
HEARTBEAT = 15.0
REDIS_TIMEOUT = 2.0


@login_not_required  # signed out: a plain 403, not the sign-in page (EventSource cannot follow it)
@require_GET
@never_cache
async def stream(request: HttpRequest) -> HttpResponse:
    if not isinstance(request, ASGIRequest) or not settings.REDIS_URL:
        return HttpResponse(status=204)
    user = await request.auser()
    if not user.is_authenticated or request.membership is None:
        return HttpResponse("Sign in to get the bell's count.", status=403, content_type="text/plain")
    # Subscribed before the count is read: a change in between is not lost.
    client = redis_url.async_client(settings.REDIS_URL, socket_connect_timeout=REDIS_TIMEOUT)
    pubsub = client.pubsub()
    try:
        await asyncio.wait_for(_subscribe(pubsub, live.channel(user.pk)), REDIS_TIMEOUT)
    except (OSError, TimeoutError, aioredis.RedisError) as exc:
        logger.warning("The bell's live channel is unavailable (%s): the pages poll", exc)
        await pubsub.aclose()
        await client.aclose()
        return HttpResponse(status=204)
    first = (await sync_to_async(live.messages_for)([user.pk]))[user.pk]
    response = StreamingHttpResponse(_events(first, pubsub, client), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


async def _subscribe(pubsub: aioredis.client.PubSub, channel: str) -> None:
    """Subscribe and read Redis's confirmation (else the stream's first wait
    would end on it, sending a heartbeat at once)."""
    await pubsub.subscribe(channel)
    while (await pubsub.get_message(timeout=REDIS_TIMEOUT) or {}).get("type") != "subscribe":
        pass


async def _events(first: dict, pubsub: aioredis.client.PubSub, client: aioredis.Redis) -> AsyncIterator[bytes]:
    try:
        yield _event(first)
        await _let_go_of_the_database_and_thread()
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=HEARTBEAT)
            if message is None:
                yield b": still here\n\n"
            elif message["type"] == "message":
                yield _event(json.loads(message["data"]))
    except (OSError, aioredis.RedisError) as exc:
        # The stream ends; the page polls, and EventSource tries again later.
        logger.warning("The bell's live channel lost Redis (%s)", exc)
    finally:
        await pubsub.aclose()
        await client.aclose()


def _event(message: dict) -> bytes:
    return f"data: {json.dumps(message, separators=(',', ':'))}\n\n".encode()


async def _let_go_of_the_database_and_thread() -> None:
    """The request's middleware and the first count ran on a thread of the
    request's own (asgiref's per-request executor, which Django keeps until
    the response ends: for a stream, all day). Close its database connections
    (CONN_MAX_AGE would keep them), then let that thread end: whatever sync
    code runs later in this request (its close) gets a new one."""
    await sync_to_async(connections.close_all)()
    # asgiref's internals (3.x): should they change, the stream still works,
    # holding its thread (alerts/tests/test_live_stream.py counts them).
    executors = getattr(SyncToAsync, "context_to_thread_executor", {})
    context = getattr(SyncToAsync, "thread_sensitive_context", None)
    executor = executors.pop(context.get(None), None) if context is not None else None
    if executor is not None:
        executor.shutdown(wait=False)
