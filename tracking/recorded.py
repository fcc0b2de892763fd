"""The slot through which a higher app hears of the opens the writer
recorded (alerts, which notifies the sender): it plugs its listener in from
its AppConfig.ready (`register`), so tracking never imports it. The writer
announces each batch's newly recorded opens (`announce`): the listeners run
after the commit of the transaction that wrote them (transaction.on_commit,
robust: a listener's failure is logged, never the batch's), with the facts
already loaded, at no cost to the pixel (which only appends to the stream).
An open announced is never announced again: a replayed batch records, and
so announces, only keys not written before."""

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import NamedTuple

from django.db import transaction


class Recorded(NamedTuple):
    """One open the writer has just recorded (a named tuple: the writer
    makes one per open of a batch, under its emails' lock; a frozen
    dataclass costs three times as much to make)."""

    key: str | None
    # None for an aggregate open: the email's total only, nobody named.
    recipient_id: int | None
    email_id: int
    organization_id: int
    sender_id: int
    opened_at: datetime
    verdict: str
    # The recipient's last counted open (human or proxy) before this batch.
    previous_counted_at: datetime | None


Listener = Callable[[Sequence[Recorded]], None]
_listeners: list[Listener] = []


def register(listener: Listener) -> None:
    """Called once per listener at start-up (an AppConfig.ready)."""
    if listener not in _listeners:
        _listeners.append(listener)


def announce(recorded: Sequence[Recorded]) -> None:
    """Hand the batch's newly recorded opens to every listener once the
    transaction that wrote them commits."""
    if not recorded:
        return
    for listener in _listeners:
        transaction.on_commit(partial(listener, tuple(recorded)), robust=True)
