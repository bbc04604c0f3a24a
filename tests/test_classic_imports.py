"""The classic tools' framework-free modules leave TensorFlow out (house rule 1)."""

import subprocess
import sys

MODULES = [
    "lrstats.schedules",
    "lrstats.inference.range_test",
    "lrstats.inference.diagnostics",
    "lrstats.presentation.classic_plots",
    "lrstats.cli.range_test",
]


def test_classic_modules_do_not_import_tensorflow():
    code = "import importlib, sys\n"
    code += "".join(f"importlib.import_module({m!r})\n" for m in MODULES)
    code += "import lrstats\nlrstats.diagnose\n"
    code += "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))\n"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
