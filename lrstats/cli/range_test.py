"""``lrstats range-test``: Smith's LR range test on the demo model or a saved model."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "range-test",
        help="LR range test (replicated, with intervals) on the demo model or a saved model",
        description=(
            "Run Smith's LR range test: the lr rises every batch on an exponential (or "
            "linear) grid, the per-batch loss is recorded and smoothed, and the test stops "
            "at divergence. With --replicates > 1 it is rerun from the same state with "
            "different data orders, and each suggestion (steep, minimum, valley) is the "
            "median over replicates with a bootstrap interval. Without MODEL it runs on the "
            "demo MLP and the RAND HIE data; with MODEL and DATA on a saved .keras model and "
            "a .npz/.csv/.parquet file (as `lrstats sample`). Prints the analysis, writes "
            "the bundle (range_test.parquet: frame, provenance, suggestions) and a report "
            "(report/index.html and index.md with the figure and tables); the model file "
            "is not changed."
        ),
    )
    parser.add_argument("model", type=Path, nargs="?", help="a saved, compiled .keras model")
    parser.add_argument("data", type=Path, nargs="?", help="data file: .npz, .csv or .parquet")
    parser.add_argument("--target", help="target column of a .csv/.parquet file")
    parser.add_argument("--x-key", default="x", help="array of inputs in a .npz file (default x)")
    parser.add_argument("--y-key", default="y", help="array of targets in a .npz file (default y)")
    group = parser.add_argument_group("range test")
    group.add_argument("--start-lr", type=float, default=1e-7, help="first lr (default 1e-7)")
    group.add_argument("--end-lr", type=float, default=10.0, help="last lr (default 10)")
    group.add_argument("--num-steps", type=int, default=100, help="batches (default 100)")
    group.add_argument("--mode", choices=("exp", "linear"), default="exp", help="grid (exp)")
    group.add_argument("--smoothing", type=float, default=0.98, help="EMA beta (default 0.98)")
    group.add_argument(
        "--diverge-factor", type=float, default=4.0, help="stop at this x best (default 4)"
    )
    group.add_argument("--replicates", type=int, default=5, help="data orders (default 5)")
    group.add_argument("--batch-size", type=int, default=64, help="batch size (default 64)")
    group.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    group.add_argument(
        "--n-resamples", type=int, default=9999, help="bootstrap resamples (default 9999)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("lrstats-range-test"), help="output directory"
    )
    parser.add_argument("--no-report", action="store_true", help="skip the HTML report")
    return parser


def _model_and_data(args: argparse.Namespace) -> tuple[Any, Any, Any, str]:
    if (args.model is None) != (args.data is None):
        raise SystemExit("lrstats range-test: give both MODEL and DATA, or neither (demo)")
    if args.model is None:
        from lrstats.datasets import load_randhie
        from lrstats.keras.models import demo_model

        data = load_randhie()
        return demo_model(data.x.shape[1], seed=args.seed), data.x, data.y, data.description
    import keras

    from lrstats.cli.sample import load_data

    x, y = load_data(args.data, target=args.target, x_key=args.x_key, y_key=args.y_key)
    return keras.saving.load_model(args.model), x, y, str(args.data)


def run(args: argparse.Namespace) -> int:
    """Range test -> analyse -> print -> save the bundle once -> write the report."""
    from lrstats.cli._common import analyse_and_print, save_and_report
    from lrstats.keras import range_test

    model, x, y, source = _model_and_data(args)
    print(f"Data: {source}; model {model.name}, optimizer {type(model.optimizer).__name__}")
    start = time.perf_counter()
    result = range_test(
        model,
        x,
        y,
        start_lr=args.start_lr,
        end_lr=args.end_lr,
        num_steps=args.num_steps,
        mode=args.mode,
        smoothing=args.smoothing,
        diverge_factor=args.diverge_factor,
        replicates=args.replicates,
        batch_size=args.batch_size,
        seed=args.seed,
        # The suggestions and intervals printed, saved and drawn are the analysis's below;
        # the result's own bootstrap is not used.
        n_resamples=1,
    )
    seconds = time.perf_counter() - start
    frame = result.frame
    frame.attrs["data"] = source
    if args.model is not None:
        frame.attrs["model_file"] = str(args.model)
    print(f"{args.replicates} replicate(s) x up to {args.num_steps} batches in {seconds:.2f} s\n")
    analysis = analyse_and_print(frame, n_resamples=args.n_resamples, seed=args.seed)
    save_and_report(
        frame,
        analysis,
        args.out,
        report=not args.no_report,
        bundle_name="range_test.parquet",
    )
    return 0
