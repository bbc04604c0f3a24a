"""Regenerate every figure and table that the README and the documentation show.

Run from the repository root, with the ``tf`` extra installed::

    python docs/make_figures.py            # rewrite docs/figures/ from nothing
    python docs/make_figures.py --check    # build twice in temporary directories and
                                           # compare every file's hash with the other
                                           # build and with docs/figures/

Everything comes from one run of the demo's analysis (the MLP of ``lrstats demo`` on the
embedded RAND HIE data, seed 0, 200 replicates × 41 learning rates, 2,000 bootstrap
resamples): the sampler and every resampling are seeded, and the report writes its figures
without dates or random ids, so a rerun gives byte-identical files on the same platform and
library versions. Figures drawn inside the notebooks are made when the docs are built and
are not listed here.

Outputs (``docs/figures/``):

``demo_delta_curve.png``
    The README's figure: the report's ΔL curve with the rules' selections.
``demo_shape.png``
    The report's shape fits (the explanation page).
``demo_selections.md``, ``demo_shape.md``, ``demo_utest.md``
    The report's tables of the selections, the shape fits and the U test, in Markdown
    (the explanation page includes them).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

FIGURES = Path(__file__).resolve().parent / "figures"

# report file -> published name
OUTPUTS = {
    "figures/delta_curve.png": "demo_delta_curve.png",
    "figures/shape.png": "demo_shape.png",
    "tables/selection.md": "demo_selections.md",
    "tables/shape.md": "demo_shape.md",
    "tables/utest.md": "demo_utest.md",
}
SEED = 0


def build(out: Path) -> list[Path]:
    """Run the demo's sampling and analysis and write the published files into ``out``."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import lrstats
    from lrstats.datasets import load_randhie
    from lrstats.keras import sample_deltas
    from lrstats.keras.models import demo_model

    data = load_randhie()
    model = demo_model(data.x.shape[1], seed=SEED)
    frame = sample_deltas(
        model,
        data.x,
        data.y,
        lrs=lrstats.log_grid(1e-4, 1, 41),
        replicates=200,
        batch_size=64,
        seed=SEED,
        progress=False,
    )
    frame.attrs["dataset"] = data.description
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report"
        analysis = lrstats.analyse(frame, rng=SEED, n_resamples=2000)
        lrstats.write_report(analysis, report, formats=("png",))
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for source, name in OUTPUTS.items():
            shutil.copyfile(report / source, out / name)
            written.append(out / name)
    return written


def _hashes(directory: Path) -> dict[str, str]:
    return {
        name: hashlib.sha256((directory / name).read_bytes()).hexdigest()
        for name in OUTPUTS.values()
        if (directory / name).exists()
    }


def check() -> int:
    """Build twice from nothing; report any file whose bytes differ. Returns the exit code."""
    with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
        build(Path(first))
        build(Path(second))
        runs = _hashes(Path(first)), _hashes(Path(second))
    committed = _hashes(FIGURES)
    status = 0
    for name, digest in runs[0].items():
        rerun = "identical" if runs[1][name] == digest else "DIFFERS"
        stored = "matches" if committed.get(name) == digest else "DIFFERS from"
        print(f"{name}: rerun {rerun}; {stored} docs/figures ({digest[:12]})")
        if rerun != "identical":
            status = 1
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="build twice in temporary directories and compare hashes instead of writing",
    )
    args = parser.parse_args(argv)
    if args.check:
        return check()
    if FIGURES.exists():
        for name in OUTPUTS.values():
            (FIGURES / name).unlink(missing_ok=True)
    for path in build(FIGURES):
        print(path, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
