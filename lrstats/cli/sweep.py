"""``lrstats sweep``: a sensitivity analysis of the demo model on the embedded RAND HIE data."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def _lrs(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--lrs must be comma-separated numbers, e.g. 0.001,0.01,0.1. Received: {text!r}"
        ) from None
    return values


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "sweep",
        help="train the demo MLP at every lr × seed and summarize the final validation loss",
        description=(
            "Sensitivity analysis: train the demo MLP (9→32→32→1, SGD with momentum 0.9) on "
            "the RAND Health Insurance Experiment data shipped with statsmodels for every "
            "learning rate × seed, record the losses after every epoch, print the per-lr "
            "summary of the final validation loss with 95%% t intervals, and write the frame. "
            "Runs serially, or on a Dask cluster with --scheduler; with --store an interrupted "
            "sweep resumes where it stopped."
        ),
    )
    parser.add_argument(
        "--lrs",
        type=_lrs,
        default=None,
        help="comma-separated learning rates (default: 7 log-spaced from 1e-3 to 1)",
    )
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0 … N-1 (default 5)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs per run (default 5)")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size (default 64)")
    parser.add_argument(
        "--rows",
        type=int,
        default=None,
        help="training rows (a seeded random subset; default: all but the validation rows)",
    )
    parser.add_argument(
        "--validation-rows", type=int, default=4000, help="held-out rows (default 4000)"
    )
    parser.add_argument(
        "--store", type=Path, default=None, help="directory of finished runs (resumable)"
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on the Dask cluster at ADDRESS (e.g. tcp://10.0.0.1:8786)",
    )
    parser.add_argument("--out", type=Path, default=Path("lrstats-sweep"), help="output directory")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def run(args: argparse.Namespace, out=None) -> int:
    import functools

    import numpy as np
    import pandas as pd

    import lrstats
    from lrstats.cli._common import command_line
    from lrstats.datasets import load_randhie
    from lrstats.io import save_results
    from lrstats.keras import sensitivity
    from lrstats.keras._sensitivity import build_demo_model

    out = out or sys.stdout
    data = load_randhie()
    order = np.random.default_rng(0).permutation(data.x.shape[0])
    n_val = args.validation_rows
    if not 1 <= n_val < data.x.shape[0]:
        raise SystemExit(f"--validation-rows must be in [1, {data.x.shape[0] - 1}]")
    val_rows, train_rows = order[:n_val], order[n_val:]
    if args.rows is not None:
        train_rows = train_rows[: args.rows]
    x, y = data.x[train_rows], data.y[train_rows]
    validation = (data.x[val_rows], data.y[val_rows])
    lrs = args.lrs if args.lrs is not None else lrstats.log_grid(1e-3, 1.0, 7)

    client = None
    if args.scheduler:
        from distributed import Client

        client = Client(args.scheduler)
    print(
        f"Data: {data.description}: {x.shape[0]} training rows, {n_val} validation rows, "
        f"{x.shape[1]} features, target {data.target_name}",
        file=out,
    )
    where = "serially" if client is None else f"on the Dask cluster at {args.scheduler}"
    print(
        f"Sweep: {len(lrs)} learning rates × {args.seeds} seeds × {args.epochs} epochs, "
        f"batch {args.batch_size}, {where}",
        file=out,
    )
    start = time.perf_counter()
    try:
        frame = sensitivity(
            functools.partial(build_demo_model, n_features=x.shape[1]),
            x,
            y,
            lrs=lrs,
            seeds=args.seeds,
            epochs=args.epochs,
            batch_size=args.batch_size,
            validation_data=validation,
            executor=client,
            store=args.store,
            progress=not args.no_progress,
        )
    finally:
        if client is not None:
            client.close()
    seconds = time.perf_counter() - start
    frame.attrs["dataset"] = data.description
    print(f"Trained {len(frame) // args.epochs} runs in {seconds:.1f} s\n", file=out)

    final = frame[frame["epoch"] == args.epochs]
    summary = lrstats.summarize(final, response="val_loss")
    table = summary.to_frame()
    shown = pd.DataFrame(
        {
            "lr": [f"{v:.3g}" for v in table["lr"]],
            "n": table["n"],
            "diverged": table["n_nonfinite"],
            "mean val_loss": [f"{v:.4g}" for v in table["mean"]],
            "95% t interval": [
                f"[{lo:.4g}, {hi:.4g}]"
                for lo, hi in zip(table["ci_low"], table["ci_high"], strict=True)
            ],
        }
    )
    print(f"Validation loss after epoch {args.epochs}, per learning rate:", file=out)
    print(shown.to_string(index=False), file=out)
    finite = table[table["n_nonfinite"] == 0]
    if len(finite):
        best = finite.loc[finite["mean"].idxmin()]
        print(
            f"\nLowest mean final val_loss: lr = {best['lr']:.4g} (mean {best['mean']:.4g}, "
            f"95% t interval [{best['ci_low']:.4g}, {best['ci_high']:.4g}])",
            file=out,
        )
    args.out.mkdir(parents=True, exist_ok=True)
    path = save_results(
        frame, args.out / "sweep.parquet", results={"summary": summary}, command=command_line()
    )
    print(f"\nFrame and summary written to {path}", file=out)
    return 0
