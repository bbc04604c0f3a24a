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
    return " ".join(shlex.quote(part) for part in ["lrstats", *sys.argv[1:]])


def analyse_and_print(frame: Any, *, n_resamples: int, seed: int, out: Any = None) -> Any:
    """Run the report's analyses once and print the per-lr summary and the selections.

    Returns the :class:`~lrstats.presentation.report.Analysis`, which is then saved with
    the frame and drawn by the report: what is printed is what is stored and shown.
    """
    import numpy as np
    import pandas as pd

    from lrstats.presentation.report import analyse

    out = out or sys.stdout
    analysis = analyse(frame, rng=seed, n_resamples=n_resamples)
    t_table = analysis.summary.to_frame()
    if analysis.bootstrap is not None:
        bca_table = analysis.bootstrap.to_frame()
    else:  # the BCa summary could not run; its reason is in analysis.unavailable
        bca_table = t_table.assign(ci_low=np.nan, ci_high=np.nan)

    def interval(low: pd.Series, high: pd.Series) -> list[str]:
        return [f"[{lo:+.4g}, {hi:+.4g}]" for lo, hi in zip(low, high, strict=True)]

    shown = pd.DataFrame(
        {
            "lr": [f"{lr:.3g}" for lr in t_table["lr"]],
            "n": t_table["n"],
            "non-finite": t_table["n_nonfinite"],
            "mean ΔL": [f"{m:+.4g}" for m in t_table["mean"]],
            "95% t interval": interval(t_table["ci_low"], t_table["ci_high"]),
            "95% BCa interval": interval(bca_table["ci_low"], bca_table["ci_high"]),
            "P(ΔL<0)": [f"{p:.2f}" for p in t_table["p_decrease"]],
        }
    )
    print(
        "Change of loss after one step, ΔL = post − pre, per learning rate "
        f"(BCa: {n_resamples} replicate resamples):",
        file=out,
    )
    print(shown.to_string(index=False), file=out)
    finite = t_table[t_table["n_nonfinite"] == 0]
    if len(finite):
        best = finite.loc[finite["mean"].idxmin()]
        print(
            f"\nLowest mean ΔL: lr = {best['lr']:.4g} (mean {best['mean']:+.4g}, "
            f"95% t interval [{best['ci_low']:+.4g}, {best['ci_high']:+.4g}])",
            file=out,
        )
    diverging = t_table.loc[t_table["n_nonfinite"] > 0, "lr"]
    if len(diverging):
        print(f"Diverging (non-finite losses) from lr = {diverging.min():.3g}", file=out)

    print(
        "\nSelected learning rates, with 95% bootstrap intervals over "
        f"{n_resamples} replicate resamples:",
        file=out,
    )
    for rule, selection in analysis.selections.items():
        if np.isfinite(selection.lr):
            print(
                f"  {rule:<10} lr = {selection.lr:<10.4g} "
                f"[{selection.ci_low:.4g}, {selection.ci_high:.4g}]",
                file=out,
            )
        else:
            print(f"  {rule:<10} no learning rate qualifies", file=out)
    for reason in analysis.unavailable:
        print(f"  not available: {reason}", file=out)
    return analysis


def save_and_report(
    frame: Any, analysis: Any, out_dir: Path, *, report: bool, out: Any = None
) -> None:
    """Write the frame with the analysis' results, and the report drawn from the same analysis."""
    from lrstats.io import save_results

    out = out or sys.stdout
    out_dir.mkdir(parents=True, exist_ok=True)
    path = save_results(
        frame, out_dir / "frame.parquet", results=analysis.results(), command=command_line()
    )
    print(f"\nFrame and results written to {path}", file=out)
    if report:
        from lrstats.presentation import write_report

        index = write_report(frame, out_dir / "report", analysis=analysis, command=command_line())
        print(f"Report written to {index}", file=out)
