"""Selection quality: does the lr a quick method picks train well?

For every cell (a dataset shipped with scikit-learn or statsmodels × an optimizer; see
``benchmarks/_selection/cells.py``) the truth is the mean final validation loss over 3
seeds of a full training at each of 11 half-decade lrs (``_selection/truth.py``, cached
in ``benchmarks/selection_truth.csv``). Each quick method's pick is scored by its regret
``(truth at the pick - best) / best`` and its cost, the CPU seconds it took divided by
the CPU seconds of the cell's sweep (both single-threaded; the machine is shared, so
CPU time is the stable measure; wall-time ratios are in the CSV too).

Usage (from the repository root)::

    PYTHONPATH=$PWD nice -n 10 python benchmarks/selection_quality.py truth
    PYTHONPATH=$PWD nice -n 10 python benchmarks/selection_quality.py sensitivity-truth
    PYTHONPATH=$PWD nice -n 10 python benchmarks/selection_quality.py methods
    PYTHONPATH=$PWD python benchmarks/selection_quality.py report
    PYTHONPATH=$PWD nice -n 10 python benchmarks/selection_quality.py methods --held-out
    PYTHONPATH=$PWD python benchmarks/selection_quality.py report --held-out

``methods`` appends to ``benchmarks/selection_picks.csv`` and skips the (cell, method
function) pairs already there; ``report`` writes ``docs/selection_quality.md`` (with the
held-out section only given ``--held-out``) and ``docs/figures/selection_regret*.png``
from the two CSVs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import binom, binomtest, norm

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _selection import cells as C
from _selection import methods as M
from _selection import truth as T

ROOT = Path(__file__).resolve().parents[1]
PICKS_CSV = ROOT / "benchmarks" / "selection_picks.csv"
DOC = ROOT / "docs" / "selection_quality.md"
FIGURES = ROOT / "docs" / "figures"


def _picks_path(function: str) -> Path:
    return ROOT / "benchmarks" / f"selection_picks_{function}.csv"


def load_picks() -> pd.DataFrame:
    """Every cached pick: one CSV per method function (``selection_picks_<function>.csv``).

    ``selection_picks.csv`` holds the first run's picks of the other functions; its
    ``recommend`` rows came from an earlier version of the variants and are left out.
    """
    frames = []
    if PICKS_CSV.exists():
        legacy = pd.read_csv(PICKS_CSV)
        frames.append(legacy[legacy["function"] != "recommend"])
    frames += [pd.read_csv(p) for p in sorted(PICKS_CSV.parent.glob("selection_picks_*.csv"))]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def run_methods(cells, functions) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    C.configure_threads()
    old = load_picks()
    done = set(zip(old["cell"], old["function"], strict=True)) if len(old) else set()
    for cell in cells:
        for function in functions:
            if (cell.name, function.__name__) in done:
                continue
            rows = function(cell)
            frame = pd.DataFrame(rows)
            frame.insert(0, "function", function.__name__)
            frame.insert(0, "held_out", cell.held_out)
            frame.insert(0, "cell", cell.name)
            path = _picks_path(function.__name__)
            previous = pd.read_csv(path) if path.exists() else None
            frame = frame if previous is None else pd.concat([previous, frame], ignore_index=True)
            frame.to_csv(path, index=False, float_format="%.9g")
            for row in rows:
                print(f"{cell.name:22s} {row['method']:28s} pick={row['pick']:.3g} "
                      f"cpu={row['cpu_s']:.2f}s", flush=True)  # fmt: skip


def _key(lr: float) -> float:
    """Grid lrs as read from CSV and as computed differ in the last bits: 6 digits."""
    return float(f"{lr:.6g}") if np.isfinite(lr) else lr


#: A pick is "within 5%" when its regret is below this.
THRESHOLD = 0.05


def within(rows: pd.DataFrame, method: str) -> tuple[int, int, float]:
    """``method``'s cells within :data:`THRESHOLD`, its cells, its worst regret."""
    mine = rows[rows["method"] == method]
    return int((mine["regret"] < THRESHOLD).sum()), mine["cell"].nunique(), mine["regret"].max()


#: The row of :func:`scored` that picks by a second full sweep (``replication``).
REPLICATION_METHOD = "full sweep, other batch orders"


def replication_rows(replication: pd.DataFrame) -> pd.DataFrame:
    """Picks of a second full sweep: per cell, the lr with its lowest mean final loss.

    The same grid, seeds (initial weights) and epochs as the truth, other batch orders: a
    method that spends a whole sweep. Scored against the truth, it shows how far two full
    sweeps agree, the best any quick method can expect to match. Its cost is 1 (a sweep).
    """
    final = T.final_table(replication)
    best = final.loc[final.groupby("cell")["val_loss"].idxmin()]
    return pd.DataFrame(
        {
            "cell": best["cell"].to_numpy(),
            "method": REPLICATION_METHOD,
            "pick": best["lr"].to_numpy(),
            "raw_pick": best["lr"].to_numpy(),
            "cost": 1.0,
            "cost_wall": 1.0,
            "step_cost": 1.0,
        }
    )


