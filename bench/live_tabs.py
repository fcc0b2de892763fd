"""The open tabs of bench/live_channel.py, as coroutines on 127.0.0.1: each
one signed-in user's bell, either polling GET /alerts/count/ on a schedule
(htmx's `every 5s`: a timer that does not wait for the answer) over one
keep-alive connection, as a browser does, or holding GET /alerts/stream/
open (the app's Server-Sent Events, alerts.stream_views) and reading its
events. Each tab notes
when it first saw each count (time.monotonic, which is the machine's clock
for every process: the writer's child process notes the same clock)."""

import asyncio
import json
import random
import re
import time
from dataclasses import dataclass, field

LOCAL = "127.0.0.1"
BADGE = re.compile(rb'class="bell-badge">(\d+)(\+?)<')


@dataclass
class Tab:
    user: int
    session: str
    recipient: int
    count: int = 0
    seen: dict[int, float] = field(default_factory=dict)  # count -> when first seen
    requests: int = 0  # answered polls, or streams opened
    busy: float = 0.0  # seconds between a poll's request and its answer, summed
    bad: int = 0  # answers other than 200, broken connections
    connects: int = 0
    heartbeats: int = 0

    def see(self, count: int) -> None:
        if count != self.count:
            self.count = count
            self.seen.setdefault(count, time.monotonic())


def totals(tabs: list[Tab]) -> dict[str, float]:
    return {name: sum(getattr(t, name) for t in tabs) for name in ("requests", "busy", "bad", "connects", "heartbeats")}


def _request(path: str, tab: Tab, accept: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {LOCAL}\r\nCookie: sessionid={tab.session}\r\n"
        f"Accept: {accept}\r\nHX-Request: true\r\n\r\n"
    ).encode()


async def _head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers


async def _chunks(reader: asyncio.StreamReader, headers: dict[str, str]):
    """The body, piece by piece, as it arrives."""
    if "content-length" in headers:
        yield await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            yield await reader.readexactly(size)
            await reader.readexactly(2)
        await reader.readuntil(b"\r\n")
    else:
        while piece := await reader.read(65536):
            yield piece


async def poll(tab: Tab, port: int, interval: float) -> None:
    """Poll from a random moment within the first interval, for ever."""
    await asyncio.sleep(random.uniform(0, interval))
    started, n, connection = time.monotonic(), 0, None
    request = _request("/alerts/count/", tab, "*/*")
    try:
        while True:
            began = time.monotonic()
            try:
                if connection is None:
                    connection = await asyncio.open_connection(LOCAL, port)
                    tab.connects += 1
                reader, writer = connection
                writer.write(request)
                status, headers = await _head(reader)
                body = b"".join([piece async for piece in _chunks(reader, headers)])
                if headers.get("connection", "").lower() == "close":
                    writer.close()
                    connection = None
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                tab.bad += 1
                connection = None
            else:
                tab.requests += 1
                tab.busy += time.monotonic() - began
                if status == 200:
                    badge = BADGE.search(body)
                    tab.see(0 if badge is None else int(badge[1]) + (1 if badge[2] else 0))
                else:
                    tab.bad += 1
            n += 1
            await asyncio.sleep(max(0.0, started + n * interval - time.monotonic()))
    finally:
        if connection is not None:
            connection[1].close()


async def stream(tab: Tab, port: int, ramp: float) -> None:
    """Open the stream at a random moment within `ramp` seconds and read its
    events for ever; reopen it a second after it breaks (as EventSource does)."""
    await asyncio.sleep(random.uniform(0, ramp))
    request = _request("/alerts/stream/", tab, "text/event-stream")
    while True:
        writer = None
        try:
            reader, writer = await asyncio.open_connection(LOCAL, port)
            tab.connects += 1
            writer.write(request)
            status, headers = await _head(reader)
            tab.requests += 1
            if status != 200:
                tab.bad += 1
            else:
                pending = b""
                async for piece in _chunks(reader, headers):
                    pending += piece
                    *events, pending = pending.split(b"\n\n")
                    for event in events:
                        _event(tab, event)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            tab.bad += 1
        finally:
            if writer is not None:
                writer.close()
        await asyncio.sleep(1)


def _event(tab: Tab, event: bytes) -> None:
    lines = event.split(b"\n")
    if all(line.startswith(b":") for line in lines):
        tab.heartbeats += 1
    else:
        data = b"".join(line.removeprefix(b"data: ") for line in lines if line.startswith(b"data: "))
        tab.see(json.loads(data)["unread"])
