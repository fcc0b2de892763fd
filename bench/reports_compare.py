"""The report pages before and after a change, in one run: bench/reports.py
on an earlier commit's code and on the working tree's, alternately.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/onepage_bench \\
        .venv/bin/python bench/reports_compare.py COMMIT [--rounds 3] [--repetitions 10]

The commit's files are exported (git archive) to a temporary directory; the
working tree's bench/reports.py and bench/report_data.py measure both, on
the same database (filled once, by the first run), in --rounds alternating
runs of --repetitions requests per page, so that both share the machine's
ups and downs. Prints, per page of the big organization, the median of all
requests before and after and their ratio, for the time, the database part
and this process's CPU.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from alternate import ROOT, alternate


def _with_our_scripts(tree: Path) -> None:
    # The working tree's scripts measure both trees.
    for name in ("reports.py", "report_data.py"):
        shutil.copy(ROOT / "bench" / name, tree / "bench" / name)


def run(tree: Path, repetitions: int, out: Path) -> list[dict]:
    subprocess.run(
        [sys.executable, str(tree / "bench" / "reports.py"), str(repetitions), "--json", str(out)],
        cwd=tree, env=os.environ, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("commit")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repetitions", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="onepage-reports-compare-") as out:
        outputs = (Path(out) / f"{n}.json" for n in range(2 * args.rounds))
        runs = alternate(
            args.commit, args.rounds, lambda tree: run(tree, args.repetitions, next(outputs)), prepare=_with_our_scripts
        )
    report(runs, args)


def report(runs: dict[str, list[list[dict]]], args) -> None:
    def merged(which: str, label: str, org: str, key: str) -> tuple[float, int]:
        pages = [p for run_ in runs[which] for p in run_ if p["label"] == label and p["org"] == org]
        return statistics.median(t for p in pages for t in p[key]) * 1000, pages[0]["queries"]

    labels = [p["label"] for p in runs["after"][0] if p["org"] == "big"]
    requests = args.rounds * args.repetitions
    print(f"\nBig organization, median of {requests} requests each, before ({args.commit[:10]}) and after:\n")
    header = (
        f"{'page':44} {'queries':>9} {'ms before':>9} {'after':>7} {'ratio':>6} {'db before':>9} {'after':>6}"
        f" {'cpu before':>10} {'after':>6} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for label in labels:
        (t0, q0), (t1, q1) = merged("before", label, "big", "times"), merged("after", label, "big", "times")
        (d0, _), (d1, _) = merged("before", label, "big", "db_times"), merged("after", label, "big", "db_times")
        (c0, _), (c1, _) = merged("before", label, "big", "cpu_times"), merged("after", label, "big", "cpu_times")
        print(
            f"{label:44} {f'{q0} -> {q1}':>9} {t0:>9.1f} {t1:>7.1f} {t1 / t0:>6.2f} {d0:>9.1f} {d1:>6.1f}"
            f" {c0:>10.1f} {c1:>6.1f} {c1 / c0:>6.2f}"
        )


if __name__ == "__main__":
    main()
