"""Opens under faults: thousands of real pixel hits against the web server,
recorded by the recorder process, while Redis, PostgreSQL or the recorder
fail. Every hit answered 200 must be recorded exactly once, and the counters
must equal the events, recipient by recipient.

The pixel has two lanes, and each fault is run through both: the web
process's (WSGI: a thread per request, each with its own Redis round trip)
and the live process's (granian ASGI, where nginx sends /o/ in production:
the appends of concurrent hits pipelined in one round trip, the database
fallback in a thread). A batch that fails fails every hit in it at once, and
a batch Redis may have run is sent again: what the second lane must not turn
into a lost or a doubled open."""

import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.request import urlopen

import pytest
import redis

from emails.pixels import make_token

from .conftest import record_result
from .processes import Process, Services, wait_for

HITS = 2000
RECIPIENTS = 100  # 10 emails of 10 recipients per scenario
STREAM = "onepage:opens"


# The pixel's lanes: the web process (WSGI) and the live process (ASGI).
LANES = ["web", "asgi"]
PROCESS = {"web": "web", "asgi": "live"}
# Appended to the scenario's name in the fault table.
SUFFIX = {"web": "", "asgi": " (ASGI lane)"}


@pytest.fixture(scope="module")
def world(fault_world: Services):
    fault_world.web()
    fault_world.live()
    fault_world.recorder()
    yield fault_world
    # The send scenarios share this PostgreSQL: leave them no web, live or recorder.
    for process in fault_world.processes:
        if process.name in {"web", "live", "recorder"}:
            process.stop()


def latest(world: Services, name: str) -> Process:
    """The process of that name started last (a scenario may restart one)."""
    return next(p for p in reversed(world.processes) if p.name == name)


def port_of(world: Services, lane: str) -> int:
    return world.web_port if lane == "web" else world.live_port


def send_hits(
    world: Services, recipients: list[int], *, seconds: float, fault: Callable[[], None], port: int | None = None
) -> Counter:
    """HITS pixel hits spread over `seconds`, 8 at a time, while `fault` runs
    in a thread, to the process on `port` (the web process's by default).
    Returns, per recipient, the hits answered 200."""
    plan = [recipients[n % len(recipients)] for n in range(HITS)]
    port = port or world.web_port
    urls = {r: f"http://127.0.0.1:{port}/o/{make_token(r)}.gif" for r in recipients}
    start = time.monotonic()

    def hit(numbered: tuple[int, int]) -> tuple[int, int | None]:
        n, recipient = numbered
        time.sleep(max(0.0, start + n * seconds / HITS - time.monotonic()))
        try:
            with urlopen(urls[recipient], timeout=30) as response:
                response.read()
                return recipient, response.status
        except Exception:
            return recipient, None

    injector = threading.Thread(target=fault)
    injector.start()
    with ThreadPoolExecutor(8) as pool:
        answered = Counter(r for r, status in pool.map(hit, enumerate(plan)) if status == 200)
    injector.join(60)
    return answered


def settle(world: Services, recipients: list[int], *, timeout: float = 90) -> None:
    """Wait until the stream and the spool are empty and the events stop arriving."""
    client = redis.Redis.from_url(world.redis.url, socket_timeout=2)
    conn = world.postgres.connect()
    last, stable_since = None, time.monotonic()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with conn.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM tracking_openevent WHERE recipient_id = ANY(%s)", [recipients])
                count = cursor.fetchone()[0]
            spooled = sum(p.stat().st_size for p in world.spool.glob("opens*")) if world.spool.exists() else 0
            busy = client.xlen(STREAM) or spooled
            if count != last or busy:
                last, stable_since = count, time.monotonic()
            elif time.monotonic() - stable_since > 2:
                return
            time.sleep(0.25)
    finally:
        conn.close()
    raise TimeoutError("the opens did not settle")