def scored(
    held_out: bool,
    truth: pd.DataFrame | None = None,
    cost_sweeps: pd.DataFrame | None = None,
    replication: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every pick with its regret against ``truth`` (default: the compiled loop's sweeps).

    Costs are shares of ``cost_sweeps``' CPU and wall time (default: ``truth`` itself).
    With ``replication`` (other sweeps of the same cells), the rows of
    :func:`replication_rows` are scored too.
    """
    truth = T.load_truth() if truth is None else truth
    truth = truth[truth["held_out"] == held_out]
    final = T.final_table(truth)
    sweeps = truth if cost_sweeps is None else cost_sweeps[cost_sweeps["held_out"] == held_out]
    cost = T.sweep_cost(sweeps)
    picks = load_picks()
    if "evidence" in picks:  # the replayed estimator, then the rounds' JSON is not needed
        rounds = picks[picks["function"] == "recommend_rounds"]
        replayed = [M.replay_shrunk(rounds), M.replay_shrunk(rounds, M.LEVEL_OFFSET)]
        parts = [picks, *replayed] if len(rounds) else [picks]
        picks = pd.concat(parts, ignore_index=True).drop(columns="evidence")
    picks = picks[(picks["held_out"] == held_out) & picks["cell"].isin(set(truth["cell"]))].copy()
    picks["cost"] = picks["cpu_s"] / picks["cell"].map(cost["cpu_s"])
    picks["cost_wall"] = picks["wall_s"] / picks["cell"].map(cost["wall_s"])
    sweep_steps = {
        cell.name: len(C.GRID) * len(C.SEEDS) * C.EPOCHS
        * (len(C.load(cell.dataset).x_train) // C.BATCH_SIZE)
        for cell in C.ALL_CELLS
    }  # fmt: skip
    is_rec = picks["function"].str.startswith("recommend")
    picks["step_cost"] = np.where(is_rec, picks["steps"] / picks["cell"].map(sweep_steps), np.nan)
    trunc = pd.DataFrame(M.truncated_methods(truth))
    trunc["cost"] = trunc["epoch_fraction"]
    trunc["step_cost"] = trunc["epoch_fraction"]
    trunc["cost_wall"] = trunc["epoch_fraction"]
    parts = [picks, trunc]
    if replication is not None:
        again = replication_rows(replication[replication["held_out"] == held_out])
        parts.append(again[again["cell"].isin(set(truth["cell"]))])
    return with_regret(pd.concat(parts, ignore_index=True), final)


def with_regret(rows: pd.DataFrame, final: pd.DataFrame) -> pd.DataFrame:
    """``rows`` (``cell``, ``pick``) with the truth at the pick, the best, and the regret.

    ``final`` is the truth's final table (:func:`T.final_table`); a pick off the truth's
    grid or not finite scores infinite.
    """
    best = final.groupby("cell")["val_loss"].min()
    best_lr = final.loc[final.groupby("cell")["val_loss"].idxmin()].set_index("cell")["lr"]
    lookup = final.assign(lr=final["lr"].map(_key)).set_index(["cell", "lr"])["val_loss"]
    keys = [(c, _key(p)) for c, p in zip(rows["cell"], rows["pick"], strict=True)]
    at_pick = np.array([lookup.get(k, np.inf) if np.isfinite(k[1]) else np.inf for k in keys])
    rows = rows.assign(val_loss_at_pick=at_pick)
    rows["best"] = rows["cell"].map(best)
    rows["best_lr"] = rows["cell"].map(best_lr)
    rows["regret"] = (rows["val_loss_at_pick"] - rows["best"]) / rows["best"]
    return rows


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    def agg(group):
        return pd.Series(
            {
                "cells": group["cell"].nunique(),
                "regret<5%": int((group["regret"] < THRESHOLD).sum()),
                "worst regret": group["regret"].max(),
                "median regret": group["regret"].median(),
                "median cost": group["cost"].median(),
                "max cost": group["cost"].max(),
                "median step cost": group["step_cost"].median(),
            }
        )

    out = rows.groupby("method").apply(agg, include_groups=False)
    return out.sort_values(["regret<5%", "worst regret"], ascending=[False, True])


def figure(rows: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = summary(rows).index
    table = rows.pivot_table(index="method", columns="cell", values="regret", aggfunc="first")
    table = table.loc[order]
    shown = np.log10(np.clip(table.to_numpy(dtype=float), 1e-3, 1e3))
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * table.shape[1], 0.6 + 0.32 * table.shape[0]))
    image = ax.imshow(shown, cmap="viridis_r", vmin=-3, vmax=3, aspect="auto")
    ax.set_xticks(range(table.shape[1]), table.columns, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(table.shape[0]), table.index, fontsize=8)
    for (i, j), value in np.ndenumerate(table.to_numpy(dtype=float)):
        text = "inf" if not np.isfinite(value) else f"{value:.2f}"
        ax.text(j, i, text, ha="center", va="center", fontsize=6,
                color="white" if shown[i, j] > 0 else "black")  # fmt: skip
    fig.colorbar(image, ax=ax, label="log10 regret (clipped to [1e-3, 1e3])")
    ax.set_title("Regret of each method's pick (final validation loss vs the best lr)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def markdown(rows: pd.DataFrame, held_out: bool) -> str:
    tag = "held-out" if held_out else "development"
    name = f"selection_regret{'_heldout' if held_out else ''}.png"
    figure(rows, FIGURES / name)
    table = summary(rows)
    per_cell = rows.pivot_table(index="method", columns="cell", values="regret", aggfunc="first")
    picks = rows.pivot_table(index="method", columns="cell", values="pick", aggfunc="first")
    best = rows.drop_duplicates("cell").set_index("cell")["best_lr"]
    lines = [
        f"### {tag.capitalize()} cells ({rows['cell'].nunique()})",
        "",
        "Per method: cells with regret < 5%, worst and median regret, cost as a fraction of "
        "the cell's sweep (CPU time; for the truncated methods, the share of the sweep's epochs) "
        "and, for `recommend_lr` and the truncated methods, the share of the sweep's optimizer "
        "steps (member-steps / the sweep's steps: the cost without tracing and per-call "
        "overhead).",
        "",
        table.to_markdown(floatfmt=".3g"),
        "",
        "Regret per cell:",
        "",
        per_cell.loc[table.index].to_markdown(floatfmt=".3g"),
        "",
        "Picks per cell (best lr of the truth in the first row):",
        "",
        pd.concat(
            [best.to_frame().T.rename(index={"best_lr": "TRUTH best"}), picks.loc[table.index]]
        ).to_markdown(floatfmt=".3g"),  # fmt: skip
        "",
        f"![regret per cell and method](figures/{name})",
        "",
    ]
    return "\n".join(lines)


DEFAULT_METHOD = M.DEFAULT_NAME  # recommend_lr's defaults + epochs=20
CHOSEN_VARIANT = M.CURRENT_VARIANT  # the defaults (the level offset, after the tenth batch)
PREVIOUS_METHOD = M.PREVIOUS_DEFAULT_NAME
KNOWN_METHOD = M.ROUNDS_NAME  # the defaults from the third to the fifth batch
#: The batches nothing about the current defaults was estimated, chosen or looked at.
UNSEEN = C.HELD_OUT_ELEVENTH + C.HELD_OUT_TWELFTH
#: The batches named after the fifth batch chose the shrunk slope and before the level
#: offset was adopted: unseen for the defaults of that time (``M.SHRUNK_NAME``'s rows).
SHRUNK_UNSEEN = (
    C.HELD_OUT_SIXTH + C.HELD_OUT_SEVENTH + C.HELD_OUT_EIGHTH + C.HELD_OUT_NINTH
    + C.HELD_OUT_TENTH
)  # fmt: skip
#: The grid's step in log10 lr (half a decade).
GRID_STEP = float(np.log10(C.GRID[1] / C.GRID[0]))
#: The held-out batches named after ``horizon_slope`` was estimated (out of sample for it).
LATER = (
    C.HELD_OUT_THIRD + C.HELD_OUT_FOURTH + C.HELD_OUT_FIFTH + C.HELD_OUT_SIXTH
    + C.HELD_OUT_SEVENTH + C.HELD_OUT_EIGHTH + C.HELD_OUT_NINTH + C.HELD_OUT_TENTH
    + C.HELD_OUT_ELEVENTH + C.HELD_OUT_TWELFTH
)  # fmt: skip
PREVIOUS_VARIANT = M.PREVIOUS_VARIANT  # chosen on the development cells
#: Every seed the defaults (and the slope variants) were run with.
SEEDS = (0, *M.OTHER_SEEDS)
#: The held-out batches, in the order they were named.
BATCHES = (
    ("first", C.HELD_OUT_FIRST),
    ("second", C.HELD_OUT_SECOND),
    ("third", C.HELD_OUT_THIRD),
    ("fourth", C.HELD_OUT_FOURTH),
    ("fifth", C.HELD_OUT_FIFTH),
    ("sixth", C.HELD_OUT_SIXTH),
    ("seventh", C.HELD_OUT_SEVENTH),
    ("eighth", C.HELD_OUT_EIGHTH),
    ("ninth", C.HELD_OUT_NINTH),
    ("tenth", C.HELD_OUT_TENTH),
    ("eleventh", C.HELD_OUT_ELEVENTH),
    ("twelfth", C.HELD_OUT_TWELFTH),
)


def _english(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _batch_names(group) -> str:
    """The batches of ``group`` for the report's text: "the eleventh batch", "the sixth,
    seventh and eighth batches"."""
    labels = [label for label, cells in BATCHES if set(cells) <= set(group)]
    return f"the {_english(labels)} batch" + ("es" if len(labels) > 1 else "")


#: The :data:`UNSEEN` batches, for the report's text ("the eleventh batch").
UNSEEN_NAMES = _batch_names(UNSEEN)
#: Verbs that go with :data:`UNSEEN_NAMES`: one batch "measures" and "was", several
#: "measure" and "were".
UNSEEN_MEASURE, UNSEEN_WAS = (
    ("measure", "were") if UNSEEN_NAMES.endswith("batches") else ("measures", "was")
)
#: The :data:`SHRUNK_UNSEEN` batches ("the sixth, seventh, eighth, ninth and tenth batches").
SHRUNK_UNSEEN_NAMES = _batch_names(SHRUNK_UNSEEN)
#: The held-out batches by number, for the report's text ("3-11").
LATER_SPAN = "-".join(
    str(i)
    for i in (
        min(i for i, (_, cells) in enumerate(BATCHES, 1) if set(cells) <= set(LATER)),
        max(i for i, (_, cells) in enumerate(BATCHES, 1) if set(cells) <= set(LATER)),
    )
)

INTRO = """# Selection quality: does the chosen lr train well?

Generated by `benchmarks/selection_quality.py report` from `benchmarks/selection_truth.csv`
(the truth) and `benchmarks/selection_picks*.csv` (the methods' picks, one CSV per method
function); do not edit by hand.

**Cells.** A dataset bundled with scikit-learn or statsmodels, or drawn by one of
scikit-learn's generators from a literal seed (no downloads) × an optimizer: development
cells digits (8×8 images, flattened), breast_cancer, diabetes, fair (any affair), randhie
(log1p visits) × SGD (momentum 0.9) and Adam. Held-out cells in eleven batches, each named
before any of its runs: anes96 × SGD, wine × Adam, modechoice × RMSprop; friedman1 × Adam,
hastie × SGD, classification (4 classes) × RMSprop, moons × Nadam, star98 (log-odds) ×
AdamW, grunfeld (log investment) × SGD; friedman2 × RMSprop, circles × SGD, quantiles
(3 classes) × Adam, iris × AdamW, regression × Nadam, friedman3 × Adamax; sparse × Adam,
swiss_roll × SGD, blobs (5 classes) × RMSprop, macrodata (log real investment) × AdamW,
s_curve × Nadam, binary × Adamax; co2 (next week's change), sunspots (next year), engel
(log food expenditure), cancer (log1p deaths), fertility (2010 from 1960-2000) from
statsmodels × SGD, Adam, RMSprop, AdamW, Adamax, an image's pixels (grey level from
position) × Nadam, multilabel (first label) × Lion, low_rank × Adagrad, classification10 ×
Lamb, gaussian_blobs × SGD; flower_pixels × RMSprop, friedman1_wide × Adamax, imbalanced ×
Adam, moons_clean × SGD, quantiles_binary × Lamb, swiss_hole × Adagrad, regression_bias ×
Lion, classification3 × Nadam, blobs_wide × AdamW, circles_tight × SGD; friedman3_noisy ×
SGD, classification_hard × Adam, regression_sparse × RMSprop, s_curve_noisy × AdamW,
circles_loose × Nadam, blobs_tight (4 classes) × Adamax, quantiles4 (4 classes) × Lion,
friedman2_quiet × Lamb, low_rank_wide × Adagrad, moons_noisy × SGD; friedman1_noisy ×
RMSprop, classification5 (5 classes) × SGD, s_curve_clean × Adam, swiss_roll_clean × Nadam,
blobs_many (12 classes) × Lion, quantiles_wide (3 classes) × Adagrad, circles_mid × AdamW,
sparse_wide × Lamb, friedman2_noisy × Adamax, classification_clustered × SGD;
friedman3_clean × Adam, moons_mid × Adam, classification_weighted3 (3 classes) × Nadam,
regression_rank3 × SGD, blobs_unequal (4 classes) × RMSprop, circles_far × Adamax,
swiss_roll_noisy × Adagrad, s_curve_mid × Lion, sparse_narrow × Lamb, friedman1_mid × AdamW;
friedman2_mid × Adam, moons_far × Nadam, classification_sep2 (3 classes) × AdamW,
regression_wide_noisy × RMSprop, blobs_pairs (6 classes) × SGD, quantiles_flat (5 classes) ×
Adamax, swiss_hole_quiet × Lion, s_curve_rough × Lamb, sparse_mid × Adagrad, friedman3_mid ×
Adam; friedman1_quiet × Adam, moons_soft × RMSprop, classification_six (6 classes) × Adam,
regression_small × AdamW, blobs_far (3 classes) × Nadam, quantiles_deep (4 classes) × SGD,
circles_near × Lion, friedman2_loud × Adagrad, swiss_roll_mid × Lamb, s_curve_quiet × Adamax
(the last six batches, flower_pixels apart: scikit-learn's generators with settings no
earlier cell used). "Held-out cells" below says what each of the eleven batches was used for.
One fixed split per dataset (at most 2,000 training and 1,000 validation rows),
standardized features, one MLP (64-64 ReLU), batch 32, 20 epochs, for every cell.

**Truth.** For every cell, full trainings at 11 half-decade lrs (1e-5 … 1) × 3 seeds (the
initial weights and the batch order; the same batches for every lr); the truth at an lr is
the mean final validation loss over the seeds (infinite if a seed diverged). Regret of a
pick = (truth at the pick − best) / best. Each epoch is Keras' own `train_step` over the
epoch's batches in one compiled loop (plain `fit` spent ~0.1 s an epoch in overhead, more
than the small cells' training). The same sweeps run by the sweeps tool,
`lrstats.keras.sensitivity` (one `fit` per run), are the cross-check at the end of this page.

**Picks off the grid** (range tests, autolrtuner's linear grid) are scored at the nearest
grid lr in log10: the truth has no other lrs, and a half-decade is the resolution every
grid method has here. Every other method picks from the grid itself.

**Cost** = the method's CPU seconds / the CPU seconds of the cell's full sweep (both
single-threaded, on a machine shared by several processes, where CPU time is the stable
measure; wall-time ratios are in the picks CSV). For the truncated methods read off the
truth (`trunc e ep`, `halving 1-2-4-8 ep`) it is the share of the sweep's epochs they use.
Every method that needs validation data gets the benchmark's validation split.
"""


def replication_note(rows: pd.DataFrame) -> str:
    """What a second full sweep scores against the truth (empty without one)."""
    good, n, worst = within(rows, REPLICATION_METHOD)
    if n == 0:
        return ""
    mine_good, mine_n, _ = within(rows, DEFAULT_METHOD)
    interval = binomtest(mine_good, mine_n).proportion_ci(method="exact")
    return (
        f"A second full sweep of every lr (`{REPLICATION_METHOD}`: the `sensitivity` "
        "sweeps of the cross-check below, the same initial weights, other batch orders), "
        "picking its own best lr at 20 times the target's cost, is within 5% of this "
        f"truth's best in {good} of {n} cells (worst regret {worst:.3g}): "
        "two full sweeps agree to about the target's threshold, so the target asks a quick "
        f"method to match what a repeated sweep reaches, and {n} cells cannot tell such "
        "counts apart (the two-sided 95% Clopper-Pearson interval of the defaults' "
        f"{mine_good}/{mine_n} is {interval.low:.2f}-{interval.high:.2f}). "
        "This row chose nothing."
    )


def seeds_note(dev: pd.DataFrame, held: pd.DataFrame | None) -> str:
    """The defaults with other seeds (``M.OTHER_SEEDS``), against the same truth."""
    names = [M.seed_name(DEFAULT_METHOD, seed) for seed in SEEDS]
    if not all((dev["method"] == name).any() for name in names):
        return ""
    parts = []
    for seed, name in zip(SEEDS, names, strict=True):
        good, n, worst = within(dev, name)
        text = f"for seed {seed}, {good}/{n} development (worst {worst:.3g})"
        if held is not None and (held["method"] == name).any():
            good_h, n_h, worst_h = within(held, name)
            text += f" and {good_h}/{n_h} held-out (worst {worst_h:.3g})"
        parts.append(text)
    mean = np.mean([within(dev, name)[0] for name in names])
    others = " and ".join(str(seed) for seed in M.OTHER_SEEDS)
    return (
        "The recommendation is random too: its `seed` draws the replicates' minibatches "
        "(and, without `validation_data`, the validation split; the benchmark passes its "
        f"own). Run with the same defaults and seeds {others} (the rows "
        f"`{DEFAULT_METHOD}, seed=…`), the cells within 5% were: "
        + "; ".join(parts)
        + f"; {mean:.1f} development cells on average. The slope of the defaults was "
        "estimated on the development cells, so these counts are in-sample at every seed; "
        f"{UNSEEN_NAMES} (below) {UNSEEN_MEASURE} them unseen."
    )


def batch_table(held: pd.DataFrame) -> pd.DataFrame:
    """Cells within 5% (and the worst regret) per held-out batch, seed 0: the current
    defaults, the three defaults before them and Keras' default lrs."""
    methods = {
        "recommend_lr defaults (current)": DEFAULT_METHOD,
        "shrunk slope (defaults, fifth to tenth batch)": M.SHRUNK_NAME,
        "known slope -0.7 (defaults, third to fifth batch)": KNOWN_METHOD,
        "recommend_lr previous defaults": PREVIOUS_METHOD,
        "Keras' default lr (`default`)": "default",
    }
    records = []
    for label, cells in BATCHES:
        rows = in_cells(held, cells)
        record = {"batch": label}
        for column, method in methods.items():
            good, n, worst = within(rows, method)
            record[column] = f"{good}/{n}, worst {worst:.3g}" if n else ""
        records.append(record)
    return pd.DataFrame(records)


def miss_directions(rows: pd.DataFrame, name: str) -> str:
    """Which way ``name``'s runs (every seed) miss: too large or too small, and by optimizer.

    A miss is a run whose regret exceeds the threshold; its direction compares the raw pick
    (before the nearest grid lr is taken) with the cell's best lr. Empty without those
    columns or without misses.
    """
    names = [M.seed_name(name, seed) for seed in SEEDS]
    runs = rows[rows["method"].isin(names)]
    if not {"raw_pick", "best_lr"} <= set(runs.columns) or not len(runs):
        return ""
    error = np.log10(runs["raw_pick"].to_numpy(float) / runs["best_lr"].to_numpy(float))
    missed = runs["regret"].to_numpy(float) > THRESHOLD
    if not missed.any():
        return ""
    optimizer = runs["cell"].str.split("/").str[1].to_numpy()
    per = pd.DataFrame({"optimizer": optimizer, "missed": missed, "error": error})
    worst = per.groupby("optimizer").agg(
        runs=("missed", "size"), misses=("missed", "sum"), error=("error", "mean")
    )
    worst = worst.sort_values(["misses", "runs"], ascending=[False, True]).iloc[0]
    return (
        f" Where they miss, the raw pick is larger than the best lr in "
        f"{int((error[missed] > 0).sum())} of {int(missed.sum())} runs and smaller in "
        f"{int((error[missed] < 0).sum())} (log10 error of the misses {error[missed].mean():+.2f} "
        f"decades on average, of all runs {error.mean():+.2f}); the most misses under "
        f"{worst.name}: {int(worst['misses'])} of {int(worst['runs'])} runs, its picks "
        f"{worst['error']:+.2f} decades from the best on average."
    )


def unseen_rate(rows: pd.DataFrame, name: str, label: str) -> str:
    """`name`'s cells within 5% on ``rows`` (seed 0), its runs over seeds, the rate's
    Clopper-Pearson interval and which way it misses; empty without rows."""
    good, n, worst = within(rows, name)
    if not n:
        return ""
    interval = binomtest(good, n).proportion_ci(method="exact")
    counts = seed_counts(rows, name)
    runs = f"; over seeds 0, 1 and 2, {counts['total']} of {counts['of']} runs" if counts else ""
    mine = rows[rows["method"] == name]
    where = ""
    if {"val_loss_at_pick", "best"} <= set(mine.columns):
        row = mine.loc[mine["regret"].idxmax()]
        where = (
            f", on {row['cell']}: final validation loss {row['val_loss_at_pick']:.2g} "
            f"at the pick against {row['best']:.2g} at the best"
        )
    return (
        f"{label} are within 5% in {good}/{n} cells (worst regret {worst:.3g}{where}){runs}; "
        f"the rate's two-sided 95% Clopper-Pearson interval is {interval.low:.2f}-"
        f"{interval.high:.2f} (the target's 9 of 10 is 0.90)." + miss_directions(rows, name)
    )


def held_out_note(held: pd.DataFrame) -> str:
    """What each held-out batch says about the current defaults, and the unseen batches' rate."""
    unseen = in_cells(held, UNSEEN)
    current = unseen_rate(unseen, DEFAULT_METHOD, "the current defaults")
    rate = f" On the unseen cells ({UNSEEN_NAMES}) {current}" if current else ""
    before = unseen_rate(
        in_cells(held, SHRUNK_UNSEEN), M.SHRUNK_NAME, f"the defaults before it (`{M.SHRUNK_NAME}`)"
    )
    if before:
        rate += f" On {SHRUNK_UNSEEN_NAMES}, unseen before the level offset, {before}"
    ceiling = ""
    again, n_again, worst_again = within(held, REPLICATION_METHOD)
    if n_again:
        later = []
        for label, group in (
            ("unseen ones", UNSEEN),
            ("cells of the sixth to tenth batches", SHRUNK_UNSEEN),
        ):
            hits, n_group, _ = within(in_cells(held, group), REPLICATION_METHOD)
            if n_group:
                later.append(f"{hits} of the {n_group} {label}")
        of_later = f", {' and '.join(later)}" if later else ""
        ceiling = (
            " How far a pick can agree with this truth at all: a second full sweep "
            f"(`{REPLICATION_METHOD}`, at 20 times the target's cost) is within 5% in "
            f"{again} of the {n_again} held-out cells it has run on{of_later} (worst regret "
            f"{worst_again:.3g})."
        )
    return (
        f"{len(BATCHES)} batches, each named before any of its runs. What they can say about the "
        "current defaults differs: the development cells and the first two batches gave "
        f"the known slope, {M.HORIZON_SLOPE}; the third chose one replicate and that slope "
        "between two variants by a rule fixed before its runs; the fourth measured those "
        "defaults unseen; the alternative to them, the slope moved halfway "
        f"(`fitted_slope_weight={M.SHRINK_WEIGHT:g}`) to the rounds' own, was written down on "
        "the 31 cells of the first four batches and the development cells, and the fifth "
        "chose it by a rule fixed before its runs (`FIFTH_RULE`, below), so the counts of "
        "the third and fifth batches carry those choices' optimism; the sixth to the tenth "
        "were named after that choice and measured those defaults unseen (the seventh to the "
        "tenth with nothing to choose about them). The level offset "
        f"(`level_offset={M.LEVEL_OFFSET:g}`) was estimated on the development cells and the "
        "first five batches after the mean error on the sixth to eighth had been looked at; "
        "the ninth passed it by a rule fixed before its runs, the tenth measured it, and it "
        'was adopted after the tenth (see "The ninth batch"), so none of the first ten batches '
        f"is unseen for the current defaults. {UNSEEN_NAMES.capitalize()} {UNSEEN_WAS} named "
        "after that, each before its runs, with nothing to choose."
        + rate
        + ceiling
        + " The previous defaults were fixed on the development "
        "cells before any held-out batch was named. No other row chose anything on these "
        "cells: they were run to compare."
    )


def fifth_section(dev: pd.DataFrame, held: pd.DataFrame | None) -> list:
    """``M.FIFTH_RULE`` applied to the fifth batch: the known slope against the shrunk one;
    the same two on the cells seen before it and on the batches after it that were unseen
    for it (:data:`SHRUNK_UNSEEN`).

    The section's lines, its table a DataFrame (``document`` renders it; tabulate is not a
    test dependency); empty without the fifth batch's rows.
    """
    if held is None:
        return []
    names = (KNOWN_METHOD, M.SHRUNK_NAME)
    fifth = in_cells(held, C.HELD_OUT_FIFTH)
    counts = {name: seed_counts(fifth, name) for name in names}
    if any(value is None for value in counts.values()):
        return []
    earlier_cells = C.HELD_OUT_FIRST + C.HELD_OUT_SECOND + C.HELD_OUT_THIRD + C.HELD_OUT_FOURTH
    earlier = pd.concat([dev, in_cells(held, earlier_cells)])
    n_earlier = earlier["cell"].nunique()
    before = {name: seed_counts(earlier, name) for name in names}
    after = {name: seed_counts(in_cells(held, SHRUNK_UNSEEN), name) for name in names}
    known, shrunk = counts[KNOWN_METHOD], counts[M.SHRUNK_NAME]
    chosen = shrunk["total"] >= known["total"] and shrunk["worst regret"] < known["worst regret"]
    table = pd.DataFrame(counts).T.drop(columns="median cost")
    return [
        "## The fifth batch: how far the slope is known (`fitted_slope_weight`)",
        "",
        "After the fourth batch, the defaults' rounds were kept "
        f"(`{KNOWN_METHOD}`, seeds 0, 1 and 2 on every cell) so that other estimators can "
        f"be replayed on the same training. One was written down on the {n_earlier} cells "
        f"seen so far: the slope moved {M.SHRINK_WEIGHT:g} of the way from -0.7 to the rounds' own "
        "least-squares slope (a shrinkage estimate; on those cells "
        + _pair(before)
        + "). The fifth batch "
        f"({', '.join(c.name for c in C.HELD_OUT_FIFTH)}) was named, and the rule "
        f"that decides on it fixed ({M.FIFTH_RULE}), before any of its runs.",
        "",
        table,
        "",
        "Decision: "
        + (
            f"the shrunk slope is chosen; `recommend_lr(fitted_slope_weight="
            f"{M.SHRINK_WEIGHT:g})` was the default from then (its picks are the replayed rows "
            f"`{M.SHRUNK_NAME}`: the same rounds, the same line), and stays part of the "
            'defaults under the level offset (see "The ninth batch").'
            if chosen
            else "the known slope stays."
        ),
        "",
        (
            f"On the cells unseen for it ({SHRUNK_UNSEEN_NAMES}, named after this decision "
            "and before their runs): "
            + _pair(after)
            + ". The decision is not revisited on them: that would make them batches that "
            "chose."
            if all(value is not None for value in after.values())
            else ""
        ),
        "",
    ]


def ninth_section(dev: pd.DataFrame, held: pd.DataFrame | None) -> list:
    """``M.NINTH_RULE`` applied to the ninth batch: the defaults' line moved down by
    ``M.LEVEL_OFFSET`` against the defaults, both replayed on the same rounds; the same two
    on the cells the offset was estimated on, on the tenth batch (unseen for it) and, after
    its adoption, on :data:`UNSEEN`. Empty without the ninth batch's rows."""
    if held is None:
        return []
    names = (M.OFFSET_NAME, M.SHRUNK_NAME)
    ninth = in_cells(held, C.HELD_OUT_NINTH)
    counts = {name: seed_counts(ninth, name) for name in names}
    if any(value is None for value in counts.values()):
        return []
    estimated = pd.concat([dev, in_cells(held, [c for _, b in BATCHES[:5] for c in b])])
    before = {name: seed_counts(estimated, name) for name in names}
    runs = estimated[estimated["method"].isin([M.seed_name(M.SHRUNK_NAME, s) for s in SEEDS])]
    overshoot = np.log10(runs["raw_pick"] / runs["best_lr"]).mean()
    offset, defaults = counts[M.OFFSET_NAME], counts[M.SHRUNK_NAME]
    worth = offset["total"] > defaults["total"] and offset["worst regret"] <= max(
        0.25, defaults["worst regret"]
    )

    def pair(found: dict) -> str:
        a, b = found[M.OFFSET_NAME], found[M.SHRUNK_NAME]
        return (
            f"the moved line has {a['total']} of {a['of']} runs within 5% against "
            f"{b['total']} for the line unmoved, worst regret {a['worst regret']:.3g} against "
            f"{b['worst regret']:.3g}"
        )

    tenth = {name: seed_counts(in_cells(held, C.HELD_OUT_TENTH), name) for name in names}
    unseen = in_cells(held, UNSEEN)
    eleventh = {name: seed_counts(unseen, name) for name in names}
    current = seed_counts(unseen, DEFAULT_METHOD)
    same, runs_rerun = _same_picks(pd.concat([dev, held]), DEFAULT_METHOD, M.OFFSET_NAME)
    rerun = (
        f"; `{DEFAULT_METHOD}`, rerun with it on every cell, repeats the replayed candidate's "
        f"picks in {same} of {runs_rerun} runs (cells × seeds)"
        if runs_rerun
        else ""
    )
    adopted = (
        f"Adopted after the tenth: `recommend_lr(level_offset={M.LEVEL_OFFSET:g})` is the "
        f"default now{rerun}. The adoption "
        "followed the tenth's counts, so the tenth is not unseen for it; "
        f"{UNSEEN_NAMES} ({', '.join(c.name for c in UNSEEN)}) {UNSEEN_WAS} named after the "
        "adoption and before their runs, with nothing to choose"
        + (
            f": there the defaults have {current['total']} of {current['of']} runs within 5% "
            f"(worst regret {current['worst regret']:.3g}), and, replayed on the same rounds, "
            + pair(eleventh)
            + "."
            if current is not None and all(value is not None for value in eleventh.values())
            else "; the runs are not in yet."
        )
    )
    table = pd.DataFrame(counts).T.drop(columns="median cost")
    return [
        "## The ninth batch: the line's level (`LEVEL_OFFSET`)",
        "",
        f"On the development cells and the first five held-out batches ({runs['cell'].nunique()} "
        f"cells, {len(runs)} runs over seeds 0, 1 and 2) the defaults' raw pick (the "
        f"extrapolated lr before the nearest grid lr is taken; `{M.SHRUNK_NAME}`, the "
        f"defaults replayed on their own rounds) lies {overshoot:+.3f} decades from the best "
        "grid lr on average: the line's level, not its slope, is too high. The candidate "
        f"`{M.OFFSET_NAME}` moves the line by {M.LEVEL_OFFSET:+g} decades, replayed on the "
        "same rounds (no other training); on the cells it was estimated on, "
        + pair(before)
        + ". It was written down after the unseen batches' mean error had been looked at, so "
        "they cannot judge it. The ninth batch "
        f"({', '.join(c.name for c in C.HELD_OUT_NINTH)}) was named, and the rule that "
        f"decides on it fixed ({M.NINTH_RULE}), before any of its runs.",
        "",
        table,
        "",
        "Decision: "
        + (
            "the moved line passes the rule; it was not made the default at once: the ninth "
            "batch chose it, so a later batch, named before its runs, measured it first."
            if worth
            else "the moved line fails the rule and is dropped; the defaults stay."
        ),
        "",
        (
            f"On the tenth batch ({', '.join(c.name for c in C.HELD_OUT_TENTH)}), named after "
            "this decision and before its runs: "
            + pair(tenth)
            + "."
            + (f" {adopted}" if worth else "")
            if all(value is not None for value in tenth.values())
            else ""
        ),
        "",
    ]


#: The cell groups of :func:`precision_section`: where ``horizon_slope``'s -0.7 was
#: estimated (in-sample for it) and the four batches after (out of sample).
PRECISION_GROUPS = (
    ("development", C.DEVELOPMENT),
    ("held-out, batches 1-2", C.HELD_OUT_FIRST + C.HELD_OUT_SECOND),
    (f"held-out, batches {LATER_SPAN}", LATER),
)


def precision_table(rows: pd.DataFrame, final: pd.DataFrame) -> pd.DataFrame:
    """How far a pick may miss, and how far the defaults miss, per :data:`PRECISION_GROUPS`.

    ``rows`` are scored picks (any cells), ``final`` the truth's final table. Per group:
    the grid lrs within 5% of the cell's best (mean over cells), the cells where only the
    best is; over the defaults' runs (seeds 0, 1 and 2), the error of the raw pick in log10
    lr (raw pick / the best lr; mean and sd), the runs whose pick is the best grid lr or a
    neighbour, the runs within 5% and the runs whose interval (``ci_low``, ``ci_high``;
    runs with a finite one) holds the best lr; the second full sweep's cells within 5%.
    """
    best = final.groupby("cell")["val_loss"].transform("min")
    good = final.assign(good=(final["val_loss"] - best) / best < THRESHOLD)
    width = good.groupby("cell")["good"].sum()
    names = [M.seed_name(DEFAULT_METHOD, seed) for seed in SEEDS]
    records = []
    for label, cells in PRECISION_GROUPS:
        mine = in_cells(rows, cells)
        runs = mine[mine["method"].isin(names)]
        if runs.empty:
            continue
        widths = width[width.index.isin(set(runs["cell"]))]
        error = np.log10(runs["raw_pick"] / runs["best_lr"])
        steps = np.rint(np.log10(runs["pick"] / runs["best_lr"]) / GRID_STEP)
        again, n_again, _ = within(mine, REPLICATION_METHOD)
        finite = runs[np.isfinite(runs["ci_low"]) & np.isfinite(runs["ci_high"])]
        covered = finite["best_lr"].between(finite["ci_low"], finite["ci_high"])
        records.append(
            {
                "cells": label,
                "n": len(widths),
                "lrs within 5% (mean)": widths.mean(),
                "cells with one": int((widths == 1).sum()),
                "error mean": error.mean(),
                "error sd": error.std(),
                "runs within one grid step": f"{int((steps.abs() <= 1).sum())}/{len(runs)}",
                "runs within 5%": f"{int((runs['regret'] < THRESHOLD).sum())}/{len(runs)}",
                "best lr in the 95% interval": f"{int(covered.sum())}/{len(finite)}",
                "second sweep within 5%": f"{again}/{n_again}" if n_again else "",
            }
        )
    return pd.DataFrame(records).set_index("cells")


def precision_section(dev: pd.DataFrame, held: pd.DataFrame | None, loop: pd.DataFrame) -> list:
    """Why the held-out counts are lower: how narrow the cells' optima are, and how far the
    defaults' picks scatter. Lines and a DataFrame (as :func:`fifth_section`)."""
    if held is None:
        return []
    table = precision_table(pd.concat([dev, held]), T.final_table(loop))
    if table.empty or len(table) < len(PRECISION_GROUPS):
        return []
    dev_row, late = table.iloc[0], table.iloc[-1]
    needed = GRID_STEP / 2 / norm.ppf(0.95)  # P(|error| < GRID_STEP / 2) = 0.9
    return [
        "## How precise a pick must be",
        "",
        "The grid has half-decade steps (0.5 in log10 lr). A pick is within 5% when it lands "
        "on a grid lr whose final validation loss is within 5% of the best one's, and how "
        "many such lrs a cell has differs: on the development cells "
        f"{dev_row['lrs within 5% (mean)']:.2g} on average, and only the best in "
        f"{dev_row['cells with one']} of {dev_row['n']}; on the {late['n']} cells of "
        f"{late.name.removeprefix('held-out, ')} {late['lrs within 5% (mean)']:.2g} on average, and only the best in "
        f"{late['cells with one']}. There a pick within 5% is, mostly, the best grid lr "
        "itself. The defaults' raw picks (before the nearest grid lr is taken) miss the best "
        f"lr by {late['error mean']:+.2f} decades on average with a standard deviation of "
        f"{late['error sd']:.2f} over those cells and seeds 0, 1 and 2 "
        f"({dev_row['error sd']:.2f} on the development cells), {late['error sd'] / GRID_STEP:.1f} "
        "grid steps: most of their picks are the best lr or a neighbour, and which of the "
        "two decides the count. To land on the best grid lr in 9 of 10 such cells, an "
        "unbiased normal error would need a standard deviation of "
        f"{needed:.2f} decades (a quarter of a decade on either side at probability 0.9). "
        "`error` is log10(raw pick / best lr); `runs within one grid step` counts picks at "
        "the best grid lr or a neighbour; `best lr in the 95% interval` counts the runs whose 95% "
        "interval (`Recommendation.ci_low`, `ci_high`; runs with at least three rounds, where it "
        "is finite) holds the best grid lr. That interval is for the line's level at 20 "
        "epochs under the model of the line, not for the best lr itself.",
        "",
        table,
        "",
    ]


def ceiling_table(rows: pd.DataFrame, other: pd.DataFrame, loop: pd.DataFrame) -> pd.DataFrame:
    """Cells within 5% of :func:`M.horizon_ceiling`'s picks, per horizon and seed set.

    The picks come from ``other`` (the ``sensitivity`` sweeps) and are scored against the
    compiled loop's truth (``loop``) on the cells both cover; ``rows`` (scored picks of
    any cells) give recommend_lr's defaults on the same cells for the last row.
    """
    final = T.final_table(loop)
    picks = pd.DataFrame(M.horizon_ceiling(other))
    picks = with_regret(picks[picks["cell"].isin(set(final["cell"]))], final)
    records = []
    for (seeds, epochs), group in picks.groupby(["seeds", "epochs"], sort=False):
        record = {"seeds": seeds, "epochs": epochs,
                  "share of the sweep": group["epoch_fraction"].iloc[0]}  # fmt: skip
        for rule, label in (("lowest", "lowest loss there"), ("carried", "carried to 20 ep")):
            mine = group[group["rule"] == rule]
            record[label] = f"{int((mine['regret'] < THRESHOLD).sum())}/{len(mine)}"
        records.append(record)
    cells = set(picks["cell"])
    names = [M.seed_name(DEFAULT_METHOD, seed) for seed in SEEDS]
    runs = rows[rows["method"].isin(names) & rows["cell"].isin(cells)]
    seed0 = runs[runs["method"] == DEFAULT_METHOD]
    if len(seed0):
        records.append(
            {
                "seeds": "recommend_lr defaults",
                "epochs": "1, 2, 4, 8 (halving)",
                "share of the sweep": runs["step_cost"].median(),
                "lowest loss there": "",
                "carried to 20 ep": f"{int((seed0['regret'] < THRESHOLD).sum())}/{len(seed0)} "
                f"(runs {int((runs['regret'] < THRESHOLD).sum())}/{len(runs)})",
            }
        )
    return pd.DataFrame(records)


def ceiling_section(rows: pd.DataFrame, other: pd.DataFrame, loop: pd.DataFrame) -> list:
    """How many cells any pick from one horizon can get: :func:`ceiling_table` with its
    reading: Markdown lines and the table as a DataFrame (``document`` renders it; tabulate
    is not a test dependency); empty without the second truth's full sweeps."""
    table = ceiling_table(rows, other, loop)
    full = table[(table["seeds"] != "seed 0") & (table["epochs"] == C.EPOCHS)]
    if full.empty:
        return []
    good, n = (int(v) for v in full["lowest loss there"].iloc[0].split("/"))
    rate = good / n
    interval = binomtest(good, n).proportion_ci(method="exact")
    nine = float(binom.sf(8, 10, rate))
    horizons = table[table["seeds"] != "recommend_lr defaults"]
    carried = horizons["carried to 20 ep"].map(lambda v: int(v.split("/")[0]))
    cheap = carried[horizons["share of the sweep"] <= 0.05]
    eight = horizons[(horizons["seeds"] != "seed 0") & (horizons["epochs"] == 8)]
    lines = [
        "## How much a short horizon can tell",
        "",
        "Which lr trains best for 20 epochs is decided by the truth's three runs per lr, and "
        "a pick counts when it lands on a grid lr within 5% of the best. How often can any "
        "method land there from training every lr for a shorter time? Here the picks are "
        "read off the second truth (`sensitivity`'s sweeps: the same initial weights, other "
        "batch orders) stopped after `epochs`, on seed 0 or on all three seeds, and scored "
        "against the compiled loop's truth, so no pick sees the runs that judge it: "
        "`lowest loss there` takes the lr of lowest mean validation loss at that horizon, "
        "`carried to 20 ep` takes recommend_lr's estimator on that one round with complete "
        "information (the parabola through the best lr and its neighbours, moved along the "
        f"slope {M.HORIZON_SLOPE} to 20 epochs, no level offset). `share of the sweep` is "
        "the share of the sweep's epochs that costs (for recommend_lr, the median share of "
        "its optimizer steps). The last row is recommend_lr's defaults on the same cells "
        "(seed 0; in brackets seeds 0, 1 and 2).",
        "",
        table.set_index("seeds"),
        "",
        f"A whole second sweep (three seeds, 20 epochs, the full cost) lands within 5% in "
        f"{good} of {n} cells, a rate of {rate:.2f} (95% Clopper-Pearson {interval.low:.2f}-"
        f"{interval.high:.2f}): the truth's own seed-to-seed noise at the 5% threshold. A "
        f"method that good reaches 9 of 10 cells with probability {nine:.2f} "
        "(binomial, at that rate).",
    ]
    if len(cheap) and len(eight):
        lines[-1] += (
            f" Within 5% of the sweep's cost, every lr at one horizon reaches at most "
            f"{cheap.max()} of {n}; every lr trained 8 of the 20 epochs on all three seeds "
            f"(40% of the sweep) reaches {eight['carried to 20 ep'].iloc[0]}. The target of "
            "9 of 10 unseen cells at 5% of the cost is above what this benchmark's truth "
            "lets any method reach reliably; the question a quick method can answer is how "
            "close it comes to the second sweep."
        )
    return [*lines, ""]


def _same_picks(rows: pd.DataFrame, first: str, second: str) -> tuple[int, int]:
    """Runs (cell, seed) where ``first`` and ``second`` (and their seed rows) pick alike."""
    pairs = 0
    same = 0
    for seed in SEEDS:
        a = rows[rows["method"] == M.seed_name(first, seed)].set_index("cell")["pick"]
        b = rows[rows["method"] == M.seed_name(second, seed)].set_index("cell")["pick"]
        both = a.index.intersection(b.index)
        pairs += len(both)
        same += int(np.isclose(a[both], b[both]).sum())
    return same, pairs


def _pair(counts: dict) -> str:
    """ "a of n runs within 5% against b, worst regret x against y": shrunk, then known."""
    shrunk, known = counts[M.SHRUNK_NAME], counts[KNOWN_METHOD]
    if shrunk is None or known is None:
        return "not run"
    return (
        f"the shrunk slope has {shrunk['total']} of {shrunk['of']} runs within 5% against "
        f"the known slope's {known['total']}, worst regret {shrunk['worst regret']:.3g} "
        f"against {known['worst regret']:.3g}"
    )


#: The defaults the ``horizon_slope`` variants are judged against (``M.SLOPE_RULE``).
SLOPE_BASELINE = PREVIOUS_METHOD


def in_cells(rows: pd.DataFrame, cells) -> pd.DataFrame:
    """The rows of ``cells`` (a batch of :class:`C.Cell`)."""
    return rows[rows["cell"].isin({cell.name for cell in cells})]


def seed_counts(rows: pd.DataFrame, name: str) -> dict | None:
    """Cells within 5% per seed, their total, the worst regret over seeds, the median cost."""
    names = [M.seed_name(name, seed) for seed in SEEDS]
    found = [within(rows, seed_name) for seed_name in names]
    if any(n == 0 for _, n, _ in found):
        return None
    mine = rows[rows["method"].isin(names)]
    return {
        **{f"seed {seed}": f"{good}/{n}" for seed, (good, n, _) in zip(SEEDS, found, strict=True)},
        "total": sum(good for good, _, _ in found),
        "of": sum(n for _, n, _ in found),
        "worst regret": max(worst for _, _, worst in found),
        "median cost": mine["cost"].median(),
    }


def slope_decision(third: pd.DataFrame) -> tuple[str | None, pd.DataFrame]:
    """:data:`M.SLOPE_RULE` applied to the third held-out batch's rows.

    Returns the chosen variant (None: the defaults stay) and the table it was read from.
    """
    names = [SLOPE_BASELINE, *M.SLOPE_VARIANTS]
    table = pd.DataFrame({name: seed_counts(third, name) for name in names}).T
    if table.empty or table.isna().all(axis=None) or SLOPE_BASELINE not in table.index:
        return None, table
    base = table.loc[SLOPE_BASELINE]
    limit = max(0.25, float(base["worst regret"]))
    admissible = table.loc[list(M.SLOPE_VARIANTS)]
    admissible = admissible[
        (admissible["total"] >= base["total"]) & (admissible["worst regret"] <= limit)
    ]
    if admissible.empty:
        return None, table
    order = admissible.assign(cells=-admissible["total"].astype(int)).sort_values(
        ["cells", "worst regret", "median cost"]
    )
    return str(order.index[0]), table


def slope_section(dev: pd.DataFrame, held: pd.DataFrame | None, loop: pd.DataFrame) -> str:
    """``recommend_lr(horizon_slope=...)``: the estimate, the variants, the decision."""
    pooled, own = T.optimum_slope(
        in_cells(loop, C.DEVELOPMENT + C.HELD_OUT_FIRST + C.HELD_OUT_SECOND)
    )
    groups = [("development (10)", dev)]
    if held is not None:
        for label, cells in (
            ("held-out, batches 1-2", C.HELD_OUT_FIRST + C.HELD_OUT_SECOND),
            ("held-out, third batch", C.HELD_OUT_THIRD),
            ("held-out, fourth batch", C.HELD_OUT_FOURTH),
        ):
            groups.append((label, in_cells(held, cells)))
    records = []
    for label, rows in groups:
        for name in [SLOPE_BASELINE, *M.SLOPE_VARIANTS]:
            counts = seed_counts(rows, name)
            if counts is not None:
                records.append({"cells": label, "method": name, **counts})
    lines = [
        "## The optimum's drift with the training length (`horizon_slope`)",
        "",
        f"In {int((own < 0).sum())} of the {len(own)} cells of the development and the first "
        "two held-out batches, the best lr of the truth's own runs falls as the training "
        "grows: the optimum log10 "
        "lr after each epoch (the 3 seeds' losses, `round_optima`'s estimator) regressed on "
        f"log10(epoch) has a slope between {own.min():.2f} and {own.max():.2f} (median "
        f"{own.median():.2f}); pooled within cells, {pooled:.3f}. The previous defaults "
        "fitted that slope to their own two to four round optima, grid-quantized and noisy, "
        f"and the fit was often flat. `recommend_lr(..., horizon_slope={M.HORIZON_SLOPE})` "
        "takes the slope "
        "as known (the pooled estimate, rounded) and fits only the line's level. The rows "
        f"`{'`, `'.join(M.SLOPE_VARIANTS)}` run it with the previous defaults' schedule and "
        "with one replicate at a budget of 3 (within 5% of the sweep's steps), each with "
        f"seeds 0, 1 and 2. On the {len(own)} cells the slope was estimated on, they are "
        f"in-sample; the third held-out batch ({', '.join(c.name for c in C.HELD_OUT_THIRD)}) "
        f"was named, and the rule that decides on it fixed ({M.SLOPE_RULE}), before any of "
        "its runs.",
        "",
        pd.DataFrame(records).to_markdown(index=False, floatfmt=".3g") if records else "",
        "",
    ]
    later = in_cells(loop, LATER)
    if len(later):
        pooled_later, own_later = T.optimum_slope(later)
        flat = sorted(own_later[own_later > -0.1].index)
        lines += [
            f"Out of sample, in the {len(own_later)} cells of the third to {BATCHES[-1][0]} batches, "
            f"the same slope is weaker: pooled {pooled_later:.3f}, between "
            f"{own_later.min():.2f} and {own_later.max():.2f}; above -0.1 (no drift, or a "
            f"rise) in {len(flat)} ({', '.join(flat)}). Where the optimum does not move, "
            "a known slope of -0.7 still carries the rounds' optima (1, 2, 4, 8 epochs) "
            "about 0.6 of a decade down to 20 epochs: one grid step or more too far.",
            "",
        ]
    if held is not None:
        chosen, _ = slope_decision(in_cells(held, C.HELD_OUT_THIRD))
        lines += [
            "Decision on the third batch: "
            + (
                f"`{chosen}` is admissible and chosen: it was `recommend_lr`'s defaults "
                "until the fifth batch ("
                + ", ".join(
                    f"`{key}={M.SLOPE_VARIANTS[chosen][key]:g}`"
                    for key in ("horizon_slope", "replicates", "budget")
                )
                + ")."
                if chosen
                else "no variant is admissible; the defaults stay."
            ),
            "",
        ]
    return "\n".join(lines)


def document(held_out_too: bool) -> str:
    loop = T.load_truth(T.TRUTH_CSV)
    other = T.load_truth(T.SENSITIVITY_CSV) if T.SENSITIVITY_CSV.exists() else None
    dev = scored(False, loop, replication=other)
    held = scored(True, loop, replication=other) if held_out_too else None
    parts = [
        INTRO,
        "## Result",
        "",
        verdict(dev),
        "",
        replication_note(dev),
        "",
        seeds_note(dev, held),
        "",
        f"`{DEFAULT_METHOD}` is `recommend_lr(model, x, y, epochs=20, seed=0)` with every "
        "other argument at its default. The defaults are the variant "
        f"`{CHOSEN_VARIANT}` (one replicate, halving over whole epochs 1, 2, 4, 8 within a "
        "budget of 3 epochs at every lr, the round optima carried to the planned 20 epochs "
        "along a line in log lr against log steps whose slope is -0.7 moved halfway to the "
        f"rounds' own least-squares slope, the line moved by {M.LEVEL_OFFSET:g} decades). "
        "The slope -0.7 was estimated on the development "
        "cells and the first two held-out batches; one replicate with that slope was chosen "
        'on the third held-out batch (see "The optimum\'s drift" below); the halfway move '
        "was written down on the development cells and the first four held-out batches and "
        'chosen on the fifth (see "The fifth batch"); the level offset was estimated on the '
        "development cells and the first five batches, passed on the ninth and measured on "
        'the tenth before it was adopted (see "The ninth batch"); each rule was fixed before '
        "its batch's runs. So the counts on all those cells are in-sample; "
        f"{UNSEEN_NAMES} {UNSEEN_MEASURE} the defaults unseen. The defaults from the fifth to the "
        f"tenth batch, without the offset, are the replayed rows `{M.SHRUNK_NAME}`; those from "
        f"the third to the fifth, with the slope taken as exact, the rows `{KNOWN_METHOD}`.",
        "",
        f"The previous defaults (`{PREVIOUS_METHOD}`, with seeds 1 and 2 too) are the "
        f"variant `{PREVIOUS_VARIANT}`, chosen among the `recommend` rows by the rule fixed "
        "before those variants were run: the most development cells within 5%, then the "
        "smallest worst regret, then cost. They were not within the cost target: no variant "
        "within 5% of the sweep's cost did as well then "
        "(the same schedule cut to 5% of the steps, `... budget=3`, reached 4/10). The "
        "variants were run in batches on the development cells: `ep`/`ep/2` first, then "
        "the `nonincr` and `budget=3` ones, added because several first-batch "
        "extrapolations rose to lrs of 0.3–1 (a principled constraint, the same for every "
        "cell: a longer horizon does not call for a larger lr). A third batch, run after "
        "the cross-check below put the defaults at 1.5% of a `sensitivity` sweep's CPU "
        "time (so more replicates were affordable), tried the same schedule with 3 and 4 "
        "paired replicates (`ep R=3`, `ep R=4`, budget 3 epochs at every lr per replicate): "
        "both did worse (5/10 and 4/10), so those defaults stayed. With more replicates the "
        "paired tests are stronger and end the halving sooner (3.7 rounds on average with 2 "
        "replicates, 3.1 with 3, 2.5 with 4), but the short horizons favour lrs that start "
        "fast, and the lr that trains best for 20 "
        "epochs is often among the ones dropped. A fourth batch started the same halving "
        "at 2 epochs (2, 4, 8, 16; `2ep`, with 1 or 2 replicates): 7/10 with a worst "
        "regret of 0.247 here (7/10, worst 0.276, against the `sensitivity` truth, where "
        "those defaults have 7/10, worst 0.426). The rule fixed before this batch (a new "
        "default must gain cells on this truth and lose none on the other, with no larger "
        "worst regret) kept them.",
        "",
        "Each `recommend` row is a variant of `recommend_lr`: `R` paired replicates; `ep` "
        "horizons of whole epochs 1, 2, 4, 8, ... (`ep/2`: half epochs 0.5, 1, 2, 4; "
        "without either, the first horizon is fitted to the budget, about a third of an "
        "epoch); `halve` (at most half of the lrs survive a round, at least half with "
        "`R=2 halve`; `R=1` has no test), `test+halve` (at most half survive, and the "
        "Holm-adjusted one-sided paired t tests may drop more) or `test-only` (only the "
        "tests drop, at least half kept); `+extrap` (the round optima extrapolated to the "
        "planned 20 epochs by a line in log steps), `nonincr` (that line's slope "
        "constrained to be <= 0), `slope=-0.7` (that line's slope fixed, only its level "
        "fitted); `budget` in epochs at every lr (2 for the rows without "
        "`ep`, 3 for `ep R=1` and `ep/2`, 6 for `ep R=2` unless stated). `halving 1-2-4-8 "
        "ep` rows are read off the truth (seed 0 of the sweep itself, no extra training).",
        "",
        markdown(dev, False),
    ]
    if held_out_too:
        parts += [
            "## Held-out cells",
            "",
            verdict(held),
            "",
            held_out_note(held),
            "",
            batch_table(held).to_markdown(index=False),
            "",
            markdown(held, True),
        ]
    else:
        parts += ["## Held-out cells", "", "Not evaluated yet (`methods --held-out`).", ""]
    parts.append(slope_section(dev, held, loop))
    parts += [
        part.to_markdown(floatfmt=".3g") if isinstance(part, pd.DataFrame) else part
        for part in [
            *fifth_section(dev, held),
            *ninth_section(dev, held),
            *precision_section(dev, held, loop),
            *(
                ceiling_section(pd.concat([dev, held]), other, loop)
                if other is not None and held is not None
                else []
            ),
        ]
    ]
    if other is not None:
        parts.append(sensitivity_section(other, loop, held_out_too))
        parts.append(pooled_section(T.pooled_truth(loop, other), loop, held_out_too))
    return "\n".join(parts)


def pooled_section(truth: pd.DataFrame, loop: pd.DataFrame, held_out_too: bool) -> str:
    """Every pick scored against both truths pooled (6 runs per lr instead of 3)."""
    lines = [
        "## Both truths pooled",
        "",
        "Each truth has 3 runs per (cell, lr), and their seed-to-seed noise is of the order "
        "of the 5% threshold (above). Pooled, the two give 6 runs per (cell, lr): the "
        "compiled loop's seeds 0, 1, 2 and `sensitivity`'s (the same initial weights, "
        "other batch orders), so the mean final validation loss that defines the best lr "
        "is less noisy than either's. Costs stay shares of the compiled loop's sweep, the "
        "cheaper of the two. This section was written before its numbers were seen, to "
        "report them whatever they show; it changes no default.",
        "",
        *verdict_tables(
            lambda held_out: scored(held_out, truth, loop),
            held_out_too,
            " (Against the pooled truth; cost against the compiled loop's sweep.)",
        ),
    ]
    return "\n".join(lines)


def sensitivity_section(truth: pd.DataFrame, loop: pd.DataFrame, held_out_too: bool) -> str:
    """Every pick scored against the sweeps of ``lrstats.keras.sensitivity`` (``truth``)
    instead of the compiled loop's (``loop``)."""
    # the loop's best lr scored on sensitivity's truth: the second-sweep row, every cell
    loop_best = with_regret(replication_rows(loop), T.final_table(truth)).set_index("cell")
    cost_s, cost_l = T.sweep_cost(truth), T.sweep_cost(loop)
    # the cells both truths cover (a batch's cross-check may not have run yet)
    cells = [c.name for c in C.ALL_CELLS if c.name in loop_best.index and c.name in cost_s.index]
    agreement = pd.DataFrame(
        {
            "best lr (compiled loop)": loop_best.loc[cells, "pick"],
            "best lr (sensitivity)": loop_best.loc[cells, "best_lr"],
            "regret of the loop's best, on sensitivity's truth": loop_best.loc[cells, "regret"],
            "sweep CPU s (loop)": cost_l.loc[cells, "cpu_s"],
            "sweep CPU s (sensitivity)": cost_s.loc[cells, "cpu_s"],
        }
    )
    agreement.index.name = "cell"
    regrets = agreement["regret of the loop's best, on sensitivity's truth"]
    differ = int(
        (agreement["best lr (compiled loop)"] != agreement["best lr (sensitivity)"]).sum()
    )
    ratio = agreement["sweep CPU s (sensitivity)"] / agreement["sweep CPU s (loop)"]
    noise = (
        f"The two truths name different best lrs in {differ} of {len(cells)} cells; the "
        f"compiled loop's best lr is within 5% of the best on sensitivity's truth in "
        f"{int((regrets < THRESHOLD).sum())} of {len(cells)} cells (worst {regrets.max():.3g}). "
        "With 3 seeds, the truth's own seed-to-seed noise is of the order of the 5% "
        "threshold, so the same picks can gain or lose a cell or two between truths. "
        f"A sensitivity sweep took {ratio.min():.1f}–{ratio.max():.1f}× the compiled "
        "loop's CPU time."
    )
    lines = [
        "## Cross-check: the truth from `lrstats.keras.sensitivity`",
        "",
        "The same cells, grid, seeds and epochs, each run by the sweeps tool "
        "(`selection_quality.py sensitivity-truth`, cached in "
        "`benchmarks/selection_truth_sensitivity.csv`): a fresh model per run from the "
        "cell's `build_model(lr, seed)`, `fit` on every row (the last batch partial) in the "
        "run's own seeded order, the validation loss after every epoch. Its seeds draw "
        "other batch orders than the compiled loop's, so the two truths differ by the "
        "seed-to-seed noise; its sweeps also cost more CPU (Keras' `fit` overhead and a "
        "trace per fresh model), which makes every method's cost share smaller here. The "
        "picks are the same as above; only their scoring changes.",
        "",
        agreement.to_markdown(floatfmt=".3g"),
        "",
        noise,
        "",
        *verdict_tables(
            lambda held_out: scored(held_out, truth, replication=loop),
            held_out_too,
            " (Against this truth and this sweep's CPU time.)",
        ),
    ]
    return "\n".join(lines)


def verdict_tables(score, held_out_too: bool, note: str) -> list[str]:
    """The verdict and the summary table of ``score(held_out)``, for development cells and
    (``held_out_too``) the held-out ones, as lines of the document."""
    dev = score(False)
    lines = [verdict(dev) + note, "", summary(dev).to_markdown(floatfmt=".3g"), ""]
    if held_out_too:
        held = score(True)
        lines += [
            "Held-out cells: " + verdict(held),
            "",
            summary(held).to_markdown(floatfmt=".3g"),
            "",
        ]
    return lines


def verdict(rows: pd.DataFrame) -> str:
    mine = rows[rows["method"] == DEFAULT_METHOD]
    if mine.empty:
        return f"`{DEFAULT_METHOD}` has no picks yet."
    good, n, _ = within(rows, DEFAULT_METHOD)
    return (
        f"`recommend_lr` with its defaults (`{DEFAULT_METHOD}`): regret < 5% in {good} of "
        f"{n} cells, worst regret {mine['regret'].max():.3g}, median cost "
        f"{mine['cost'].median():.3g} of the sweep's CPU time (max {mine['cost'].max():.3g}; "
        f"{mine['step_cost'].median():.3g} of its optimizer steps). "
        "Target: < 5% in at least 9 of 10, worst < 0.25, cost <= 0.05."
    )


def chosen_cells(names: str) -> list:
    """The cells named in ``names`` (comma-separated): cell names, ``development`` or a
    held-out batch's name from :data:`BATCHES`."""
    batches = {"development": C.DEVELOPMENT, **dict(BATCHES)}
    chosen = []
    for name in names.split(","):
        if name in batches:
            chosen += batches[name]
            continue
        match = [cell for cell in C.ALL_CELLS if cell.name == name]
        if not match:
            raise SystemExit(f"unknown cell or batch {name!r}")
        chosen += match
    return chosen


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["truth", "sensitivity-truth", "methods", "report"])
    parser.add_argument("--held-out", action="store_true", help="the held-out cells")
    parser.add_argument("--only", default=None, help="comma-separated method functions")
    parser.add_argument(
        "--cells",
        default=None,
        help="sensitivity-truth, methods: comma-separated cells, `development` or held-out "
        f"batches by name ({', '.join(label for label, _ in BATCHES)}); default all "
        "(methods: those of --held-out or not)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="sensitivity-truth: the CSV to append to"
    )
    args = parser.parse_args(argv)
    cells = C.HELD_OUT if args.held_out else C.DEVELOPMENT
    if args.step == "truth":
        T.compute(C.ALL_CELLS)
    elif args.step == "sensitivity-truth":
        chosen = chosen_cells(args.cells) if args.cells else C.ALL_CELLS
        T.compute(chosen, args.out or T.SENSITIVITY_CSV, run=T.sensitivity_run)
    elif args.step == "methods":
        functions = M.TRAINED_METHODS
        if args.only:
            functions = [f for f in functions if f.__name__ in args.only.split(",")]
        if args.cells:
            cells = chosen_cells(args.cells)
        run_methods(cells, functions)
    else:
        text = document(args.held_out)
        DOC.write_text(text)
        print(text)


if __name__ == "__main__":
    main()
