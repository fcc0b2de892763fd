"""The last resort when neither Redis nor the database can take an open: a
bounded, append-only file of JSON lines under OPEN_SPOOL_DIR, one line per
open (its key, recipient, time and the signals' verdict), fsync'd before the
pixel is answered. The recorder replays it (`replay`) once the database is
back. The spool is per machine: run a recorder on every machine
that serves the pixel.

Web processes append to `opens.jsonl`; a replay renames it first, so that
appends go to a new file while the old one is read. An append holds an
exclusive lock on the file and checks it is still the live one; a replay
takes the same lock on the renamed file, which waits for an append in
progress, so no line is written to a file already read.
"""

import contextlib
import fcntl
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction

from .hits import with_kept_signals
from .writer import write_opens

logger = logging.getLogger(__name__)

LIVE = "opens.jsonl"
REPLAYING = "opens.*.replaying"


def spool_dir() -> Path:
    return Path(settings.OPEN_SPOOL_DIR)


def _files() -> list[Path]:
    folder = spool_dir()
    if not folder.is_dir():
        return []
    return sorted(folder.glob(REPLAYING)) + [p for p in [folder / LIVE] if p.exists()]


def size() -> int:
    total = 0
    for path in _files():
        with contextlib.suppress(FileNotFoundError):
            total += path.stat().st_size
    return total


def count() -> int:
    """Opens waiting in the spool (lines, read: the spool is small)."""
    lines = 0
    for path in _files():
        with contextlib.suppress(FileNotFoundError), path.open("rb") as f:
            lines += sum(1 for _ in f)
    return lines


def append(*, record: dict) -> bool:
    """Append one open, durably. False when the spool is full
    (OPEN_SPOOL_MAX_BYTES) or cannot be written."""
    line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
    path = spool_dir() / LIVE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if size() + len(line) > settings.OPEN_SPOOL_MAX_BYTES:
            return False
        for _ in range(10):
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if _is_live(fd, path):
                    os.write(fd, line)
                    os.fsync(fd)
                    return True
            finally:
                os.close(fd)  # releases the lock
    except OSError:
        return False
    return False


def _is_live(fd: int, path: Path) -> bool:
    # A replay renamed the file between our open and our lock: append to
    # the new live file instead.
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def batches(*, batch_size: int, on_unreadable: Callable[[str], None]) -> Iterator[list[dict]]:
    """The spooled opens, batch by batch, oldest file first. A file is
    deleted once all its batches were consumed; a consumer that raises
    leaves it for the next replay (the keys make a second replay harmless)."""
    folder = spool_dir()
    live = folder / LIVE
    if live.exists():
        # Gone already: another recorder took it.
        with contextlib.suppress(FileNotFoundError):
            live.rename(folder / f"opens.{uuid.uuid4().hex}.replaying")
    for path in sorted(folder.glob(REPLAYING)) if folder.is_dir() else []:
        try:
            records = _read(path, on_unreadable)
        except FileNotFoundError:
            continue  # another recorder replayed it
        for start in range(0, len(records), batch_size):
            yield records[start : start + batch_size]
        path.unlink(missing_ok=True)


def _read(path: Path, on_unreadable: Callable[[str], None]) -> list[dict]:
    with path.open("rb") as f:
        # Waits for an append still writing to the file before it was renamed.
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        raw = f.read().decode(errors="replace")
    records = []
    for line in raw.splitlines():
        try:
            record = json.loads(line)
            if not {"key", "recipient", "at"} <= record.keys():
                raise ValueError
            records.append(record)
        except (ValueError, AttributeError):
            if line.strip():
                on_unreadable(line)
    return records


def replay(*, batch_size: int | None = None) -> int:
    """Write the opens spooled while both stores were down. Returns how many
    were newly recorded; raises (leaving the spool in place) when the
    database still fails."""
    recorded = 0
    for records in batches(batch_size=batch_size or settings.OPEN_BATCH_SIZE, on_unreadable=_log_unreadable):
        opens = []
        for r in records:
            try:
                opens.append(
                    with_kept_signals(
                        recipient_id=int(r["recipient"]),
                        opened_at=datetime.fromisoformat(r["at"]),
                        key=r["key"],
                        verdict=r.get("v"),
                        member=r.get("m"),
                    )
                )
            except (TypeError, ValueError):
                _log_unreadable(json.dumps(r))
        with transaction.atomic(durable=True):
            recorded += write_opens(opens=opens)
    return recorded


def _log_unreadable(line: str) -> None:
    logger.warning("Dropping unreadable open spool line: %r", line[:200])
