"""House rule 1: only lrstats.keras imports TensorFlow."""

import subprocess
import sys

import pytest

FRAMEWORK_FREE = [
    "lrstats",
    "lrstats.grid",
    "lrstats.inference",
    "lrstats.presentation",
    "lrstats.io",
    "lrstats.cli",
]


@pytest.mark.parametrize("module", FRAMEWORK_FREE)
def test_module_does_not_import_tensorflow(module):
    code = (
        "import importlib, sys\n"
        f"importlib.import_module({module!r})\n"
        "import lrstats\n"
        "for name in lrstats.__all__:\n"
        "    if name not in ('write_report',):\n"
        "        getattr(lrstats, name)\n"
        "leaked = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras'))\n"
        "print(','.join(leaked))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{module} imported {result.stdout.strip()}"


def test_lazy_attribute_error_names_the_attribute():
    import lrstats

    with pytest.raises(AttributeError, match="no_such_thing"):
        lrstats.no_such_thing  # noqa: B018
