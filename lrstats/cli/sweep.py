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


def _batch_sizes(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--batch-sizes must be comma-separated integers, e.g. 32,64,128. Received: {text!r}"
        ) from None
    return values


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "sweep",
        help="train the demo MLP at every lr × seed, analyse the validation loss, write a report",
        description=(
            "Sensitivity analysis: train the demo MLP (9→32→32→1, SGD with momentum 0.9) on "
            "the RAND Health Insurance Experiment data shipped with statsmodels for every "
            "learning rate × seed (× batch size), record the losses after every epoch, "
            "analyse the validation loss (lrstats.analyse: per-lr summary with t and BCa "
            "intervals, paired comparison with the best lr, selected lrs with intervals, "
            "shape fits, U test; per batch size with --batch-sizes), print it, and write "
            "the frame with the results and a report. Runs serially, or on a Dask cluster "
            "with --scheduler; with --store an interrupted sweep resumes where it stopped."
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
        "--batch-sizes",
        type=_batch_sizes,
        default=None,
        help="several batch sizes, comma-separated, crossed with the grid and analysed per "
        "batch size (replaces --batch-size)",
    )
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
        "--at",
        choices=("final", "best"),
        default="final",
        help="analyse each run's validation loss after the last epoch or its best epoch "
        "(default final)",
    )
    parser.add_argument(
        "--n-resamples", type=int, default=2000, help="bootstrap resamples (default 2000)"
    )
    parser.add_argument(
        "--analysis-seed",
        type=int,
        default=0,
        help="seed of the analysis' bootstrap resamples (default 0)",
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
    parser.add_argument("--no-report", action="store_true", help="skip the HTML report")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def run(args: argparse.Namespace, out=None) -> int:
    """Sweep → analyse → print → save the bundle once → write the report."""
    import functools

    import numpy as np

    import lrstats
    from lrstats.cli._common import analyse_and_print, save_and_report
    from lrstats.datasets import load_randhie
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
    if args.batch_sizes:
        factors, batch_size, by = {"batch_size": args.batch_sizes}, None, "batch_size"
        batches = f"batch sizes {', '.join(str(b) for b in args.batch_sizes)}"
    else:
        factors, batch_size, by = None, args.batch_size, None
        batches = f"batch {args.batch_size}"

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
        f"{batches}, {where}",
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
            batch_size=batch_size,
            factors=factors,
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
    analysis = analyse_and_print(
        frame,
        n_resamples=args.n_resamples,
        seed=args.analysis_seed,
        response="val_loss",
        at=args.at,
        by=by,
        out=out,
    )
    save_and_report(
        frame,
        analysis,
        args.out,
        report=not args.no_report,
        bundle_name="sweep.parquet",
        out=out,
    )
    return 0
