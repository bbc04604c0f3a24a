"""Time ``lrstats.keras.sample_trajectories`` against a plain Keras loop doing the same real steps.

Run: ``python benchmarks/bench_lookahead.py [--optimizer momentum|adam] [--repeats 5]``
and ``python benchmarks/bench_lookahead.py --memory`` for the memory check.

One process, one model architecture and one data set, measured side by side:

- the model: an MLP 20 -> 64 -> 64 -> 1 (relu), ``SGD(0.01, momentum=0.9)`` (or ``Adam``) and
  mean squared error, every model built from the same literal initializer seeds;
- the data: 10,000 x 20 synthetic regression rows (as in ``bench_sampler.py``); batch 64;
- the work: 11 learning rates (log grid 1e-4 .. 1) x 4 replicates x 100 steps from the
  model's initial state, training loss at every step.

Timed:

1. the plain Keras loop: for every (replicate, lr), every model and optimizer variable restored
   from a snapshot, ``optimizer.learning_rate.assign(lr)``, then 100 ``train_on_batch`` calls on
   the replicate's minibatches (the very rows ``sample_trajectories`` uses). Its training
   function is traced before timing starts (a warm Keras);
2. ``sample_trajectories`` first call on a fresh model (tracing, and the check of the batched
   optimizer against real steps, included);
3. ``sample_trajectories`` steady state: median of ``--repeats`` calls on the same model.

The two frames are compared (largest relative difference of the losses) so the ratio is
between equal results. Timings are wall-clock; the loop is run twice, before and after the
steady-state repeats, and its median and the load average are printed, because the machine
may be shared.

``--memory``: 41 lrs x 16 replicates x 1,000 steps (656,000 member-steps) with
``validation_split=0.2`` (val_loss every 100 steps) in a process that does nothing else;
the resident set size (RSS) is sampled every 5 ms by a thread. The plain loop's RSS is
measured over its first two replicates x 41 lrs x 20 steps (its memory does not grow with the
steps; the whole loop would take about an hour here) and its time for the whole run
extrapolated linearly, and said so.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

# The data and the MLP are the sampler benchmark's (same module folder).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_sampler
from bench_sampler import BATCH, HIDDEN, N_FEATURES, N_ROWS, PeakRSS, make_data, mib

SEED = 0


def make_model(optimizer: str):
    """The sampler benchmark's MLP (the same seeded weights), its optimizer built."""
    model = bench_sampler.make_model(optimizer)
    model.optimizer.build(model.trainable_variables)
    return model


def keras_loop(model, x, y, lrs, replicates, steps, n_train: int | None = None) -> np.ndarray:
    """The plain loop: losses (replicates, lrs, steps); the state restored between members."""
    from lrstats.keras.lookahead import replicate_batches

    variables = [*model.variables, *model.optimizer.variables, *model.metrics_variables]
    saved = [v.numpy().copy() for v in variables]
    n_train = len(x) if n_train is None else n_train
    out = np.empty((len(replicates), len(lrs), steps))
    try:
        for r, replicate in enumerate(replicates):
            batches = replicate_batches(SEED, replicate, n_train, BATCH, steps)
            for k, lr in enumerate(lrs):
                for variable, value in zip(variables, saved, strict=True):
                    variable.assign(value)
                model.optimizer.learning_rate.assign(lr)
                for t, rows in enumerate(batches):
                    out[r, k, t] = float(model.train_on_batch(x[rows], y[rows]))
    finally:
        for variable, value in zip(variables, saved, strict=True):
            variable.assign(value)
    return out


def warm_keras(model, x, y):
    """Trace Keras' train function with one step, then put every variable back."""
    variables = [*model.variables, *model.optimizer.variables, *model.metrics_variables]
    saved = [v.numpy().copy() for v in variables]
    model.train_on_batch(x[:BATCH], y[:BATCH])
    for variable, value in zip(variables, saved, strict=True):
        variable.assign(value)
    return model


def timed(function):
    start = time.perf_counter()
    value = function()
    return time.perf_counter() - start, value


