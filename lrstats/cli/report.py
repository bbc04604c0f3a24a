"""``lrstats report FRAME.parquet --out DIR``: analyse a saved frame, print, save, draw."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``report`` sub-command."""
    parser = subparsers.add_parser(
        "report",
        help="write the figures, tables and an HTML/Markdown report of a saved frame",
        description=(
            "Analyse a tidy frame saved with lrstats.save_results (or any Parquet file with "
            "lr, replicate and a response: pre/post or a column such as val_loss, optionally "
            "a step/epoch index and factor columns), print the analysis, write the bundle "
            "DIR/results.parquet (frame, provenance, results) and every figure (PNG, SVG), "
            "every table (CSV, Markdown, LaTeX), index.md and a self-contained index.html. "
            "Prints the analysis, and the path of index.html on the last line."
        ),
    )
    parser.add_argument("frame", metavar="FRAME.parquet", help="the saved tidy frame")
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="output directory (default: FRAME's name without suffix, plus '-report')",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every resample (default 0)")
    parser.add_argument(
        "--n-resamples",
        type=int,
        default=2000,
        metavar="N",
        help="bootstrap resamples for intervals and selection frequencies (default 2000)",
    )
    parser.add_argument(
        "--confidence-level", type=float, default=0.95, metavar="LEVEL", help="default 0.95"
    )
    parser.add_argument(
        "--response",
        default="delta",
        help="delta (post - pre, default), relative, log_ratio or a numeric column",
    )
    parser.add_argument(
        "--goal",
        choices=("minimize", "maximize"),
        default="minimize",
        help="whether lower (default) or higher values of the response are better",
    )
    parser.add_argument(
        "--at",
        default="final",
        help="reduce a step/epoch trajectory to one value per run: final (default), best, "
        "or an integer step",
    )
    parser.add_argument(
        "--by",
        action="append",
        default=None,
        metavar="COLUMN",
        help="analyse each level of a factor column separately (repeatable)",
    )
    parser.add_argument("--pdf", action="store_true", help="also write every figure as PDF")
    return parser


def _at(text: str) -> str | int:
    try:
        return int(text)
    except ValueError:
        return text


def run(args: argparse.Namespace) -> int:
    """Load the frame, analyse and print it, save the bundle, write the report."""
    import io
    from pathlib import Path

    from lrstats.cli._common import analyse_and_print, save_and_report
    from lrstats.io import load_results

    source = Path(args.frame)
    out = Path(args.out) if args.out is not None else source.with_name(source.stem + "-report")
    try:
        frame = load_results(source)
        printed = io.StringIO()
        analysis = analyse_and_print(
            frame,
            n_resamples=args.n_resamples,
            seed=args.seed,
            response=args.response,
            goal=args.goal,
            at=_at(args.at),
            by=args.by,
            confidence_level=args.confidence_level,
            out=printed,
        )
        index = save_and_report(
            frame,
            analysis,
            out,
            report=True,
            bundle_name="results.parquet",
            report_dir=".",
            formats=("png", "svg", "pdf") if args.pdf else ("png", "svg"),
            out=printed,
        )
    except (FileNotFoundError, ValueError, TypeError) as error:
        print(f"lrstats report: error: {error}", file=sys.stderr)
        return 1
    print(printed.getvalue().rstrip("\n"))
    print(index)
    return 0
