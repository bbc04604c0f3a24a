"""The benchmark scripts stay runnable: each parses its options and prints its usage.

Running them is what ``benchmarks/`` is for (minutes, side by side with the competitors);
here only ``--help``, which exits before any TensorFlow or data work, so a renamed import,
a syntax error or a broken option in a script fails the suite instead of the next person
who runs it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(
    path for path in BENCHMARKS.glob("*.py") if "argparse" in path.read_text(encoding="utf-8")
)


def test_the_scripts_with_options_are_found():
    names = {path.name for path in SCRIPTS}
    assert {"bench_sampler.py", "bench_lookahead.py", "bench_sweep.py"} <= names
    assert {"batch_size_map.py", "selection_quality.py"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_help_parses_and_exits_cleanly(script):
    done = subprocess.run(
        [sys.executable, str(script), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=BENCHMARKS.parent,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:")
