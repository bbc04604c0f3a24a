"""Write and execute the documentation notebooks (outputs stored in the .ipynb).

Run from the repository root, in an environment with the ``tf`` and ``docs`` extras:

    python docs/build_notebooks.py

The notebook is built from the cells below, so its source lives in reviewable Python.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent

QUICKSTART = [
    (
        "markdown",
        """# lrstats quickstart

Which learning rate? This notebook measures, for a small MLP on real data, the change of the
loss after one optimizer step at 41 learning rates and 200 random subsamples, and then answers
with statistics: intervals, a selected learning rate with its uncertainty, shape fits and a
test for a U shape. It runs on a CPU in seconds.""",
    ),
    (
        "code",
        """import numpy as np

import lrstats
from lrstats.datasets import load_randhie
from lrstats.keras import sample_deltas
from lrstats.keras.models import demo_model

lrstats.set_theme()
data = load_randhie()                       # RAND HIE, shipped with statsmodels, standardized
model = demo_model(data.x.shape[1], seed=0)  # 9 -> 32 -> 32 -> 1, SGD with momentum 0.9
data.description, data.x.shape""",
    ),
    (
        "markdown",
        """## Sample

One row per (replicate, lr): the loss before (`pre`) and after (`post`) one step of the model's
own optimizer. Replicate `r` uses the same rows at every lr: the design is paired. The model is
left exactly as it was.""",
    ),
    (
        "code",
        """before = [v.numpy().copy() for v in model.variables]
frame = sample_deltas(model, data.x, data.y, lrs=lrstats.log_grid(1e-4, 1, 41),
                      replicates=200, batch_size=64, seed=0, progress=False)
unchanged = all(np.array_equal(a, v.numpy()) for a, v in zip(before, model.variables, strict=True))
print(f"{len(frame)} rows; model unchanged: {unchanged}; path: {frame.attrs['path']}")
frame.head()""",
    ),
    (
        "markdown",
        """## Choose, with uncertainty

`select_lr` re-runs the rule on resamples of whole replicates: the interval says how stable
the choice is.""",
    ),
    (
        "code",
        """choice = lrstats.select_lr(frame, rule="ucb", rng=0)
print(f"ucb: lr = {choice.lr:.4g}, 95% interval [{choice.ci_low:.4g}, {choice.ci_high:.4g}]")
lrstats.select_all(frame, rules=["mean", "ucb", "one_se", "penalized", "max_safe"], rng=0)""",
    ),
    (
        "code",
        """summary = lrstats.summarize(frame)  # t intervals
bca = lrstats.summarize(frame, method="bca", n_resamples=2000, rng=0)
selections = [lrstats.select_lr(frame, rule=r, rng=0) for r in ("mean", "one_se", "max_safe")]
summary.plot(selections=selections, bootstrap=bca);""",
    ),
    (
        "markdown",
        """## Paired comparison with the best learning rate

Differences within replicates, Holm-adjusted over the other learning rates.""",
    ),
    (
        "code",
        """comparison = lrstats.compare_to_best(frame)
comparison.to_frame().query("lr > 0.02 and lr < 0.5")""",
    ),
    (
        "markdown",
        """## Shape of the curve

The unimodal fit assumes nothing parametric; the local fit is the one-step model
ΔL(η) ≈ −aη + bη². The U test asks whether the curve falls and then rises over the grid.""",
    ),
    (
        "code",
        """fits = {kind: lrstats.fit_shape(frame, kind=kind, rng=0) for kind in ("unimodal", "local")}
for kind, fit in fits.items():
    print(f"{kind:>9}: optimum lr = {fit.optimum_lr:.4g} [{fit.ci_low:.4g}, {fit.ci_high:.4g}]")
utest = lrstats.u_test(frame)
print(f"U test: statistic {utest.statistic:.3g}, p = {utest.pvalue:.2g}")""",
    ),
    (
        "markdown",
        """## Tables for the paper, and the whole report""",
    ),
    (
        "code",
        """print(choice.to_latex())""",
    ),
    (
        "code",
        """import tempfile
from pathlib import Path

out = Path(tempfile.mkdtemp())
analysis = lrstats.analyse(frame, rng=0)  # every analysis once: print, save, draw it
lrstats.save_results(frame, out / "frame.parquet", results=analysis.results)
index = lrstats.write_report(analysis, out / "report", bundle="../frame.parquet")
sorted(p.name for p in index.parent.iterdir())""",
    ),
]


# TensorFlow's C++ start-up lines and tqdm's notice print to stderr whatever the log level;
# they are noise in a rendered notebook. Anything else on stderr is kept.
NOISE = re.compile(
    r"^(WARNING: All log messages before absl|[IWE]\d{4} \d|To enable the following|"
    r".*TqdmWarning|\s*from \.autonotebook)"
)


def _drop_noise(notebook: nbformat.NotebookNode) -> None:
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.outputs:
            if output.output_type == "stream" and output.name == "stderr":
                lines = [x for x in output.text.splitlines(keepends=True) if not NOISE.match(x)]
                if not "".join(lines).strip():
                    continue
                output.text = "".join(lines)
            kept.append(output)
        cell.outputs = kept


def build(name: str, cells: list[tuple[str, str]]) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for kind, source in cells:
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        notebook.cells.append(make(source))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}
    )
    client.execute()
    _drop_noise(notebook)
    path = HERE / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


if __name__ == "__main__":
    print(build("quickstart", QUICKSTART), file=sys.stderr)
