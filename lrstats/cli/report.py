"""``lrstats report FRAME.parquet --out DIR``: every figure and table of a saved frame."""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``report`` sub-command."""
    parser = subparsers.add_parser(
        "report",
        help="write the figures, tables and an HTML/Markdown report of a saved frame",
        description=(
            "Analyse a tidy frame saved with lrstats.save_results (or any Parquet file with "
            "lr, replicate and pre/post columns) and write every figure (PNG, SVG), every "
            "table (CSV, Markdown, LaTeX), index.md and a self-contained index.html. "
            "Prints the path of index.html."
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
    parser.add_argument("--pdf", action="store_true", help="also write every figure as PDF")
    return parser


def run(args: argparse.Namespace) -> int:
    """Load the frame, write the report, print the path of ``index.html``."""
    from pathlib import Path

    from lrstats.io import load_results
    from lrstats.presentation.report import write_report

    source = Path(args.frame)
    out = Path(args.out) if args.out is not None else source.with_name(source.stem + "-report")
    try:
        frame = load_results(source)
        index = write_report(
            frame,
            out,
            rng=args.seed,
            response=args.response,
            confidence_level=args.confidence_level,
            n_resamples=args.n_resamples,
            formats=("png", "svg", "pdf") if args.pdf else ("png", "svg"),
            command=shlex.join(["lrstats", *sys.argv[1:]]),
        )
    except (FileNotFoundError, ValueError, TypeError) as error:
        print(f"lrstats report: error: {error}", file=sys.stderr)
        return 1
    print(index)
    return 0
