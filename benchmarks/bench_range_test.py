"""Overhead of lrstats' range test against a plain fit and the LRFinder blog-post pattern.

Three ways to push the same number of batches of the demo MLP (RAND HIE data, SGD with
momentum) through Keras, side by side in one process, interleaved over repeats:

- ``fit``: a plain ``model.fit`` over ``num_steps`` batches (the floor);
- ``lrstats``: ``lrstats.keras.range_test`` (per-batch loss via a metrics reset,
  bias-corrected EMA, divergence check, snapshot and exact restore, suggestions);
- ``blog``: the common LRFinder pattern: a callback that sets the lr with
  ``optimizer.learning_rate.assign`` before each batch and appends ``logs["loss"]``
  (Keras' running mean) after it; weights saved with ``get_weights``/``set_weights``.

Every variant runs once untimed (tracing), then ``--repeats`` times; the medians, the
minima and their ratios to ``fit`` are printed, and the process CPU time (which other
processes on a shared machine disturb less than the wall clock). The divergence stop is disabled (``diverge_factor`` very
large, an lr range that does not diverge) so all three train exactly ``num_steps``
batches.

    PYTHONPATH=. python benchmarks/bench_range_test.py --num-steps 200 --repeats 7
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    import keras
    import numpy as np

    from lrstats.datasets import load_randhie
    from lrstats.keras import range_test
    from lrstats.keras.models import demo_model

    data = load_randhie()
    rows = args.num_steps * args.batch_size
    x, y = data.x[:rows], data.y[:rows]
    lrs = np.geomspace(1e-6, 1e-2, args.num_steps)
    model = demo_model(x.shape[1], seed=0)

    def plain_fit() -> None:
        model.fit(x, y, batch_size=args.batch_size, epochs=1, shuffle=False, verbose=0)

    def lrstats_range_test() -> None:
        range_test(
            model,
            x,
            y,
            start_lr=1e-6,
            end_lr=1e-2,
            num_steps=args.num_steps,
            batch_size=args.batch_size,
            diverge_factor=1e12,
            seed=0,
            n_resamples=999,
        )

    class BlogLRFinder(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.losses: list[float] = []
            self.step = 0

        def on_train_batch_begin(self, batch, logs=None):
            self.model.optimizer.learning_rate.assign(lrs[self.step])

        def on_train_batch_end(self, batch, logs=None):
            self.losses.append(float(logs["loss"]))
            self.step += 1

    def blog_pattern() -> None:
        weights = model.get_weights()
        model.fit(
            x,
            y,
            batch_size=args.batch_size,
            epochs=1,
            shuffle=False,
            verbose=0,
            callbacks=[BlogLRFinder()],
        )
        model.set_weights(weights)

    variants = {"fit": plain_fit, "lrstats": lrstats_range_test, "blog": blog_pattern}
    for run in variants.values():  # trace once
        run()
    times: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, run in variants.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            run()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    base = statistics.median(times["fit"])
    base_min = min(times["fit"])
    print(
        f"{args.num_steps} batches of {args.batch_size} rows, demo MLP "
        f"({model.count_params()} parameters), {args.repeats} interleaved runs each; "
        "the minimum is the robust figure on a shared machine"
    )
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"  {name:<8} median {median * 1000:8.1f} ms (x{median / base:.3f} of fit)   "
            f"min {min(values) * 1000:8.1f} ms (x{min(values) / base_min:.3f} of fit)"
        )
    cpu_base = statistics.median(cpu["fit"])
    print("process CPU time (all threads), less sensitive to other processes on the machine:")
    for name, values in cpu.items():
        median = statistics.median(values)
        print(f"  {name:<8} median {median * 1000:8.1f} ms (x{median / cpu_base:.3f} of fit)")
    ratio = statistics.median(times["lrstats"]) / statistics.median(times["blog"])
    ratio_min = min(times["lrstats"]) / min(times["blog"])
    print(f"lrstats / blog pattern: x{ratio:.3f} (medians), x{ratio_min:.3f} (minima)")


if __name__ == "__main__":
    main()
