"""``lrstats range-test``: Smith's LR range test on the demo model or a saved model."""

from __future__ import annotations

import argparse
import html
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
            "a .npz/.csv/.parquet file (as `lrstats sample`). Writes the frame (Parquet), "
            "the figure and an HTML page; the model file is not changed."
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


def print_suggestions(result: Any) -> None:
    """The suggestions table as plain text."""
    level = f"{100 * result.confidence_level:g}%"
    print(f"Suggestions (median over replicates, {level} bootstrap interval):")
    for name, row in result.suggestions.iterrows():
        interval = (
            f"[{row['ci_low']:.3g}, {row['ci_high']:.3g}], width x{row['width_factor']:.2f}"
            if row["ci_low"] == row["ci_low"]
            else "(one replicate: no interval)"
        )
        print(f"  {name:<8} {row['lr']:.3g}  {interval}")


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lrstats.cli._common import command_line
    from lrstats.io import save_results
    from lrstats.keras import range_test
    from lrstats.presentation.classic_plots import plot_range_test, range_test_section

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
        n_resamples=args.n_resamples,
    )
    seconds = time.perf_counter() - start
    frame = result.frame
    frame.attrs["data"] = source
    if args.model is not None:
        frame.attrs["model_file"] = str(args.model)
    print(f"{args.replicates} replicate(s) x up to {args.num_steps} batches in {seconds:.2f} s\n")
    print_suggestions(result)
    args.out.mkdir(parents=True, exist_ok=True)
    path = save_results(
        frame,
        args.out / "range_test.parquet",
        results={"suggestions": result.to_frame(), "per_replicate": result.per_replicate},
        command=command_line(),
    )
    ax = plot_range_test(result)
    figure = args.out / "range_test.png"
    ax.figure.savefig(figure, dpi=150, bbox_inches="tight")
    plt.close(ax.figure)
    page = args.out / "range_test.html"
    page.write_text(
        "<!doctype html><meta charset='utf-8'><title>LR range test</title>\n"
        f"<p><code>{html.escape(command_line())}</code></p>\n{range_test_section(result)}\n",
        encoding="utf-8",
    )
    print(f"\nFrame written to {path}\nFigure written to {figure}\nPage written to {page}")
    return 0
