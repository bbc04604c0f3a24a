"""The sweep's framework-free modules import without TensorFlow (house rule 1)."""

import subprocess
import sys

MODULES = [
    "lrstats.execution",
    "lrstats.io.store",
    "lrstats.inference.levels",
    "lrstats.presentation.sweep_plots",
    "lrstats.cli.sweep",
]


def test_sweep_modules_leave_tensorflow_out():
    script = "import importlib, sys\n"
    script += "".join(f"importlib.import_module({m!r})\n" for m in MODULES)
    script += "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
