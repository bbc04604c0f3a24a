"""How many range-test replicates make each suggestion's interval narrower than a factor 2?

Runs ``lrstats.keras.range_test`` on the demo MLP (RAND HIE data, SGD with momentum 0.9,
the defaults 1e-7 .. 10 over 100 batches of 64 rows) with ``--replicates`` data orders,
then, for every n, analyses random subsets of n of those replicates and prints the
median width factor ``ci_high / ci_low`` of each suggestion's 95% bootstrap interval
and the share of subsets whose interval is narrower than a factor 2.

    PYTHONPATH=. python benchmarks/range_test_replicates.py --replicates 20
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=20)
    parser.add_argument("--subsets", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import numpy as np
    import pandas as pd

    from lrstats.datasets import load_randhie
    from lrstats.inference.range_test import SUGGESTIONS, analyse_range_test
    from lrstats.keras import range_test
    from lrstats.keras.models import demo_model

    data = load_randhie()
    model = demo_model(data.x.shape[1], seed=args.seed)
    start = time.perf_counter()
    result = range_test(
        model, data.x, data.y, replicates=args.replicates, batch_size=64, seed=args.seed
    )
    seconds = time.perf_counter() - start
    frame = result.frame
    print(f"{args.replicates} replicates in {seconds:.1f} s; all replicates:")
    print(result.suggestions.to_string(float_format=lambda v: f"{v:.3g}"))
    rng = np.random.default_rng(args.seed)
    rows = []
    for n in range(2, args.replicates + 1):
        for _ in range(args.subsets if n < args.replicates else 1):
            chosen = rng.choice(args.replicates, size=n, replace=False)
            table = analyse_range_test(
                frame[frame["replicate"].isin(chosen)], n_resamples=1999, rng=rng
            ).suggestions
            for name in SUGGESTIONS:
                rows.append({"n": n, "suggestion": name, "width": table.loc[name, "width_factor"]})
    widths = pd.DataFrame(rows)
    summary = widths.groupby(["n", "suggestion"])["width"].agg(
        median_width="median", share_below_2=lambda w: float(np.mean(w < 2.0))
    )
    print("\nmedian width factor (share of subsets narrower than x2):")
    table = summary.unstack("suggestion")
    for n, row in table.iterrows():
        cells = "  ".join(
            f"{name} {row[('median_width', name)]:6.2f} ({row[('share_below_2', name)]:.2f})"
            for name in SUGGESTIONS
        )
        print(f"  n = {n:2d}: {cells}")


if __name__ == "__main__":
    main()
