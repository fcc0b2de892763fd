"""Two web nodes behind nginx, each with its recorder and its own spool, one
Redis stream and one database between them (docs/scaling.md). A node that
records each hit and dies before answering, nginx retrying on the other; then
one node SIGKILLed, web server and recorder, during 2,000 pixel hits through
nginx. Every hit that got its GIF is recorded exactly once, the counters
equal the events, and /healthz answers per node.

Each runs for both of the pixel's servers: the web process (WSGI) and the
live process (ASGI), where production's nginx sends /o/. A live process
SIGKILLed may hold a batch of appends it sent to Redis and never answered:
nginx retries each on the other node under the same request id, which keys
the hit, so each counts once."""

import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.error import URLError
from urllib.request import Request, urlopen

import pytest
import redis

from emails.pixels import make_token

from .conftest import record_result
from .nodes import HEALTHZ_TOKEN, NGINX, Balancer, Node, RecordThenDie
from .processes import Services
from .test_open_faults import COUNTERS_DISAGREEING, ROLLUP_DISAGREEING, STREAM

HITS = 2000
SECONDS = 6
KILL_AT = 2


@pytest.fixture(scope="module", params=["wsgi", "asgi"])
def nodes(request, fault_world: Services):
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    started = len(fault_world.processes)
    a, b = Node(fault_world, "a", interface=request.param), Node(fault_world, "b", interface=request.param)
    balancer = Balancer(fault_world, [a, b])
    yield fault_world, a, b, balancer
    # The other fault modules share this PostgreSQL and Redis: leave them none of these.
    for process in fault_world.processes[started:]:
        process.stop()


def healthz(url: str) -> tuple[int, dict]:
    request = Request(f"{url}/healthz", headers={"Authorization": f"Bearer {HEALTHZ_TOKEN}"})
    with urlopen(request, timeout=5) as response:
        return response.status, json.loads(response.read())


def hits_through(balancer: Balancer, recipients: list[int], *, fault) -> tuple[Counter, Counter]:
    """HITS pixel hits through nginx over SECONDS, 8 at a time, while `fault`
    runs. Per recipient: the hits answered 200, and those that were not."""
    plan = [recipients[n % len(recipients)] for n in range(HITS)]
    urls = {r: f"{balancer.url}/o/{make_token(r)}.gif" for r in recipients}
    start = time.monotonic()

    def hit(numbered: tuple[int, int]) -> tuple[int, bool]:
        n, recipient = numbered
        time.sleep(max(0.0, start + n * SECONDS / HITS - time.monotonic()))
        try:
            with urlopen(urls[recipient], timeout=30) as response:
                return recipient, response.status == 200 and len(response.read()) == 43
        except OSError:
            return recipient, False

    injector = threading.Thread(target=fault)
    injector.start()
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(hit, enumerate(plan)))
    injector.join(30)
    return Counter(r for r, ok in outcomes if ok), Counter(r for r, ok in outcomes if not ok)


def settle(world: Services, nodes: list[Node], recipients: list[int], *, timeout: float = 60) -> None:
    """Until the stream and every live node's spool are empty and the events stop arriving."""
    client = redis.Redis.from_url(world.redis.url, socket_timeout=2)
    conn = world.postgres.connect()
    last, stable_since, deadline = None, time.monotonic(), time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with conn.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM tracking_openevent WHERE recipient_id = ANY(%s)", [recipients])
                count = cursor.fetchone()[0]
            busy = client.xlen(STREAM) or sum(node.spooled_bytes() for node in nodes)
            if count != last or busy:
                last, stable_since = count, time.monotonic()
            elif time.monotonic() - stable_since > 3:
                return
            time.sleep(0.25)
    finally:
        conn.close()
    raise TimeoutError("the opens did not settle")


def events_of(world: Services, recipients: list[int]) -> dict[int, int]:
    conn = world.postgres.connect()
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT r.id, count(o.id) FROM emails_emailrecipient r "
            "LEFT JOIN tracking_openevent o ON o.recipient_id = r.id WHERE r.id = ANY(%s) GROUP BY r.id",
            [recipients],
        )
        events = dict(cursor.fetchall())
    conn.close()
    return events


