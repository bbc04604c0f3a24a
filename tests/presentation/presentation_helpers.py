"""Finding artists by their ``gid`` in the figures under test."""

from __future__ import annotations

import numpy as np
import pandas as pd


def with_gid(artists, gid):
    return [artist for artist in artists if artist.get_gid() == gid]


def lines(ax, gid):
    return with_gid(ax.lines, gid)


def patches(ax, gid):
    return with_gid(ax.patches, gid)


def legend_texts(ax):
    legend = ax.get_legend()
    return [] if legend is None else [text.get_text() for text in legend.get_texts()]


def make_recommendation(**changes):
    """A Recommendation with hand-made evidence (two rounds, 2 replicates)."""
    rows = []
    for round_, steps, lrs in ((0, 10, [1e-3, 1e-2, 1e-1, 1.0]), (1, 20, [1e-2, 1e-1])):
        for lr in lrs:
            for r in range(2):
                loss = (
                    np.inf if lr == 1.0 else (1.0 + abs(np.log10(lr) + 2) + 0.1 * r) / (1 + round_)
                )
                rows.append((round_, steps, lr, r, loss, np.nan, np.nan, np.nan, True))
    evidence = pd.DataFrame(rows, columns=["round", "steps", "lr", "replicate", "loss", "mean",
                                           "pvalue", "pvalue_holm", "kept"])  # fmt: skip
    evidence["mean"] = evidence.groupby(["round", "lr"])["loss"].transform("mean")
    evidence.loc[evidence["lr"].isin([1e-3, 1.0]) & (evidence["round"] == 0), "kept"] = False
    fields = {
        "lr": 1e-2, "ci_low": 3e-3, "ci_high": 3e-2, "evidence": evidence,
        "method": "successive_halving+extrapolation", "alpha": 0.05, "replicates": 2,
        "rounds": 2, "steps_spent": 120, "budget_steps": 200, "stopped": "budget",
        "params": {"lrs": [1e-3, 1e-2, 1e-1, 1.0], "steps_per_epoch": 10, "epochs": 20.0,
                   "extrapolated_log10_lr": -2.1},
    }  # fmt: skip
    fields.update(changes)
    from lrstats.inference.halving import Recommendation

    return Recommendation(**fields)
