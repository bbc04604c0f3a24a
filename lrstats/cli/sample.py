"""``lrstats sample``: the sampler on a saved ``.keras`` model and a data file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lrstats.cli._common import add_sampling_options, analyse_and_print, save_and_report


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "sample",
        help="sample ΔL for a saved .keras model on a .npz, .csv or .parquet data file",
        description=(
            "Load a compiled Keras model (.keras) and a data file, sample one-step loss "
            "changes over a log grid of learning rates, print the analysis and write the "
            "frame (and optionally a report). A .npz file holds arrays named by --x-key and "
            "--y-key; a .csv or .parquet file holds one column per feature and the --target "
            "column."
        ),
    )
    parser.add_argument("model", type=Path, help="a saved, compiled Keras model (.keras)")
    parser.add_argument("data", type=Path, help="data file: .npz, .csv or .parquet")
    parser.add_argument("--target", help="target column of a .csv/.parquet file")
    parser.add_argument("--x-key", default="x", help="array of inputs in a .npz file (default x)")
    parser.add_argument("--y-key", default="y", help="array of targets in a .npz file (default y)")
    add_sampling_options(parser, replicates=100, batch_size=64)
    parser.add_argument(
        "--out", type=Path, default=Path("lrstats-sample"), help="output directory"
    )
    parser.add_argument("--report", action="store_true", help="also write the HTML report")
    return parser


def load_data(path: Path, *, target: str | None, x_key: str, y_key: str) -> tuple[Any, Any]:
    """Features and targets from a .npz, .csv or .parquet file."""
    import numpy as np
    import pandas as pd

    suffix = path.suffix.lower()
    if not path.exists():
        raise FileNotFoundError(f"data file not found: {path}")
    if suffix == ".npz":
        with np.load(path) as arrays:
            missing = [key for key in (x_key, y_key) if key not in arrays]
            if missing:
                raise ValueError(
                    f"`data` must hold arrays {x_key!r} and {y_key!r}. Received: {path} with "
                    f"arrays {sorted(arrays.files)}"
                )
            return arrays[x_key], arrays[y_key]
    if suffix in (".csv", ".parquet"):
        table = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
        if target is None or target not in table.columns:
            raise ValueError(
                f"`--target` must name a column of {path.name}. Received: --target={target!r}; "
                f"columns are {list(table.columns)}"
            )
        features = table.drop(columns=[target])
        return features.to_numpy(dtype=np.float32), table[[target]].to_numpy(dtype=np.float32)
    raise ValueError(f"`data` must be a .npz, .csv or .parquet file. Received: {path}")


def run(args: argparse.Namespace) -> int:
    import keras

    import lrstats
    from lrstats.keras import sample_deltas

    x, y = load_data(args.data, target=args.target, x_key=args.x_key, y_key=args.y_key)
    model = keras.saving.load_model(args.model)
    frame = sample_deltas(
        model,
        x,
        y,
        lrs=lrstats.log_grid(args.lr_min, args.lr_max, args.num_lrs),
        replicates=args.replicates,
        batch_size=args.batch_size,
        seed=args.seed,
        evaluate=args.evaluate,
        progress=not args.no_progress,
    )
    frame.attrs["model_file"] = str(args.model)
    frame.attrs["data_file"] = str(args.data)
    analysis = analyse_and_print(frame, n_resamples=args.n_resamples, seed=args.seed)
    save_and_report(frame, analysis, args.out, report=args.report)
    return 0
