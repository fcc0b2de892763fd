"""Redis under Sentinel for the tests: a master, one replica and three
Sentinels (`redis-server <conf> --sentinel`), all on free 127.0.0.1 ports in
a throwaway folder, with Sentinel's timings shortened (a master silent for
DOWN_AFTER_MS is down; quorum 2) so that a failover takes a few seconds.
The data nodes keep an AOF (everysec) as README: Redis under Sentinel says;
`SentinelServices` is the fault suite's Services with this set as its Redis
and the app's processes given its `redis+sentinel://` REDIS_URL. Every
process started here is stopped by `close`."""

import signal
import subprocess
import time
from pathlib import Path

import redis

from .processes import Services, free_port, wait_for

MASTER_NAME = "onepage"
# Sentinel pings each node once a second: at 1000 ms a master it has just
# switched to is down before its first ping, and fails over again.
DOWN_AFTER_MS = 2000
FAILOVER_TIMEOUT_MS = 1000


class Node:
    """One redis-server: a data node, or a Sentinel (its config file is
    rewritten by Sentinel itself)."""

    def __init__(self, folder: Path, args: list[str], *, port: int | None = None) -> None:
        self.port = port or free_port()
        self.folder = folder
        self.args = args
        self.process: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        log = (self.folder / "redis.log").open("a")
        self.process = subprocess.Popen(["redis-server", *self.args], stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=1)
        wait_for(client.ping, timeout=20, what=f"redis-server on {self.port}")
        client.close()

    def client(self, **options) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=2, **options)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)

    def close(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(10)


def data_node(folder: Path, *, replica_of: int | None = None) -> Node:
    port = free_port()
    args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
            "--appendfsync", "everysec", "--dir", str(folder),
            # A replica (or an old master rejoining) synced at once, not after 5 s.
            "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"]  # fmt: skip
    if replica_of:
        args += ["--replicaof", "127.0.0.1", str(replica_of)]
    return Node(folder, args, port=port)


def sentinel_node(folder: Path, *, master_port: int) -> Node:
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "sentinel.conf"
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {folder}\n"
        f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n"
        f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
        f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}\n"
        f"sentinel parallel-syncs {MASTER_NAME} 1\n"
    )
    return Node(folder, [str(conf), "--sentinel"], port=port)


