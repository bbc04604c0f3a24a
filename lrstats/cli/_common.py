"""Pieces shared by the sampling commands: grid options, the printed analysis, saving."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any


def add_sampling_options(
    parser: argparse.ArgumentParser, *, replicates: int, batch_size: int
) -> None:
    group = parser.add_argument_group("sampling")
    group.add_argument(
        "--lr-min", type=float, default=1e-4, help="smallest learning rate (default 1e-4)"
    )
    group.add_argument(
        "--lr-max", type=float, default=1.0, help="largest learning rate (default 1)"
    )
    group.add_argument(
        "--num-lrs", type=int, default=41, help="log-spaced grid points (default 41)"
    )
    group.add_argument(
        "--replicates",
        type=int,
        default=replicates,
        help=f"random subsamples (default {replicates})",
    )
    group.add_argument(
        "--batch-size",
        type=int,
        default=batch_size,
        help=f"rows per subsample (default {batch_size})",
    )
    group.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    group.add_argument(
        "--evaluate",
        choices=("same", "fresh"),
        default="same",
        help="measure the loss on the gradient subsample or on a fresh one (default same)",
    )
    group.add_argument(
        "--n-resamples", type=int, default=2000, help="bootstrap resamples (default 2000)"
    )
    group.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def command_line() -> str:
    """The command line of this process, as recorded in every bundle the CLI writes.

    The one place the CLI spells its command: ``lrstats`` and the arguments, shell-quoted.
    """
    return shlex.join(["lrstats", *sys.argv[1:]])


def analyse_and_print(
    frame: Any,
    *,
    n_resamples: int,
    seed: int,
    response: str = "delta",
    goal: str = "minimize",
    at: Any = "final",
    by: Any = None,
    confidence_level: float = 0.95,
    out: Any = None,
) -> Any:
    """Run :func:`lrstats.analyse` once and print its summary.

    Returns the :class:`~lrstats.inference.Analysis`, which is then saved with the frame
    and drawn by the report: what is printed is what is stored and shown.
    """
    from lrstats.inference import analyse

    out = out or sys.stdout
    analysis = analyse(
        frame,
        response=response,
        goal=goal,
        at=at,
        by=by,
        confidence_level=confidence_level,
        n_resamples=n_resamples,
        rng=seed,
    )
    print(analysis.summary(), file=out)
    return analysis


def save_and_report(
    frame: Any,
    analysis: Any,
    out_dir: Path,
    *,
    report: bool,
    bundle_name: str = "frame.parquet",
    report_dir: str = "report",
    formats: tuple[str, ...] = ("png", "svg"),
    out: Any = None,
    extra: Any = None,
) -> Path | None:
    """Write the bundle (frame, provenance, results) once, then the report drawn from the analysis.

    ``extra`` (names to results computed beside the analysis, e.g. a recommendation) is
    handed to ``write_report``. Returns the path of the report's ``index.html`` (None
    without a report).
    """
    import os

    from lrstats.io import save_results

    out = out or sys.stdout
    out_dir.mkdir(parents=True, exist_ok=True)
    path = save_results(
        frame, out_dir / bundle_name, results=analysis.results, command=command_line()
    )
    print(f"\nFrame and results written to {path}", file=out)
    if not report:
        return None
    from lrstats.presentation.report import write_report

    target = out_dir / report_dir
    index = write_report(
        analysis,
        target,
        formats=formats,
        bundle=Path(os.path.relpath(path, target)).as_posix(),
        extra=extra or None,
    )
    print(f"Report written to {index}", file=out)
    return index