def speed(args: argparse.Namespace) -> int:
    import tensorflow as tf  # noqa: F401  (import time excluded from every timing)

    from lrstats.keras import sample_trajectories

    x, y = make_data()
    lrs = np.geomspace(1e-4, 1.0, 11)
    replicates, steps = 4, 100
    run = dict(lrs=lrs, replicates=replicates, steps=steps, batch_size=BATCH, seed=SEED)

    def ours(model):
        return sample_trajectories(model, x, y, progress=False, **run)

    model = make_model(args.optimizer)
    first, frame = timed(lambda: ours(model))
    path = frame.attrs["path"]

    loop_model = warm_keras(make_model(args.optimizer), x, y)
    loop_times = []
    t, reference = timed(lambda: keras_loop(loop_model, x, y, lrs, range(replicates), steps))
    loop_times.append(t)
    steady = []
    for _ in range(args.repeats):
        t, again = timed(lambda: ours(model))
        steady.append(t)
    t, _ = timed(lambda: keras_loop(loop_model, x, y, lrs, range(replicates), steps))
    loop_times.append(t)

    ours_losses = frame["loss"].to_numpy().reshape(replicates, lrs.size, steps)
    finite = np.isfinite(reference) & np.isfinite(ours_losses)
    rel = np.abs(ours_losses - reference)[finite] / np.abs(reference)[finite]
    loop = statistics.median(loop_times)
    steady_median = statistics.median(steady)
    print(f"load average: {os.getloadavg()}")
    print(
        f"11 lrs x {replicates} replicates x {steps} steps, batch {BATCH}, "
        f"MLP {N_FEATURES}->{HIDDEN}->{HIDDEN}->1, {args.optimizer}; path={path}"
    )
    # per member trajectory: the largest relative difference over its steps (non-finite in
    # both counts as agreeing, in one only as disagreeing)
    both_bad = ~np.isfinite(reference) & ~np.isfinite(ours_losses)
    with np.errstate(invalid="ignore"):
        member_rel = np.where(both_bad, 0.0, np.abs(ours_losses - reference) / np.abs(reference))
    member_rel = np.nan_to_num(member_rel, nan=np.inf).max(axis=2)
    close = member_rel <= 1e-4
    print(
        f"agreement with the loop: median relative difference {np.median(rel):.1e}, max "
        f"{rel.max():.1e} over {rel.size} finite losses; {int(close.sum())} of {close.size} "
        "member trajectories within 1e-4 at every step"
    )
    for r, k in zip(*np.nonzero(~close), strict=True):
        gap = np.abs(ours_losses[r, k] - reference[r, k]) > 1e-4 * np.abs(reference[r, k])
        print(
            f"  replicate {r}, lr {lrs[k]:.1e}: max relative difference {member_rel[r, k]:.1e}, "
            f"first above 1e-4 at step {int(np.argmax(gap)) + 1}"
        )
    print(f"{'what':<44} {'median':>9} {'min':>9}")
    print(f"{'plain Keras loop (train_on_batch)':<44} {loop:>8.2f}s {min(loop_times):>8.2f}s")
    print(f"{'sample_trajectories, first call':<44} {first:>8.2f}s {first:>8.2f}s")
    print(f"{'sample_trajectories, steady state':<44} {steady_median:>8.3f}s {min(steady):>8.3f}s")
    print(f"ratio loop / steady state: {loop / steady_median:.1f}x (target >= 20x)")
    print(f"ratio loop / first call:   {loop / first:.1f}x")
    return 0 if loop / steady_median >= 20 else 1


def memory(args: argparse.Namespace) -> int:
    import tensorflow as tf  # noqa: F401

    from lrstats.keras import sample_trajectories

    x, y = make_data()
    lrs = np.geomspace(1e-5, 1.0, 41)
    replicates, steps = 16, 1000
    model = make_model(args.optimizer)
    with PeakRSS(interval=0.005) as ours:
        t_ours, frame = timed(
            lambda: sample_trajectories(
                model, x, y, lrs=lrs, replicates=replicates, steps=steps, batch_size=BATCH,
                seed=SEED, validation_split=0.2, eval_every=100, progress=False,
            )
        )  # fmt: skip
    loop_model = warm_keras(make_model(args.optimizer), x, y)
    loop_reps, loop_steps = 2, 20
    with PeakRSS(interval=0.005) as loop:
        t_loop, _ = timed(
            lambda: keras_loop(
                loop_model, x, y, lrs, range(loop_reps), loop_steps, n_train=int(N_ROWS * 0.8)
            )
        )
    scale = (replicates * steps) / (loop_reps * loop_steps)
    print(f"load average: {os.getloadavg()}")
    print(
        f"41 lrs x {replicates} replicates x {steps} steps ({frame.shape[0]:,} rows), "
        f"val_loss every 100 steps on 2,000 rows; path={frame.attrs['path']}, "
        f"chunk={frame.attrs['chunk_size']} members"
    )
    print(
        f"sample_trajectories: {t_ours:.1f} s, RSS {mib(ours.start)} before, "
        f"peak {mib(ours.peak)} (+{mib(ours.peak - ours.start)})"
    )
    print(
        f"plain loop, {loop_reps} replicates x 41 lrs x {loop_steps} steps: {t_loop:.1f} s "
        f"(whole run extrapolated: {t_loop * scale / 60:.0f} min), RSS peak +"
        f"{mib(loop.peak - loop.start)}"
    )
    print(f"time ratio (extrapolated loop / sample_trajectories): {t_loop * scale / t_ours:.0f}x")
    print(
        "peak RSS above start, sample_trajectories / loop: "
        f"{(ours.peak - ours.start) / max(loop.peak - loop.start, 1):.1f}x"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizer", choices=["momentum", "adam"], default="momentum")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--memory", action="store_true")
    args = parser.parse_args(argv)
    return memory(args) if args.memory else speed(args)


if __name__ == "__main__":
    sys.exit(main())