class SentinelSet:
    """A master, its replica and three Sentinels watching them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        master = data_node(folder / "a")
        self.data = [master, data_node(folder / "b", replica_of=master.port)]
        self.sentinels = [sentinel_node(folder / f"sentinel{n}", master_port=master.port) for n in range(3)]

    @property
    def sentinel_url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{MASTER_NAME}/0"

    @property
    def url(self) -> str:
        """The current master's own address, for the tests' inspection of it."""
        return f"redis://127.0.0.1:{self.master().port}/0"

    def start(self) -> None:
        for node in self.data:
            node.start()
        self.wait_replicated()
        for node in self.sentinels:
            node.start()
        # Every Sentinel knows the replica and its two peers.
        wait_for(lambda: all(self._sees_everyone(s) for s in self.sentinels), timeout=30, what="the Sentinels")

    def _sees_everyone(self, sentinel: Node) -> bool:
        with sentinel.client(decode_responses=True) as client:
            state = client.sentinel_master(MASTER_NAME)
        return state["num-slaves"] >= 1 and state["num-other-sentinels"] == 2

    def master_port(self) -> int:
        """The master's port as a Sentinel that answers says."""
        for sentinel in self.sentinels:
            if sentinel.alive():
                with sentinel.client() as client:
                    try:
                        return int(client.sentinel_get_master_addr_by_name(MASTER_NAME)[1])
                    except redis.RedisError:
                        continue
        raise RuntimeError("no Sentinel answers")

    def master(self) -> Node:
        port = self.master_port()
        return next(node for node in self.data if node.port == port)

    def replica(self) -> Node:
        port = self.master_port()
        return next(node for node in self.data if node.port != port)

    def wait_replicated(self, *, timeout: float = 30) -> None:
        """Until the master has a replica online, in step with it."""
        master = next(n for n in self.data if n.alive() and n.client().info("replication")["role"] == "master")

        def in_step() -> bool:
            info = master.client().info("replication")
            replica = info.get("slave0")
            return bool(replica) and replica["state"] == "online" and replica["offset"] >= info["master_repl_offset"]

        wait_for(in_step, timeout=timeout, what="the replica in step")

    def kill_master(self) -> Node:
        """SIGKILL the master; it stays down until `restart`."""
        master = self.master()
        master.kill()
        return master

    def named(self) -> set[int]:
        """The master's port as each Sentinel that answers names it."""
        ports = set()
        for sentinel in self.sentinels:
            if sentinel.alive():
                with sentinel.client() as client:
                    ports.add(int(client.sentinel_get_master_addr_by_name(MASTER_NAME)[1]))
        return ports

    def wait_failover(self, old_port: int, *, timeout: float = 30) -> None:
        """Until the Sentinels name another master, and it takes writes."""
        wait_for(lambda: self.master_port() != old_port, timeout=timeout, what="the failover", every=0.05)

    def wait_agreed(self, *, timeout: float = 10) -> None:
        """Until every Sentinel names the same master: the others learn of a
        failover from the leader's hello messages (every 2 s), and until then
        a client that asks one of them (redis-py asks the first that answers)
        goes to the old master."""
        wait_for(lambda: len(self.named()) == 1, timeout=timeout, what="the Sentinels agreeing", every=0.1)
        wait_for(lambda: self.master().client().info("replication")["role"] == "master", timeout=timeout,
                 what="the promoted master")  # fmt: skip

    def switch(self) -> None:
        """A failover Sentinel is told to make (SENTINEL FAILOVER): the
        replica promoted, the master demoted to its replica, its clients
        disconnected; returns once the old master follows the new one."""
        old = self.master()
        for attempt in range(3):
            # Right after another failover a Sentinel may not have a fresh
            # view of the replica yet (NOGOODSLAVE, or a failover it aborts).
            with self.sentinels[attempt].client() as client:
                try:
                    client.execute_command("SENTINEL", "FAILOVER", MASTER_NAME)
                except redis.ResponseError:
                    time.sleep(1)
                    continue
            try:
                self.wait_failover(old.port, timeout=10)
                break
            except TimeoutError:
                continue
        else:
            raise TimeoutError("Sentinel did not fail over")
        # Sentinel would make the old master a replica at its next INFO of it
        # (every 10 s): done now, as Sentinel does it (its clients disconnected).
        self.wait_agreed()
        with old.client() as client:
            client.replicaof("127.0.0.1", self.master_port())
            client.client_kill_filter(_type="normal", skipme=True)
        wait_for(lambda: old.client().info("replication")["role"] == "slave", timeout=30, what="the old master demoted")
        self.wait_replicated()

    def restart(self, node: Node) -> None:
        """An old master back as a replica of the new one. Started as a
        replica at once: Sentinel would convert it too, but only at its next
        INFO of a replica (every 10 s)."""
        node.args = [*node.args[: node.args.index("--repl-diskless-sync-delay") + 2], "--replicaof", "127.0.0.1",
                     str(self.master_port())]  # fmt: skip
        node.start()
        wait_for(lambda: node.client().info("replication")["role"] == "slave", timeout=30,
                 what="the old master turned replica")  # fmt: skip
        self.wait_replicated()

    def close(self) -> None:
        for node in [*self.sentinels, *self.data]:
            node.close()


def started(folder: Path):
    """A SentinelSet for a test module (a fixture's body): skipped without
    redis-server, stopped at the end."""
    import shutil

    import pytest

    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    nodes = SentinelSet(folder)
    try:
        nodes.start()
        yield nodes
    finally:
        nodes.close()


class SentinelServices(Services):
    """The fault suite's world with Redis under Sentinel: the app's
    processes get the Sentinels' address, the tests the master's own."""

    def __init__(self, folder: Path, *, secret_key: str) -> None:
        super().__init__(folder, secret_key=secret_key)
        self.redis = SentinelSet(folder / "redis")

    def env(self, **extra: str) -> dict[str, str]:
        return super().env(**{"REDIS_URL": self.redis.sentinel_url, **extra})
