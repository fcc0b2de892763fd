"""Before and after a change in one run: an earlier commit's tree (exported
with git archive to a temporary directory) and the working tree, measured
alternately, round after round, so that both share the machine's ups and
downs. Used by pixel_compare.py and reports_compare.py."""

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def alternate(
    commit: str, rounds: int, measure: Callable[[Path], T], *, prepare: Callable[[Path], None] | None = None
) -> dict[str, list[T]]:
    """{"before": [...], "after": [...]}: measure(tree) per tree and round,
    the order flipped every round. `prepare(tree)` may adjust the export."""
    workdir = Path(tempfile.mkdtemp(prefix="onepage-compare-"))
    try:
        before = workdir / "before"
        before.mkdir()
        archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
        if prepare is not None:
            prepare(before)
        runs: dict[str, list[T]] = {"before": [], "after": []}
        for round_ in range(rounds):
            for which in ("before", "after") if round_ % 2 == 0 else ("after", "before"):
                runs[which].append(measure(before if which == "before" else ROOT))
                print(f"round {round_ + 1}: {which} done", flush=True)
        return runs
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
