"""The best lr against the batch size: the one-step ΔL map against a sensitivity sweep's map.

Run from the repository root::

    python benchmarks/batch_size_map.py [--epochs 5] [--seeds 3] [--replicates 200]

Side by side in one run, on the same model, data, grid and batch sizes:

* **ΔL map**: ``sample_deltas(model, x, y, lrs=fine_grid, batch_size=[16, 64, 256], ...)`` at
  the untrained model (31 lrs, tenth decades over the same range: it costs seconds, and it
  contains the sweep's grid), one frame with a ``batch_size`` column, and the selection
  ``select_lr(frame, rule=..., by="batch_size")`` (rules ``ucb`` and ``mean``);
* **sweep map**: ``sensitivity(build_model, x, y, lrs=grid, seeds=..., epochs=...,
  factors={"batch_size": [16, 64, 256]})``, full trainings, and the selection of the lowest
  mean final validation loss ``select_lr(frame, response="val_loss", rule="mean",
  by="batch_size")``;
* for each map: the selected lr and its bootstrap interval per batch size, the slope of
  log10(selected lr) on log10(batch size) (1 = the linear-scaling rule), and the wall time.

Model: the demo MLP (9→32→32→1, SGD with momentum 0.9, ``lrstats.keras.models.demo_model``)
on the first ``--rows`` rows of RAND HIE, validation on its last 2,048 rows. Sweep grid: half
decades from 1e-3 to 1 (7 lrs). Nothing here is tuned: these are the demo's settings.

Writes ``benchmarks/batch_size_map.csv`` (one row per map, rule and batch size); the how-to
``docs/how-to/batch-size.md`` draws its comparison figure from that file.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

OUT = Path(__file__).with_name("batch_size_map.csv")
BATCH_SIZES = (16, 64, 256)


def build_model(lr: float, seed: int):
    import keras

    from lrstats.keras.models import demo_model

    return demo_model(9, seed=seed, optimizer=keras.optimizers.SGD(lr, momentum=0.9))


def _slope(table):
    import numpy as np

    finite = table.dropna(subset=["lr"])
    if len(finite) < 2:
        return float("nan")
    return float(np.polyfit(np.log10(finite["batch_size"]), np.log10(finite["lr"]), 1)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4096, help="training rows (default 4096)")
    parser.add_argument("--epochs", type=int, default=5, help="sweep epochs (default 5)")
    parser.add_argument("--seeds", type=int, default=3, help="sweep seeds (default 3)")
    parser.add_argument(
        "--replicates", type=int, default=200, help="ΔL replicates per lr (default 200)"
    )
    parser.add_argument("--out", type=Path, default=OUT, help=f"CSV to write (default {OUT})")
    args = parser.parse_args()

    import pandas as pd

    import lrstats
    from lrstats.datasets import load_randhie
    from lrstats.keras import sample_deltas, sensitivity

    data = load_randhie()
    x, y = data.x[: args.rows], data.y[: args.rows]
    validation = (data.x[-2048:], data.y[-2048:])
    grid = lrstats.log_grid(1e-3, 1.0, 7)
    fine_grid = lrstats.log_grid(1e-3, 1.0, 31)
    print(
        f"grids: ΔL {len(fine_grid)} lrs, sweep {len(grid)} lrs (1e-3 … 1); batch sizes {list(BATCH_SIZES)}; "
        f"{args.rows} training rows; load average {os.getloadavg()[0]:.2f} (2 cores)"
    )

    tables = []
    start = time.perf_counter()
    model = build_model(0.01, 0)
    deltas = sample_deltas(
        model,
        x,
        y,
        lrs=fine_grid,
        replicates=args.replicates,
        batch_size=list(BATCH_SIZES),
        seed=0,
        progress=False,
    )
    for rule in ("ucb", "mean"):
        choice = lrstats.select_lr(deltas, rule=rule, by="batch_size", rng=0).to_frame()
        tables.append(choice.assign(map="one-step ΔL", rule=rule))
    t_deltas = time.perf_counter() - start

    start = time.perf_counter()
    sweep = sensitivity(
        build_model,
        x,
        y,
        lrs=grid,
        seeds=args.seeds,
        epochs=args.epochs,
        batch_size=None,
        factors={"batch_size": list(BATCH_SIZES)},
        validation_data=validation,
        progress=False,
    )
    choice = lrstats.select_lr(
        sweep, response="val_loss", at="final", rule="mean", by="batch_size", rng=0
    ).to_frame()
    tables.append(choice.assign(map=f"sweep ({args.epochs} epochs)", rule="mean"))
    t_sweep = time.perf_counter() - start

    seconds = {"one-step ΔL": t_deltas, f"sweep ({args.epochs} epochs)": t_sweep}
    table = pd.concat(tables, ignore_index=True)
    table["seconds"] = table["map"].map(seconds)
    columns = ["map", "rule", "batch_size", "lr", "ci_low", "ci_high", "seconds"]
    table = table[columns].sort_values(["map", "rule", "batch_size"], ignore_index=True)
    table.to_csv(args.out, index=False, float_format="%.6g")

    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    for (name, rule), part in table.groupby(["map", "rule"], sort=False):
        print(f"slope of log10 lr on log10 batch size, {name} {rule}: {_slope(part):.2f}")
    print(
        f"wall time: ΔL map {t_deltas:.1f} s ({len(fine_grid)} lrs × {args.replicates} replicates × "
        f"{len(BATCH_SIZES)} batch sizes), sweep map {t_sweep:.1f} s ({len(grid)} lrs × "
        f"{args.seeds} seeds × {len(BATCH_SIZES)} batch sizes × {args.epochs} epochs); "
        f"ratio {t_sweep / t_deltas:.0f}×"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
