"""Coverage of the range test's bootstrap interval of a median (``median_interval``).

For each number of replicates n, draws 2,000 samples of n standard normal values (the
true median is 0), computes the 95% percentile interval of the median over 999 replicate
resamples and prints the share of intervals that contain 0. The numbers are quoted in
``median_interval``'s docstring and docs/classic.md. Runs in about 20 s.

    PYTHONPATH=$PWD python benchmarks/range_test_median_coverage.py
"""

from __future__ import annotations

import numpy as np

from lrstats.inference.range_test import median_interval


def main() -> None:
    rng = np.random.default_rng(20261130)
    for n in (5, 9, 15, 16, 30):
        hits = 0
        for _ in range(2000):
            low, high = median_interval(rng.normal(0.0, 1.0, size=n), rng, 0.95, 999)
            hits += low <= 0.0 <= high
        print(f"n = {n:2d}: coverage {hits / 2000:.4f}", flush=True)


if __name__ == "__main__":
    main()
