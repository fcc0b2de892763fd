"""The pixel before and after a change, in one run: each tree's own
bench/pixel.py (an earlier commit's and the working tree's), alternately.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/onepage_bench \\
    REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/pixel_compare.py COMMIT [--rounds 5] [--requests 600]

The commit's files are exported (bench/alternate.py). Each round runs
both trees, in alternating order, so that they share the machine's ups and
downs; each run makes its own throwaway database and
stream (see bench/pixel.py). Prints, per kind of request, the median over
the rounds of each run's median before and after, their ratio, and the
drain's rate the same way.
"""

import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path

from alternate import alternate

ROW = re.compile(r"^(\S+)\s+([\d.]+)ms\s+([\d.]+)ms\s+[\d.]+$")
DRAIN = re.compile(r"^drain: .*\(([\d,]+) opens/s\)$")


# Both trees' scripts run with the garbage collector off: a collection landing
# in one tree's drain but not the other's measured as a third of its rate.
LAUNCH = (
    "import gc, runpy, sys; gc.disable(); sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)


def run(tree: Path, requests: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", LAUNCH, str(tree / "bench" / "pixel.py"), str(requests)],
        cwd=tree, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    figures = {}
    for line in out.splitlines():
        if m := ROW.match(line.strip()):
            figures[m[1]] = float(m[2])
        elif m := DRAIN.match(line.strip()):
            figures["drain opens/s"] = float(m[1].replace(",", ""))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("commit")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=600)
    args = parser.parse_args()
    runs = alternate(args.commit, args.rounds, lambda tree: run(tree, args.requests))
    print(f"{args.rounds} rounds of {args.requests} requests per kind; before = {args.commit}, after = working tree")
    print(f"{'':16} {'before':>10} {'after':>10} {'after/before':>13}")
    for name in runs["after"][0]:
        before = statistics.median(r[name] for r in runs["before"] if name in r)
        after = statistics.median(r[name] for r in runs["after"])
        unit = "" if name.startswith("drain") else " ms"
        print(f"{name:16} {before:>8.3f}{unit:3} {after:>8.3f}{unit:3} {after / before:>10.2f}")


if __name__ == "__main__":
    main()