# People's opens (verdicts human and proxy) make open_count, first and last;
# the rest (repeats, early fetches...) automatic_count: as recount_opens says.
COUNTERS_DISAGREEING = """
SELECT 'recipient', r.id FROM emails_emailrecipient r
LEFT JOIN (SELECT recipient_id, count(*) FILTER (WHERE verdict IN ('human', 'proxy')) n,
                  min(opened_at) FILTER (WHERE verdict IN ('human', 'proxy')) f,
                  max(opened_at) FILTER (WHERE verdict IN ('human', 'proxy')) l,
                  count(*) FILTER (WHERE verdict NOT IN ('human', 'proxy')) a
           FROM tracking_openevent GROUP BY recipient_id) o ON o.recipient_id = r.id
WHERE r.id = ANY(%s) AND (r.open_count, r.first_opened_at, r.last_opened_at, r.automatic_count)
      IS DISTINCT FROM (coalesce(o.n, 0), o.f, o.l, coalesce(o.a, 0))
UNION ALL
SELECT 'email', e.id FROM emails_email e
LEFT JOIN (SELECT email_id, count(*) FILTER (WHERE verdict IN ('human', 'proxy')) n,
                  min(opened_at) FILTER (WHERE verdict IN ('human', 'proxy')) f,
                  max(opened_at) FILTER (WHERE verdict IN ('human', 'proxy')) l,
                  count(*) FILTER (WHERE verdict NOT IN ('human', 'proxy')) a
           FROM tracking_openevent GROUP BY email_id) o ON o.email_id = e.id
WHERE e.id IN (SELECT email_id FROM emails_emailrecipient WHERE id = ANY(%s))
      AND (e.open_count, e.first_opened_at, e.last_opened_at, e.automatic_count)
      IS DISTINCT FROM (coalesce(o.n, 0), o.f, o.l, coalesce(o.a, 0))
"""


# The team's rollup (Reports: emails.rollup) agrees with the emails: per
# sender, the tracked emails sent, those a person opened, every fetch.
ROLLUP_DISAGREEING = """
SELECT coalesce(e.sender_id, w.sender_id) FROM
  (SELECT sender_id, count(*) AS sent, count(*) FILTER (WHERE open_count > 0) AS opened,
          sum(open_count + automatic_count) AS fetches
   FROM emails_email WHERE status = 'sent' AND direction = 'outgoing' AND track_opens GROUP BY sender_id) e
  FULL JOIN (SELECT sender_id, sum(sent) AS sent, sum(opened) AS opened, sum(fetches) AS fetches
             FROM emails_outreachweek GROUP BY sender_id) w ON w.sender_id = e.sender_id
WHERE (e.sent, e.opened, e.fetches) IS DISTINCT FROM (w.sent, w.opened, w.fetches)
"""


def assert_counted_once(world: Services, scenario: str, recipients: list[int], answered: Counter) -> None:
    settle(world, recipients)
    conn = world.postgres.connect()
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT r.id, r.open_count + r.automatic_count, count(o.id), count(DISTINCT o.hit_key), "
            "count(o.id) - count(o.hit_key) "
            "FROM emails_emailrecipient r LEFT JOIN tracking_openevent o ON o.recipient_id = r.id "
            "WHERE r.id = ANY(%s) GROUP BY r.id",
            [recipients],
        )
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT e.id, e.open_count + e.automatic_count, "
            "(SELECT count(*) FROM tracking_openevent o WHERE o.email_id = e.id) "
            "FROM emails_email e WHERE e.id IN (SELECT email_id FROM emails_emailrecipient WHERE id = ANY(%s))",
            [recipients],
        )
        emails = cursor.fetchall()
        # Every counter (count, first, last) of the recipients and their
        # emails is what a recount from the events (recount_opens) would say.
        cursor.execute(COUNTERS_DISAGREEING, [recipients, recipients])
        disagreeing = cursor.fetchall()
        cursor.execute(ROLLUP_DISAGREEING)
        rollup_disagreeing = cursor.fetchall()
    conn.close()
    events = {rid: n for rid, _, n, _, _ in rows}
    lost = sum(max(0, answered[r] - events[r]) for r in recipients)
    doubled = sum(max(0, events[r] - answered[r]) for r in recipients)
    hits = sum(answered.values())
    record_result(scenario, hits, sum(events.values()), lost, doubled)

    assert hits >= HITS * 0.99, f"only {hits} of {HITS} hits were answered 200"
    assert (lost, doubled) == (0, 0)
    assert all(count == n == distinct and unkeyed == 0 for _, count, n, distinct, unkeyed in rows)
    assert all(count == n for _, count, n in emails)
    assert disagreeing == []
    assert rollup_disagreeing == []


