"""House rule 1: only lrstats.keras imports TensorFlow."""

import subprocess
import sys

import pytest

FRAMEWORK_FREE = [
    "lrstats",
    "lrstats.grid",
    "lrstats.simulate",
    "lrstats.datasets",
    "lrstats.inference",
    "lrstats.presentation",
    "lrstats.io",
    "lrstats.cli",
    "lrstats.cli.demo",
    "lrstats.cli.sample",
]

LEAKED = "sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras'))"


def _leaked_after(code: str) -> str:
    script = f"import sys\n{code}\nprint(','.join({LEAKED}))\n"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_framework_free_modules_and_every_top_level_name_leave_tensorflow_out():
    # One interpreter for all modules (each import costs seconds): import everything,
    # resolve every lazy top-level name, then look at sys.modules.
    code = "import importlib\n"
    code += "".join(f"importlib.import_module({m!r})\n" for m in FRAMEWORK_FREE)
    code += "import lrstats\nfor name in lrstats.__all__:\n    getattr(lrstats, name)\n"
    assert _leaked_after(code) == ""


def test_the_check_itself_sees_tensorflow():
    # The probe must be able to fail: importing the Keras layer does load TensorFlow.
    pytest.importorskip("tensorflow")
    assert "tensorflow" in _leaked_after("import lrstats.keras").split(",")


def test_lazy_attribute_error_names_the_attribute():
    import lrstats

    with pytest.raises(AttributeError, match="no_such_thing"):
        lrstats.no_such_thing  # noqa: B018
