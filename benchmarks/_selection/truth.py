"""The truth: full trainings at every grid lr × seed, cached in a committed CSV.

``run_sweep`` is the one place that trains; it is written with plain ``model.fit`` and is
meant to be replaced by ``lrstats.keras.sensitivity`` once that exists (same inputs: a
model factory, the grid, the seeds, epochs; same output: a long frame). The CSV holds the
validation loss after every epoch, so truncated sweeps (the same runs stopped early) can
be read from it at no extra cost.

Columns: ``cell, dataset, optimizer, held_out, lr, seed, epoch, loss, val_loss, wall_s,
cpu_s`` (``wall_s``/``cpu_s``: the whole run's time, repeated on its rows).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from . import cells as C

TRUTH_CSV = Path(__file__).resolve().parents[1] / "selection_truth.csv"
COLUMNS = [
    "cell", "dataset", "optimizer", "held_out", "lr", "seed", "epoch",
    "loss", "val_loss", "wall_s", "cpu_s",
]  # fmt: skip


_MODELS: dict = {}


def _compiled(cell: C.Cell):
    """One compiled model per cell, reused across runs so ``fit`` traces once per cell."""
    if cell.name not in _MODELS:
        _MODELS.clear()  # one cell at a time
        _MODELS[cell.name] = C.build_model(cell, 1e-3, 0)
    return _MODELS[cell.name]


def _reset(model, cell: C.Cell, lr: float, seed: int) -> None:
    """Fresh weights drawn from ``seed`` (as a new model would get), zero optimizer state, lr."""
    import keras

    fresh = C.build_model(cell, lr, seed)  # building draws the initial weights; no tracing
    model.set_weights(fresh.get_weights())
    for variable in model.optimizer.variables:
        variable.assign(np.zeros(variable.shape, variable.dtype))
    model.optimizer.learning_rate.assign(lr)
    keras.utils.set_random_seed(seed)  # the shuffling of this run


_STEPS: dict = {}


def _epoch_functions(model):
    """One compiled epoch (a graph loop over the epoch's batches) and a validation loss."""
    import tensorflow as tf

    key = id(model)
    if key not in _STEPS:

        def epoch(xb, yb):
            for i in tf.range(tf.shape(xb)[0]):
                logs = model.train_step((xb[i], yb[i]))
            return logs["loss"]

        def val_loss(x, y):
            return model.compute_loss(x=x, y=y, y_pred=model(x, training=False), training=False)

        _STEPS.clear()
        _STEPS[key] = (tf.function(epoch), tf.function(val_loss))
    return _STEPS[key]


def train_run(cell: C.Cell, lr: float, seed: int, epochs: int = C.EPOCHS) -> pd.DataFrame:
    """One full training; the per-epoch training and validation losses as a frame.

    The model of the cell is built and compiled once; each run starts from the weights a
    freshly built model would get from ``seed``, a zeroed optimizer state and ``lr``.
    Each epoch is a fresh permutation of the training rows (from ``seed``; the same for
    every lr: runs are paired), cut into ``n // BATCH_SIZE`` full batches, and trained
    by ``model.train_step`` (Keras' own step) in one compiled loop; the validation loss
    is Keras' ``compute_loss`` on the whole validation split after every epoch. This is
    ``fit`` without its per-epoch overhead (which cost ~0.1 s an epoch, more than the
    training of the small cells); ``lrstats.keras.sensitivity`` replaces it at merge.
    """
    data = C.load(cell.dataset)
    wall, cpu = time.perf_counter(), time.process_time()
    model = _compiled(cell)
    _reset(model, cell, lr, seed)
    epoch_fn, val_fn = _epoch_functions(model)
    rng = np.random.default_rng([seed, 0x5E1])
    n_batches = len(data.x_train) // C.BATCH_SIZE
    losses, val_losses = [], []
    for _ in range(epochs):
        rows = rng.permutation(len(data.x_train))[: n_batches * C.BATCH_SIZE]
        xb = data.x_train[rows].reshape(n_batches, C.BATCH_SIZE, -1)
        yb = data.y_train[rows].reshape(n_batches, C.BATCH_SIZE, *data.y_train.shape[1:])
        model.reset_metrics()
        losses.append(float(epoch_fn(xb, yb)))
        val_losses.append(float(val_fn(data.x_val, data.y_val)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    epochs_done = np.arange(1, len(losses) + 1)
    return _run_rows(cell, lr, seed, epochs_done, losses, val_losses, wall, cpu)


def _run_rows(cell: C.Cell, lr, seed, epoch, loss, val_loss, wall, cpu) -> pd.DataFrame:
    """One run's rows in the cache's columns (the run's times repeated on every row)."""
    return pd.DataFrame(
        {
            "cell": cell.name,
            "dataset": cell.dataset,
            "optimizer": cell.optimizer,
            "held_out": cell.held_out,
            "lr": lr,
            "seed": seed,
            "epoch": epoch,
            "loss": loss,
            "val_loss": val_loss,
            "wall_s": wall,
            "cpu_s": cpu,
        },
        columns=COLUMNS,
    )


def run_sweep(cell: C.Cell, done: set, path: Path = TRUTH_CSV, run=None) -> None:
    """Train every (lr, seed) of ``cell`` not yet in ``done``; append each run to ``path``.

    ``run(cell, lr, seed)`` trains one run (default :func:`train_run`).
    """
    run = train_run if run is None else run
    for lr in C.GRID:
        for seed in C.SEEDS:
            if (cell.name, _key(lr), seed) in done:
                continue
            frame = run(cell, lr, seed)
            header = not path.exists()
            frame.to_csv(path, mode="a", header=header, index=False, float_format="%.9g")
            print(
                f"{cell.name:24s} lr={lr:.3g} seed={seed} val={frame.val_loss.iloc[-1]:.4g} "
                f"wall={frame.wall_s.iloc[0]:.2f}s cpu={frame.cpu_s.iloc[0]:.2f}s",
                flush=True,
            )


def _key(lr: float) -> str:
    return f"{lr:.6g}"


#: The same sweeps run by the sweeps issue's tool, ``lrstats.keras.sensitivity`` (one
#: ``fit`` per run, a fresh model per run): the cross-check of the truth above.
SENSITIVITY_CSV = TRUTH_CSV.with_name("selection_truth_sensitivity.csv")


def sensitivity_run(cell: C.Cell, lr: float, seed: int, epochs: int = C.EPOCHS) -> pd.DataFrame:
    """One (lr, seed) run of ``lrstats.keras.sensitivity`` on ``cell``, timed, as truth rows.

    ``sensitivity`` builds a fresh model per run with ``build_model(lr, seed)`` (here the
    cell's ``build_model``: weights from ``seed``), draws the run's batch order from its own
    stream keyed by ``seed`` (the same for every lr), trains with ``fit`` (every row, the
    last batch partial) and records ``loss`` and ``val_loss`` after every epoch. A run
    gives the same numbers alone as inside a whole sweep, so runs are timed one by one.
    """
    from lrstats.keras import sensitivity

    data = C.load(cell.dataset)
    wall, cpu = time.perf_counter(), time.process_time()
    frame = sensitivity(
        lambda lr_, seed_: C.build_model(cell, lr_, seed_),
        data.x_train,
        data.y_train,
        lrs=[lr],
        seeds=[seed],
        epochs=epochs,
        batch_size=C.BATCH_SIZE,
        validation_data=(data.x_val, data.y_val),
        progress=False,
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return _run_rows(
        cell, lr, seed, frame["epoch"].to_numpy(), frame["loss"].to_numpy(),
        frame["val_loss"].to_numpy(), wall, cpu,
    )  # fmt: skip


def load_truth(path: Path = TRUTH_CSV) -> pd.DataFrame:
    return pd.read_csv(path)


def compute(cells=C.ALL_CELLS, path: Path = TRUTH_CSV, run=None) -> pd.DataFrame:
    """Fill the cache for ``cells`` (only the missing runs are trained, by ``run``)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    C.configure_threads()
    done: set = set()
    if path.exists():
        old = pd.read_csv(path)
        done = {
            (c, _key(lr), int(s)) for c, lr, s in old[["cell", "lr", "seed"]].itertuples(False)
        }
    start = time.perf_counter()
    for cell in cells:
        run_sweep(cell, done, path, run)
    print(f"truth: {time.perf_counter() - start:.1f} s wall in this process", flush=True)
    return load_truth(path)


def final_table(truth: pd.DataFrame, epoch: int | None = None) -> pd.DataFrame:
    """Mean final validation loss per (cell, lr) over seeds; a non-finite seed makes it inf.

    ``epoch`` reads the runs after that epoch instead of the last (a truncated sweep).
    """
    last = truth["epoch"].max() if epoch is None else epoch
    rows = truth[truth["epoch"] == last].copy()
    rows["val_loss"] = rows["val_loss"].where(np.isfinite(rows["val_loss"]), np.inf)
    table = rows.groupby(["cell", "lr"], as_index=False).agg(
        val_loss=("val_loss", "mean"), sd=("val_loss", "std"), n=("seed", "size")
    )
    return table


def pooled_truth(loop: pd.DataFrame | None = None, other: pd.DataFrame | None = None):
    """Both truths as one: the compiled loop's runs and ``sensitivity``'s, 6 per (cell, lr).

    ``sensitivity``'s seeds are renumbered after the loop's (0, 1, 2 -> 3, 4, 5): the same
    initial weights as the loop's seeds 0, 1, 2, other batch orders. Rows of cells only one
    of the two covers are left out. Either truth is read from its CSV when not given.
    """
    loop = load_truth(TRUTH_CSV) if loop is None else loop
    other = load_truth(SENSITIVITY_CSV) if other is None else other
    both = sorted(set(loop["cell"]) & set(other["cell"]))
    other = other.assign(seed=other["seed"] + len(C.SEEDS))
    pooled = pd.concat([loop, other], ignore_index=True)
    return pooled[pooled["cell"].isin(both)].reset_index(drop=True)


def optimum_slope(truth: pd.DataFrame) -> tuple[float, pd.Series]:
    """How the best lr moves with the training length, in the truth's own runs.

    Per cell and epoch, the optimum log10 lr of the seeds' losses after that epoch (the
    estimator of ``recommend_lr``'s rounds, :func:`lrstats.inference.halving.round_optima`,
    with the seeds as replicates: the lowest mean log loss, refined by the parabola
    through its neighbours). Returns the pooled within-cell least-squares slope of that
    optimum on log10(epoch) (each cell centred on its own means) and every cell's own slope.
    """
    from lrstats.inference.halving import round_optima

    grid = np.array(C.GRID)
    keys = {_key(lr): i for i, lr in enumerate(grid)}
    frames = []
    for cell, runs in truth.groupby("cell"):
        evidence = pd.DataFrame(
            {
                "round": runs["epoch"].to_numpy() - 1,
                "steps": runs["epoch"].to_numpy(),
                "lr_index": [keys[_key(lr)] for lr in runs["lr"]],
                "replicate": runs["seed"].to_numpy(),
                "loss": runs["val_loss"].to_numpy(),
            }
        )
        optima = round_optima(evidence, grid)
        frames.append(optima.assign(cell=cell, x=np.log10(optima["steps"].astype(float))))
    table = pd.concat(frames, ignore_index=True)
    centred_x = table["x"] - table.groupby("cell")["x"].transform("mean")
    centred_y = table["log10_lr"] - table.groupby("cell")["log10_lr"].transform("mean")
    pooled = float((centred_x * centred_y).sum() / (centred_x**2).sum())
    own = table.groupby("cell").apply(
        lambda t: np.polyfit(t["x"], t["log10_lr"], 1)[0], include_groups=False
    )
    return pooled, own


def sweep_cost(truth: pd.DataFrame) -> pd.DataFrame:
    """Wall and CPU seconds of each cell's full sweep (sum over its runs)."""
    runs = truth.drop_duplicates(["cell", "lr", "seed"])
    return runs.groupby("cell").agg(wall_s=("wall_s", "sum"), cpu_s=("cpu_s", "sum"))


if __name__ == "__main__":
    compute()