def test_a_hit_recorded_by_a_node_that_died_before_answering_counts_once(nodes):
    """The window a SIGKILL rarely hits, every time: node a records each hit
    and its answer is lost (RecordThenDie); nginx retries on node b (its
    backup here), which records the hit again under the key nginx gave the
    request (X-Request-ID, X-Request-Start): one open each."""
    world, a, b, _ = nodes
    dying = RecordThenDie(a)
    balancer = Balancer(world, [], servers=(f"127.0.0.1:{dying.port} max_fails=0", f"127.0.0.1:{b.port} backup"),
                        name="nginx-retry")  # fmt: skip
    try:
        recipients = world.seed(2, 10)
        recorded_before = dying.recorded
        answered = Counter()
        for recipient in recipients:
            with urlopen(f"{balancer.url}/o/{make_token(recipient)}.gif", timeout=10) as response:
                answered[recipient] += response.status == 200 and len(response.read()) == 43
        settle(world, [a, b], recipients)
    finally:
        balancer.process.stop()
        dying.close()
    events = events_of(world, recipients)
    lost = sum(max(0, answered[r] - events[r]) for r in recipients)
    doubled = sum(max(0, events[r] - answered[r]) for r in recipients)
    record_result(f"{a.interface} node records, dies before answering; nginx retries", sum(answered.values()),
                  sum(events.values()), lost, doubled)  # fmt: skip
    assert dying.recorded - recorded_before == len(recipients), (dying.answers, balancer.answered_by())
    assert sum(answered.values()) == len(recipients), "node b answered every hit"
    assert (lost, doubled) == (0, 0)


def test_a_web_node_sigkilled_behind_nginx_loses_and_doubles_no_open(nodes):
    world, a, b, balancer = nodes
    began = time.monotonic()
    for node in (a, b):
        status, report = healthz(node.url)
        assert status == 200 and report["checks"]["database"]["ok"] and report["checks"]["redis"]["ok"]
    recipients = world.seed(10, 10)
    served_before = len(balancer.answered_by())

    def fault() -> None:
        time.sleep(KILL_AT)
        a.kill()

    answered, unanswered = hits_through(balancer, recipients, fault=fault)
    # Node a's recorder died holding entries: b's takes them over once idle (OPEN_RECLAIM_IDLE_MS).
    settle(world, [b], recipients)

    conn = world.postgres.connect()
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT r.id, r.open_count + r.automatic_count, count(o.id), count(DISTINCT o.hit_key), "
            "count(o.id) - count(o.hit_key) FROM emails_emailrecipient r "
            "LEFT JOIN tracking_openevent o ON o.recipient_id = r.id WHERE r.id = ANY(%s) GROUP BY r.id",
            [recipients],
        )
        rows = cursor.fetchall()
        cursor.execute(COUNTERS_DISAGREEING, [recipients, recipients])
        disagreeing = cursor.fetchall()
        cursor.execute(ROLLUP_DISAGREEING)
        rollup_disagreeing = cursor.fetchall()
    conn.close()
    events = {rid: n for rid, _, n, _, _ in rows}
    # A hit answered 200 is recorded once. One that got no GIF (its node died
    # under it) may have been recorded before the node died, or not: the
    # mail client saw an error and the open is uncertain, as a send's is.
    lost = sum(max(0, answered[r] - events[r]) for r in recipients)
    doubled = sum(max(0, events[r] - answered[r] - unanswered[r]) for r in recipients)
    hits = sum(answered.values())
    record_result(f"{a.interface} node SIGKILL behind nginx (2 nodes)", hits, sum(events.values()), lost, doubled)

    served = balancer.answered_by()[served_before:]
    by_node = Counter(entry for entry in served if "," not in entry)
    retried = [entry for entry in served if "," in entry]
    print(f"\nnodes: {dict(by_node)}; retried on the other node: {len(retried)}; "
          f"nginx's errors: {dict(balancer.upstream_errors())}; not answered: {sum(unanswered.values())}; "
          f"{time.monotonic() - began:.1f} s")  # fmt: skip
    assert by_node[f"127.0.0.1:{a.port}"] > 0 and by_node[f"127.0.0.1:{b.port}"] > by_node[f"127.0.0.1:{a.port}"]
    assert hits >= HITS * 0.99, f"only {hits} of {HITS} hits were answered 200"
    assert (lost, doubled) == (0, 0)
    assert all(count == n == distinct and unkeyed == 0 for _, count, n, distinct, unkeyed in rows)
    assert disagreeing == []
    assert rollup_disagreeing == []

    # /healthz per node: the dead one does not answer on its port, the live
    # one answers on its own and behind nginx, its own spool empty.
    with pytest.raises(URLError):
        healthz(a.url)
    for url in (b.url, balancer.url):
        status, report = healthz(url)
        assert status == 200 and report["status"] in {"ok", "degraded"}, report
        assert report["checks"]["database"]["ok"] and report["checks"]["redis"]["ok"]
        assert report["checks"]["open_backlog"]["ok"] and report["checks"]["open_backlog"]["spooled"] == 0
    assert b.web.alive() and b.recorder.alive()
