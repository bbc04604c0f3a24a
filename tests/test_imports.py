"""House rule 1: only lrstats.keras imports TensorFlow."""

import subprocess
import sys
from pathlib import Path

import pytest

import lrstats

_PACKAGE = Path(lrstats.__file__).parent
#: Every module outside lrstats.keras (found on disk, so a new module is covered the day
#: it is added); ``__main__`` runs the command line when imported.
FRAMEWORK_FREE = sorted(
    ".".join(("lrstats", *path.relative_to(_PACKAGE).with_suffix("").parts)).removesuffix(
        ".__init__"
    )
    for path in _PACKAGE.rglob("*.py")
    if path.relative_to(_PACKAGE).parts[0] != "keras" and path.name != "__main__.py"
)

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


def test_the_module_list_covers_every_layer_outside_keras():
    # the walk finds the modules the range test, sweeps and report added
    for module in (
        "lrstats.schedules",
        "lrstats.inference.range_test",
        "lrstats.inference.diagnostics",
        "lrstats.presentation.classic_plots",
        "lrstats.cli.range_test",
        "lrstats.execution",
        "lrstats.io.store",
        "lrstats.inference.levels",
        "lrstats.presentation.sweep_plots",
        "lrstats.cli.sweep",
        "lrstats.presentation.report",
    ):
        assert module in FRAMEWORK_FREE
    assert not [m for m in FRAMEWORK_FREE if m.startswith("lrstats.keras")]


def test_the_check_itself_sees_tensorflow():
    # The probe must be able to fail: importing the Keras layer does load TensorFlow.
    pytest.importorskip("tensorflow")
    assert "tensorflow" in _leaked_after("import lrstats.keras").split(",")


def test_lazy_attribute_error_names_the_attribute():
    import lrstats

    with pytest.raises(AttributeError, match="no_such_thing"):
        lrstats.no_such_thing  # noqa: B018


_ANALYSE = """
import sys
from lrstats.simulate import simulate_frame, simulate_sweep
import lrstats
analysis = lrstats.analyse(simulate_frame(replicates=8, rng=0), n_resamples=20, rng=0)
text = str(analysis); table = analysis.to_frame(); html = analysis._repr_html_()
sweep = lrstats.analyse(simulate_sweep(replicates=3, epochs=2, rng=0), response="val_loss",
                        n_resamples=20, rng=0)
assert analysis["selection_ucb"].lr > 0 and len(sweep.results) > 3
print(",".join(sorted(m for m, module in sys.modules.items()
                      if module is not None
                      and (m.split(".")[0] in ("matplotlib", "seaborn")
                           or m.startswith("lrstats.presentation")))))
"""


def _run(script: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_analyse_imports_neither_matplotlib_nor_seaborn_nor_presentation():
    assert _run(_ANALYSE) == ""


def test_analyse_runs_with_presentation_and_plotting_libraries_unavailable():
    # None in sys.modules makes any import of these fail: analysing must not need them.
    blocked = "import sys\n" + "".join(
        f"sys.modules[{name!r}] = None\n"
        for name in ("matplotlib", "seaborn", "lrstats.presentation")
    )
    assert _run(blocked + _ANALYSE) == ""


def test_the_plotting_probe_itself_can_fail():
    # importing the presentation layer does load matplotlib and seaborn
    listed = _run(
        "import sys\nimport lrstats.presentation\n"
        "print(','.join(sorted(m for m in ('matplotlib', 'seaborn') if m in sys.modules)))"
    )
    assert listed == "matplotlib,seaborn"
