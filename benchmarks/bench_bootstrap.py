"""Time the vectorized replicate bootstrap against scipy.stats.bootstrap and a naive loop.

Run: ``python benchmarks/bench_bootstrap.py [--resamples 10000] [--lrs 100] [--replicates 200]``

Everything is measured side by side in one run and printed with ratios. The three
contenders compute the same thing, a percentile (or BCa) interval for the mean of every lr
from resamples of *replicates*:

- ``lrstats``: :func:`lrstats.summarize` (counts matrix @ data, one BLAS call);
- ``scipy``: :func:`scipy.stats.bootstrap` on the replicates × lrs array along axis 0,
  vectorized over the lrs (the same replicate draws for every lr), in batches of 500;
- ``naive``: a Python loop over resamples that indexes the replicates and takes the
  column means (timed on a fraction of the resamples and scaled up).

It also times :func:`lrstats.select_lr` with the same number of resamples (the ``ucb``
rule uses the moments, ``median`` sorts every lr once and reads the resampled order
statistics from cumulative counts).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

from lrstats.inference import select_lr, summarize
from lrstats.simulate import simulate_frame


def best_of(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resamples", type=int, default=10_000)
    parser.add_argument("--lrs", type=int, default=100)
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--naive-fraction", type=float, default=0.1)
    args = parser.parse_args()

    lrs = np.logspace(-4, -1, args.lrs)
    frame = simulate_frame(lrs=lrs, replicates=args.replicates, rng=0)
    values = (frame["post"] - frame["pre"]).to_numpy().reshape(args.replicates, args.lrs)
    b = args.resamples
    print(
        f"Replicate bootstrap of the mean: {b} resamples x {args.lrs} lrs x "
        f"{args.replicates} replicates (best of {args.repeats})"
    )

    summarize(frame, method="bca", n_resamples=100, rng=0)  # warm-up (imports, BLAS threads)
    results: dict[str, float] = {}
    for method in ("percentile", "bca"):
        results[f"lrstats {method}"] = best_of(
            lambda method=method: summarize(frame, method=method, n_resamples=b, rng=1),
            args.repeats,
        )

        def run_scipy(method=method):
            # one (replicates x lrs) sample resampled along axis 0: whole replicates
            return stats.bootstrap(
                (values,),
                np.mean,
                axis=0,
                n_resamples=b,
                method="BCa" if method == "bca" else method,
                rng=np.random.default_rng(1),
                batch=500,
            )

        results[f"scipy {method}"] = best_of(run_scipy, args.repeats)

    for rule in ("ucb", "median"):
        results[f"lrstats select_lr {rule}"] = best_of(
            lambda rule=rule: select_lr(frame, rule=rule, n_resamples=b, rng=1), args.repeats
        )

    n_naive = max(1, int(b * args.naive_fraction))

    def run_naive():
        rng = np.random.default_rng(1)
        means = np.empty((n_naive, args.lrs))
        for i in range(n_naive):
            means[i] = values[rng.integers(0, args.replicates, args.replicates)].mean(axis=0)
        return np.percentile(means, [2.5, 97.5], axis=0)

    results["naive loop (percentile)"] = best_of(run_naive, 1) * b / n_naive

    reference = results["lrstats percentile"]
    width = max(len(name) for name in results)
    for name, seconds in results.items():
        print(
            f"  {name:<{width}}  {seconds:8.3f} s   x{seconds / reference:7.1f} vs lrstats percentile"
        )
    print(
        f"  lrstats bca / scipy BCa: {results['scipy bca'] / results['lrstats bca']:.0f}x faster; "
        f"lrstats percentile / naive loop: "
        f"{results['naive loop (percentile)'] / results['lrstats percentile']:.0f}x faster"
    )


if __name__ == "__main__":
    main()
