"""Do two recorders record faster than one? (docs/scaling.md: "the first
lever is a second recorder"). The same opens, on one stream, recorded by one
Recorder and then by two side by side (child processes, one consumer group,
started together once each has set Django up), alternately, for two shapes
of the opens: all on one email of 1,000 recipients (pixel_load.py's fresh
email), and spread over many emails of a few recipients each, sent by 10
reps of one organization (a team's everyday sending).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/onepage_bench \\
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/recorders.py \\
    [--hits 20000] [--batch 2000] [--rounds 2] [--emails 500] [--recipients 4]

In a throwaway database and stream (as pixel_load.py). Prints each run's
opens/s (the hits over the time from the first recorder's start to the last
one's end), the CPU the recorders and their PostgreSQL backends spent per
1,000 opens, the ratio two / one per shape, and whether every open was
recorded once (the events equal to the hits, the counters to the events).
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def parent(args) -> None:
    from servers import ROOT, drop_environment, own_environment

    workdir = Path(tempfile.mkdtemp(prefix="onepage-recorders-"))
    env = own_environment(workdir, "recorders")

    def child(*argv) -> dict:
        out = subprocess.run([sys.executable, __file__, "--child", *map(str, argv)], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, text=True, check=True, timeout=600)  # fmt: skip
        return json.loads(out.stdout.strip().splitlines()[-1])

    def recorded_by(recorders: int) -> dict:
        """Start `recorders` children, let them set Django up, then start
        them together; each records until the stream is drained."""
        argv = [sys.executable, __file__, "--child", "record", args.batch]
        procs = [subprocess.Popen([*map(str, argv)], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True) for _ in range(recorders)]  # fmt: skip
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        done = [json.loads(p.communicate(timeout=600)[0].strip().splitlines()[-1]) for p in procs]
        seconds = max(d["ended"] for d in done) - min(d["started"] for d in done)
        return {"seconds": seconds, "recorded": sum(d["recorded"] for d in done),
                "cpu": sum(d["cpu"] for d in done), "database_cpu": sum(d["database_cpu"] for d in done)}  # fmt: skip

    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        # One child: the factories' sequences (users, organizations) are per process.
        seeded = child("seed", 1, 1000, args.emails, args.recipients)["ids"]
        shapes = {
            "one email x 1,000 recipients": seeded[0],
            f"{args.emails} emails x {args.recipients} recipients": seeded[1],
        }
        rows = []
        for shape, ids in shapes.items():
            rates: dict[int, list[float]] = {1: [], 2: []}
            for _ in range(args.rounds):
                for recorders in (1, 2):
                    before = child("check", *ids)["events"]
                    child("put", args.hits, *ids)
                    run = recorded_by(recorders)
                    check = child("check", *ids)
                    rate = args.hits / run["seconds"]
                    rates[recorders].append(rate)
                    print(f"{shape:32} recorders {recorders}: {rate:8,.0f} opens/s, recorded {run['recorded']:,} "
                          f"of {args.hits:,}; new events {check['events'] - before:,}; "
                          f"counters==events {check['agree']}; CPU ms per 1,000 opens: recorders "
                          f"{run['cpu'] * 1e6 / args.hits:.0f}, their PostgreSQL backends "
                          f"{run['database_cpu'] * 1e6 / args.hits:.0f}", flush=True)  # fmt: skip
            rows.append((shape, statistics.median(rates[1]), statistics.median(rates[2])))
        print(f"\n{'shape':32} {'one':>8} {'two':>8} two/one   (opens/s, medians of {args.rounds})")
        for shape, one, two in rows:
            print(f"{shape:32} {one:8,.0f} {two:8,.0f} {two / one:7.2f}")
    finally:
        drop_environment(env, workdir)


def _cpu_seconds(pid: int) -> float:
    """A process's CPU seconds so far (user + system), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_child(command: str, argv: list[str]) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onepage.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from servers import MAIL_CLIENT

    from emails.tests.factories import EmailFactory, EmailRecipientFactory
    from onepage.tests.factories import MembershipFactory, OrganizationFactory
    from tracking import counters, stream
    from tracking.classify import Signals
    from tracking.hits import Open, new_hit_key
    from tracking.recorder import Recorder

    client = stream.client(settings.REDIS_URL)
    if command == "seed":
        shapes = []
        for emails, recipients in zip(argv[::2], argv[1::2], strict=True):
            # One team's emails: one organization, 10 reps sending them.
            organization = OrganizationFactory()
            senders = [MembershipFactory(organization=organization).user for _ in range(min(10, int(emails)))]
            ids = []
            for i in range(int(emails)):
                email = EmailFactory(subject="bench recorders", organization=organization, sender=senders[i % 10])
                ids += [r.pk for r in EmailRecipientFactory.create_batch(int(recipients), email=email)]
            shapes.append(ids)
        print(json.dumps({"ids": shapes}))
    elif command == "put":
        hits, ids = int(argv[0]), [int(a) for a in argv[1:]]
        now, seen = datetime.now(UTC), Signals(**MAIL_CLIENT)
        for start in range(0, hits, 5000):
            with client.pipeline(transaction=False) as pipe:
                for _ in range(min(5000, hits - start)):
                    hit = Open(recipient_id=random.choice(ids), opened_at=now, key=new_hit_key(), signals=seen)
                    pipe.xadd(settings.OPEN_STREAM, stream.entry(hit))
                pipe.execute()
        print(json.dumps({"put": hits}))
    elif command == "record":
        recorder = Recorder(batch_size=int(argv[0]), block_ms=100)
        stream.ensure_group(recorder.client)
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (backend,) = cursor.fetchone()
        print("ready", flush=True)
        sys.stdin.readline()
        started, cpu = time.time(), (time.process_time(), _cpu_seconds(backend))
        while True:
            if recorder.step() == 0 and client.xlen(settings.OPEN_STREAM) == 0:
                break
        ended = time.time()
        recorder.close()
        own, database = time.process_time() - cpu[0], _cpu_seconds(backend) - cpu[1]
        print(json.dumps({"started": started, "ended": ended, "recorded": recorder.recorded,
                          "cpu": own, "database_cpu": database}))  # fmt: skip
    elif command == "check":
        ids = [int(a) for a in argv]
        with connection.cursor() as cursor:
            cursor.execute("SELECT DISTINCT email_id FROM emails_emailrecipient WHERE id = ANY(%s)", [ids])
            emails = [row[0] for row in cursor.fetchall()]
            cursor.execute("SELECT count(*) FROM tracking_openevent WHERE email_id = ANY(%s)", [emails])
            (events,) = cursor.fetchone()
        print(json.dumps({"events": events, "agree": counters.disagreeing(email_ids=emails) == []}))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        run_child(sys.argv[2], sys.argv[3:])
    else:
        parser = argparse.ArgumentParser()
        parser.add_argument("--hits", type=int, default=20_000)
        parser.add_argument("--batch", type=int, default=2000)
        parser.add_argument("--rounds", type=int, default=2)
        parser.add_argument("--emails", type=int, default=500)
        parser.add_argument("--recipients", type=int, default=4)
        parent(parser.parse_args())
