"""What bench/live_channel.py reads of the server and the database while
the tabs are open: the TCP connections the server holds on its port and to
Redis, its threads and memory (from /proc), and PostgreSQL's statistics of the bench's
database, asked from a connection to another database (so that asking is
not counted)."""

import os
from pathlib import Path

import psycopg2


def established(port: int) -> int:
    """TCP connections the server holds on `port`, from /proc/net/tcp."""
    held = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                held += 1
    return held


def connections_to(pids: list[int], port: int) -> int:
    """TCP connections these processes hold to `port` (Redis's): their
    sockets' inodes (/proc/<pid>/fd) found in /proc/net/tcp."""
    inodes = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    held = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[3] == "01" and fields[9] in inodes:
                held += 1
    return held


def _status(pids: list[int], field: str) -> int:
    """The sum of one /proc/<pid>/status field over the live processes."""
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total += int(status.split(f"{field}:")[1].split()[0])
    return total


def threads(pids: list[int]) -> int:
    return _status(pids, "Threads")


def resident_mb(pids: list[int]) -> float:
    return _status(pids, "VmRSS") / 1024


class Database:
    """What PostgreSQL says of the bench database, asked from another one."""

    def __init__(self, url: str) -> None:
        self.name = url.rsplit("/", 1)[1]
        self.conn = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
        self.conn.autocommit = True

    def one(self, sql: str):
        with self.conn.cursor() as cur:
            cur.execute(sql, [self.name])
            return cur.fetchall()

    def transactions(self) -> int:
        return self.one("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s")[0][0]

    def backends(self) -> list[int]:
        return [pid for (pid,) in self.one("SELECT pid FROM pg_stat_activity WHERE datname = %s")]