def at(seconds: float, action: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        time.sleep(seconds)
        action()

    return run


@pytest.mark.parametrize("lane", LANES)
def test_redis_sigkilled_and_restarted_with_aof_loses_no_open(world, lane):
    recipients = world.seed(10, 10)

    def fault() -> None:
        time.sleep(1.5)
        world.redis.kill()
        time.sleep(1)
        world.redis.start()

    pixel = latest(world, PROCESS[lane])
    log_before = len(pixel.log())
    answered = send_hits(world, recipients, seconds=6, fault=fault, port=port_of(world, lane))
    assert_counted_once(world, "Redis SIGKILL + restart (AOF everysec)" + SUFFIX[lane], recipients, answered)
    assert "Open stream unavailable" in pixel.log()[log_before:], "the fault reached the pixel"
    assert latest(world, "recorder").alive(), "the recorder rides out a Redis restart"


@pytest.mark.parametrize("lane", LANES)
def test_redis_frozen_3s_doubles_no_open(world, lane):
    recipients = world.seed(10, 10)

    def fault() -> None:
        time.sleep(1)
        world.redis.signal(signal.SIGSTOP)
        time.sleep(3)
        world.redis.signal(signal.SIGCONT)

    pixel = latest(world, PROCESS[lane])
    log_before = len(pixel.log())
    answered = send_hits(world, recipients, seconds=6, fault=fault, port=port_of(world, lane))
    assert_counted_once(world, "Redis SIGSTOP 3 s" + SUFFIX[lane], recipients, answered)
    assert "Timeout" in pixel.log()[log_before:], "the pixel's XADD timed out and wrote directly"


def test_a_recorder_sigkilled_mid_batch_loses_and_doubles_nothing(world):
    recipients = world.seed(10, 10)

    def fault() -> None:
        # As a supervisor would: a new recorder at once; the dead one's
        # pending entries are taken over once idle (OPEN_RECLAIM_IDLE_MS).
        for _ in range(3):
            time.sleep(1)
            recorder = next(p for p in reversed(world.processes) if p.name == "recorder" and p.alive())
            recorder.kill()
            world.recorder()

    answered = send_hits(world, recipients, seconds=6, fault=fault)
    assert_counted_once(world, "recorder SIGKILL mid-batch (x3)", recipients, answered)


@pytest.mark.parametrize("lane", LANES)
def test_postgresql_stopped_10s_loses_no_open(world, lane):
    recipients = world.seed(10, 10)

    def fault() -> None:
        time.sleep(1)
        world.postgres.stop()
        time.sleep(10)
        world.postgres.start()

    recorder = next(p for p in reversed(world.processes) if p.name == "recorder" and p.alive())
    log_before = len(recorder.log())
    answered = send_hits(world, recipients, seconds=13, fault=fault, port=port_of(world, lane))
    assert_counted_once(world, "PostgreSQL stopped 10 s" + SUFFIX[lane], recipients, answered)
    outage_log = recorder.log()[log_before:]
    assert "Recorder: the database unavailable" in outage_log and "Recorder: recording again" in outage_log
    assert "Traceback" not in outage_log


@pytest.mark.parametrize("lane", LANES)
def test_postgresql_and_redis_down_10s_spool_and_replay(world, lane):
    recipients = world.seed(10, 10)

    def fault() -> None:
        time.sleep(1)
        world.redis.kill()
        world.postgres.stop()
        time.sleep(10)
        world.postgres.start()
        world.redis.start()

    pixel = latest(world, PROCESS[lane])
    log_before = len(pixel.log())
    answered = send_hits(world, recipients, seconds=13, fault=fault, port=port_of(world, lane))
    assert_counted_once(world, "PostgreSQL and Redis both down 10 s" + SUFFIX[lane], recipients, answered)
    outage_log = pixel.log()[log_before:]
    # One warning per outage (the live process: per worker, of which it has
    # two), not a traceback per open.
    assert "Traceback" not in outage_log
    assert 1 <= outage_log.count("Neither Redis nor the database can record opens") <= 3


@pytest.mark.parametrize("lane", LANES)
def test_a_backlog_past_the_limit_goes_to_the_direct_write(world, lane):
    recipients = world.seed(10, 10)
    name = PROCESS[lane]
    for process in world.processes:
        if process.name in {name, "recorder"} and process.alive():
            assert process.stop() == 0 or process.name == name
    # The pixel's process again, with the lower limit.
    pixel = world.web(OPEN_STREAM_LIMIT="500") if lane == "web" else world.live(OPEN_STREAM_LIMIT="500")
    client = redis.Redis.from_url(world.redis.url)
    wait_for(lambda: client.xlen(STREAM) == 0 or None, timeout=5, what="an empty stream")

    answered = send_hits(world, recipients, seconds=5, fault=lambda: None, port=port_of(world, lane))

    # Never trimmed: the 500 waiting are all there; the rest went to the database.
    assert client.xlen(STREAM) == 500
    assert 1 <= pixel.log().count("undrained opens (OPEN_STREAM_LIMIT)") <= 3
    world.recorder()
    scenario = "backlog past OPEN_STREAM_LIMIT=500, no recorder" + SUFFIX[lane]
    assert_counted_once(world, scenario, recipients, answered)
