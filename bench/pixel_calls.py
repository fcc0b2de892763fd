"""A stream pixel's two costly calls timed in-process, one thread, CPU time
per call (which a busy machine disturbs less than wrk's rates): the token
check (emails.pixels.read_token) and the stream append with the rate limit
(tracking.stream.append, on the thread's kept connection, tracking.kept),
beside the same script through redis-py's pool (as before issue 23's
second pass). With --no-hiredis, redis-py's Python parser and packer.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/onepage_bench \\
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/pixel_calls.py [--no-hiredis] [-n 20000]

Appends to a throwaway stream (deleted at the end); touches no database.
"""

import argparse
import os
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("--no-hiredis", action="store_true")
    args = parser.parse_args()
    if args.no_hiredis:
        sys.modules["hiredis"] = None  # redis-py then uses its Python parser and packer
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from urllib.parse import urlparse

    from servers import LOCAL

    if urlparse(os.environ.get("REDIS_URL", "")).hostname != LOCAL:
        sys.exit(f"REDIS_URL must be on {LOCAL}")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onepage.settings")
    import django

    django.setup()
    import redis.utils
    from django.conf import settings
    from django.utils import timezone

    from emails.pixels import make_token, read_token
    from tracking import ratelimit, stream
    from tracking.classify import Signals
    from tracking.hits import Open, new_hit_key

    settings.OPEN_STREAM = f"bench:calls:{os.getpid()}"
    settings.OPENS_PER_RECIPIENT_PER_MINUTE = 10**9
    url = settings.REDIS_URL
    seen = Signals(address="203.0.113.7", user_agent="Mozilla/5.0 (Windows NT 10.0) Chrome/120", prefetch=False)

    def hit(i: int) -> tuple[Open, str]:
        now = timezone.now()
        return Open(recipient_id=1000 + i % 1000, opened_at=now, key=new_hit_key(), signals=seen), ratelimit.limit_key(
            1000 + i % 1000, now.timestamp()
        )

    def kept(i: int) -> str:
        h, limit_key = hit(i)
        return stream.append(url, h, limit_key=limit_key)

    def pooled(i: int) -> str:
        h, limit_key = hit(i)
        fields = [settings.OPEN_STREAM_LIMIT, *stream.entry_fields(h), settings.OPENS_PER_RECIPIENT_PER_MINUTE]
        return stream._append_script(url)(keys=[settings.OPEN_STREAM, limit_key], args=fields)

    token = make_token(123456)
    calls = {
        "read_token, valid": lambda i: read_token(token),
        "read_token, forged": lambda i: read_token(token[:-4] + "AAAA"),
        "append, kept connection": kept,
        "append, redis-py's pool": pooled,
    }
    print(f"hiredis: {redis.utils.HIREDIS_AVAILABLE}; CPU us per call (wall us), {args.n:,} calls each")
    try:
        for name, call in calls.items():
            for i in range(args.n // 10):
                call(i)  # warm up
            cpu, wall = time.process_time(), time.perf_counter()
            for i in range(args.n):
                call(i)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            print(f"  {name:26} {cpu * 1e6 / args.n:7.1f} ({wall * 1e6 / args.n:.1f})")
    finally:
        stream.client(url).delete(settings.OPEN_STREAM)


if __name__ == "__main__":
    main()
