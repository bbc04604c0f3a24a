"""The benchmark scripts stay runnable: each parses its options and prints its usage.

Running them is what ``benchmarks/`` is for (minutes, side by side with the competitors);
here only ``--help``, which exits before any TensorFlow or data work, so a renamed import,
a syntax error or a broken option in a script fails the suite instead of the next person
who runs it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(
    path for path in BENCHMARKS.glob("*.py") if "argparse" in path.read_text(encoding="utf-8")
)


def test_the_scripts_with_options_are_found():
    names = {path.name for path in SCRIPTS}
    assert {"bench_sampler.py", "bench_lookahead.py", "bench_sweep.py"} <= names
    assert {"batch_size_map.py", "selection_quality.py"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_help_parses_and_exits_cleanly(script):
    done = subprocess.run(
        [sys.executable, str(script), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=BENCHMARKS.parent,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:")


def test_the_pooled_truth_is_both_truths_side_by_side(monkeypatch):
    # benchmarks/_selection reads the committed CSVs; no TensorFlow at import
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from _selection import truth as T

    loop, other = T.load_truth(T.TRUTH_CSV), T.load_truth(T.SENSITIVITY_CSV)
    pooled = T.pooled_truth()
    runs = pooled.drop_duplicates(["cell", "lr", "seed"]).groupby(["cell", "lr"]).size()
    assert set(runs) == {6}
    # a cell only one truth covers (a batch whose cross-check has not run) is left out
    both = set(loop["cell"]) & set(other["cell"])
    assert set(pooled["cell"]) == both
    loop, other = loop[loop["cell"].isin(both)], other[other["cell"].isin(both)]
    assert len(pooled) == len(loop) + len(other)
    # each truth has 3 seeds per (cell, lr): the pooled mean is the mean of the two means
    expected = (
        T.final_table(loop).set_index(["cell", "lr"])["val_loss"]
        + T.final_table(other).set_index(["cell", "lr"])["val_loss"]
    ) / 2
    got = T.final_table(pooled).set_index(["cell", "lr"])["val_loss"]
    assert got.sort_index().to_numpy() == pytest.approx(expected.sort_index().to_numpy())


def test_a_second_full_sweep_is_scored_by_its_own_best_lr(monkeypatch):
    # the replication row: per cell, the other sweep's best lr, scored on the truth
    # (pandas only: scored() as a whole loads the datasets, from the benchmark extra)
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import selection_quality as Q
    from _selection import truth as T

    loop, other = T.load_truth(T.TRUTH_CSV), T.load_truth(T.SENSITIVITY_CSV)
    loop, other = loop[~loop["held_out"]], other[~other["held_out"]]
    again = Q.with_regret(Q.replication_rows(other), T.final_table(loop)).set_index("cell")
    final_l = T.final_table(loop).set_index(["cell", "lr"])["val_loss"]
    final_o = T.final_table(other).set_index(["cell", "lr"])["val_loss"]
    assert sorted(again.index) == sorted(final_o.index.get_level_values("cell").unique())
    assert (again["method"] == Q.REPLICATION_METHOD).all()
    assert set(again["cost"]) == {1.0}
    for cell, row in again.iterrows():
        assert row["pick"] == final_o[cell].idxmin()
        best = final_l[cell].min()
        assert row["best_lr"] == final_l[cell].idxmin()
        assert row["regret"] == pytest.approx((final_l[cell][row["pick"]] - best) / best)
    # the two sweeps disagree somewhere, so the row is not the truth's own best everywhere
    assert (again["regret"] > 0).any()
    # a pick off the grid scores infinite
    off = Q.with_regret(
        pd.DataFrame({"cell": [again.index[0]], "pick": [0.5]}), T.final_table(loop)
    )
    assert off["regret"].iloc[0] == np.inf


def test_the_seeds_paragraph_counts_each_seed_row(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import selection_quality as Q
    from _selection import methods as M

    names = [Q.DEFAULT_METHOD] + [f"{Q.DEFAULT_METHOD}, seed={s}" for s in M.OTHER_SEEDS]
    regrets = {names[0]: [0.0, 0.01, 0.3], names[1]: [0.0, 0.2, 0.3], names[2]: [0, 0, 0.04]}
    dev = pd.DataFrame(
        [
            {"method": name, "cell": f"c{i}", "regret": r}
            for name, values in regrets.items()
            for i, r in enumerate(values)
        ]
    )
    text = Q.seeds_note(dev, None)
    assert "for seed 0, 2/3 development (worst 0.3)" in text
    assert "for seed 1, 1/3 development (worst 0.3)" in text
    assert "for seed 2, 3/3 development (worst 0.04)" in text
    assert "2.0 development cells on average" in text
    # without the other seeds' rows there is nothing to say
    assert Q.seeds_note(dev[dev["method"] == names[0]], None) == ""


def test_the_held_out_paragraph_counts_each_batch_and_the_unseen_rate(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import selection_quality as Q
    from _selection import cells as C
    from _selection import methods as M

    batches = [C.HELD_OUT_FIRST, C.HELD_OUT_SECOND, C.HELD_OUT_THIRD, C.HELD_OUT_FOURTH,
               C.HELD_OUT_FIFTH, C.HELD_OUT_SIXTH, C.HELD_OUT_SEVENTH,
               C.HELD_OUT_EIGHTH, C.HELD_OUT_NINTH, C.HELD_OUT_TENTH, C.HELD_OUT_ELEVENTH,
               C.HELD_OUT_TWELFTH]  # fmt: skip
    names = [[cell.name for cell in batch] for batch in batches]
    flat = [name for batch in names for name in batch]
    # the batches are disjoint, and none of their cells is a development cell
    assert len(set(flat)) == len(flat)
    assert not set(flat) & {cell.name for cell in C.DEVELOPMENT}
    # current defaults: one miss in the eleventh (unseen) batch; the shrunk slope before
    # them: one in the sixth; previous: all within; Keras: one miss in the first batch
    regrets = {
        Q.DEFAULT_METHOD: {names[10][0]: 0.4},
        M.SHRUNK_NAME: {names[5][0]: 0.3},
        Q.PREVIOUS_METHOD: {},
        "default": {names[0][0]: 0.7},
        Q.REPLICATION_METHOD: {names[5][1]: 0.3},
    }
    held = pd.DataFrame(
        [
            {"method": method, "cell": cell, "regret": misses.get(cell, 0.0)}
            for method, misses in regrets.items()
            for cell in flat
        ]
    )
    table = Q.batch_table(held).set_index("batch")
    n11, n6, n1 = len(names[10]), len(names[5]), len(names[0])
    assert (
        table.loc["eleventh", "recommend_lr defaults (current)"] == f"{n11 - 1}/{n11}, worst 0.4"
    )
    assert table.loc["sixth", "recommend_lr defaults (current)"] == f"{n6}/{n6}, worst 0"
    column = "shrunk slope (defaults, fifth to tenth batch)"
    assert table.loc["sixth", column] == f"{n6 - 1}/{n6}, worst 0.3"
    n4 = len(names[3])
    assert table.loc["fourth", "recommend_lr defaults (current)"] == f"{n4}/{n4}, worst 0"
    assert table.loc["first", "Keras' default lr (`default`)"] == f"{n1 - 1}/{n1}, worst 0.7"
    assert table.loc["third", "recommend_lr previous defaults"].endswith(", worst 0")
    for label in ("seventh", "eighth", "ninth", "tenth", "twelfth"):
        assert table.loc[label, "recommend_lr defaults (current)"].endswith(", worst 0")
    text = Q.held_out_note(held)
    # the unseen cells: the eleventh and twelfth batches; for the shrunk slope, the sixth
    # to tenth
    unseen = len(names[10]) + len(names[11])
    assert Q.UNSEEN_NAMES == "the eleventh and twelfth batches"
    assert Q.SHRUNK_UNSEEN_NAMES == "the sixth, seventh, eighth, ninth and tenth batches"
    interval = Q.binomtest(unseen - 1, unseen).proportion_ci(method="exact")
    assert f"within 5% in {unseen - 1}/{unseen} cells (worst regret 0.4)" in text
    assert f"interval is {interval.low:.2f}-{interval.high:.2f}" in text
    shrunk = sum(len(batch) for batch in names[5:10])
    assert (
        f"the defaults before it (`{M.SHRUNK_NAME}`) are within 5% in {shrunk - 1}/{shrunk} "
        "cells (worst regret 0.3)" in text
    )
    assert text.startswith(f"{len(batches)} batches")
    # the second sweep's agreement with the truth: over every held-out cell and the later
    assert (
        f"within 5% in {len(flat) - 1} of the {len(flat)} held-out cells it has run on, "
        f"{unseen} of the {unseen} unseen ones and {shrunk - 1} of the {shrunk} cells of the "
        "sixth to tenth batches (worst regret 0.3)" in text
    )
    # with the losses at the pick and the best, the worst unseen cell is named with them
    losses = held.assign(val_loss_at_pick=1.0 + held["regret"], best=1.0)
    assert (
        f"(worst regret 0.4, on {names[10][0]}: final validation loss 1.4 at the pick against "
        "1 at the best)" in Q.held_out_note(losses)
    )
    # with the defaults' seeds 1 and 2 (one more miss, seed 2), the runs over seeds too
    seeds = pd.DataFrame(
        [
            {"method": f"{Q.DEFAULT_METHOD}, seed={seed}", "cell": cell,
             "regret": 0.2 if (seed, cell) == (2, names[10][1]) else 0.0}
            for seed in (1, 2)
            for cell in flat
        ]
    )  # fmt: skip
    text = Q.held_out_note(pd.concat([held, seeds]).assign(cost=0.05))
    assert f"over seeds 0, 1 and 2, {3 * unseen - 2} of {3 * unseen} runs" in text
    # without rows for the unseen batches there is no rate to give
    later = [name for batch in names[5:] for name in batch]
    assert "Clopper" not in Q.held_out_note(held[~held["cell"].isin(later)])


def test_miss_directions_count_too_large_and_too_small_and_name_the_worst_optimizer(
    monkeypatch,
):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import selection_quality as Q

    # seed 0 and 1: three misses too large (two under adam), one too small (sgd); hits
    # at -0.5 and 0. Errors of the misses in decades: +0.5, +1.0, -0.5, +0.6 (no mean on
    # a rounding tie).
    rows = pd.DataFrame(
        [
            (Q.DEFAULT_METHOD, "a/adam", 10**-2.5, 1e-3, 0.3),
            (Q.DEFAULT_METHOD, "b/adam", 1e-2, 1e-3, 0.2),
            (Q.DEFAULT_METHOD, "c/sgd", 10**-1.5, 1e-1, 0.01),
            (f"{Q.DEFAULT_METHOD}, seed=1", "c/sgd", 10**-1.5, 1e-1, 0.1),
            (f"{Q.DEFAULT_METHOD}, seed=1", "d/lion", 10**-3.4, 1e-4, 0.4),
            (f"{Q.DEFAULT_METHOD}, seed=1", "a/adam", 1e-3, 1e-3, 0.0),
            ("default", "a/adam", 1.0, 1e-3, 9.0),  # another method: not counted
        ],
        columns=["method", "cell", "raw_pick", "best_lr", "regret"],
    )
    text = Q.miss_directions(rows, Q.DEFAULT_METHOD)
    assert "larger than the best lr in 3 of 4 runs and smaller in 1" in text
    assert "misses +0.40 decades on average, of all runs +0.18)" in text
    assert "the most misses under adam: 2 of 3 runs, its picks +0.50 decades" in text
    # no misses, or no raw picks: nothing to say
    assert Q.miss_directions(rows.assign(regret=0.0), Q.DEFAULT_METHOD) == ""
    assert Q.miss_directions(rows.drop(columns="raw_pick"), Q.DEFAULT_METHOD) == ""


def test_every_recommend_variant_pins_the_settings_it_was_run_with(monkeypatch):
    # recommend_lr's defaults change; a variant that leaned on them would rerun as another
    # method than the one its rows measured
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from _selection import methods as M

    settings = {"budget", "replicates", "initial_epochs", "nonincreasing", "keep_fraction",
                "halve", "horizon_slope", "fitted_slope_weight", "level_offset"}  # fmt: skip
    groups = [M.RECOMMEND_VARIANTS, M.EPOCH_VARIANTS, M.MONOTONE_VARIANTS,
              M.BUDGETED_VARIANTS, M.REPLICATE_VARIANTS, M.LONGER_VARIANTS, M.SLOPE_VARIANTS]  # fmt: skip
    for variants in groups:
        for name, kwargs in variants.items():
            assert settings <= set(kwargs), (name, settings - set(kwargs))
    assert M.PREVIOUS_SCHEDULE["horizon_slope"] is None
    # the current defaults are the shrunk slope the fifth held-out batch chose, the line
    # moved by the level offset the ninth passed
    import inspect

    from lrstats.keras.recommend import recommend_lr

    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(recommend_lr).parameters.items()
    }
    chosen = M.CURRENT_SETTINGS
    assert {key: defaults[key] for key in settings} == {key: chosen[key] for key in settings}


def test_the_shrunk_slope_replay_moves_the_known_slope_halfway_to_the_rounds(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import json

    from _selection import methods as M

    grid = np.log10(M.GRID)
    # four rounds at 10, 20, 40, 80 steps, each a parabola in log10 lr (3 grid points)
    # of log loss whose vertex rises 0.1 decade per doubling: fitted slope 0.1 / log10(2)
    steps = [10, 20, 40, 80]
    vertices = [-2.2, -2.1, -2.0, -1.9]
    rows = []
    for round_, (n, vertex) in enumerate(zip(steps, vertices, strict=True)):
        for j in (5, 6, 7):  # lrs 1e-3 ... 1e-2, around every vertex
            rows.append([round_, n, float(M.GRID[j]), 0, float(np.exp((grid[j] - vertex) ** 2))])
    evidence = json.dumps({"steps_per_epoch": 4, "rows": rows})
    rounds = pd.DataFrame(
        [
            {
                "cell": "c/sgd",
                "method": M.ROUNDS_NAME + ", seed=1",
                "pick": 0.0,
                "evidence": evidence,
            }
        ]
    )
    out = M.replay_shrunk(rounds)
    fitted = 0.1 / np.log10(2)
    slope = M.HORIZON_SLOPE + M.SHRINK_WEIGHT * (fitted - M.HORIZON_SLOPE)
    x = np.log10(steps)
    target = np.mean(np.array(vertices) - slope * x) + slope * np.log10(4 * 20)
    assert out["raw_pick"].iloc[0] == pytest.approx(10.0**target)
    assert out["pick"].iloc[0] == M.nearest_grid(10.0**target)
    assert out["method"].iloc[0] == M.SHRUNK_NAME + ", seed=1"
    # the ninth batch's candidate: the same line moved down by LEVEL_OFFSET decades
    moved = M.replay_shrunk(rounds, M.LEVEL_OFFSET)
    assert moved["raw_pick"].iloc[0] == pytest.approx(10.0 ** (target + M.LEVEL_OFFSET))
    assert moved["method"].iloc[0] == M.OFFSET_NAME + ", seed=1"
    # with the weight at 0 the replay would be the known slope's: the two differ here
    known = np.mean(np.array(vertices) - M.HORIZON_SLOPE * x) + M.HORIZON_SLOPE * np.log10(80)
    assert abs(target - known) > 0.1


def test_the_fifth_batch_section_applies_its_rule_to_the_rows(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import selection_quality as Q
    from _selection import cells as C
    from _selection import methods as M

    def rows(cells, misses):
        # every seed's rows of the known and the shrunk slope
        return pd.DataFrame(
            [
                {"method": M.seed_name(name, seed), "cell": cell.name, "pick": 0.01,
                 "regret": misses.get((name, seed, cell.name), 0.0), "cost": 0.05}
                for name in (Q.KNOWN_METHOD, M.SHRUNK_NAME)
                for seed in Q.SEEDS
                for cell in cells
            ]
        )  # fmt: skip

    first = C.HELD_OUT_FIFTH[0].name
    # equal counts, a smaller worst regret: the shrunk slope is chosen
    held = rows(
        C.HELD_OUT_FIFTH, {(Q.KNOWN_METHOD, 0, first): 2.0, (M.SHRUNK_NAME, 1, first): 0.5}
    )
    dev = rows(C.DEVELOPMENT, {})
    parts = Q.fifth_section(dev, held)
    table = next(part for part in parts if isinstance(part, pd.DataFrame))
    assert table.loc[M.SHRUNK_NAME, "total"] == table.loc[Q.KNOWN_METHOD, "total"] == 29
    text = "\n".join(part for part in parts if isinstance(part, str))
    assert "Decision: the shrunk slope is chosen" in text
    assert "was the default from then (its picks are the replayed rows" in text
    # one more miss for the shrunk slope: the known one stays
    held = rows(
        C.HELD_OUT_FIFTH,
        {(Q.KNOWN_METHOD, 0, first): 2.0, (M.SHRUNK_NAME, 1, first): 0.5,
         (M.SHRUNK_NAME, 2, first): 0.1},
    )  # fmt: skip
    text = "\n".join(part for part in Q.fifth_section(dev, held) if isinstance(part, str))
    assert "Decision: the known slope stays." in text
    # no sixth-batch rows: nothing said about it; no fifth-batch rows: no section
    assert "sixth batch" not in text
    assert Q.fifth_section(dev, held.iloc[:0]) == []


def test_precision_table_counts_narrow_optima_and_the_defaults_scatter(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import selection_quality as Q
    from _selection import cells as C

    grid = np.array(C.GRID)
    best_index = 6
    dev = [cell.name for cell in C.DEVELOPMENT]
    late = [cell.name for cell in C.HELD_OUT_THIRD + C.HELD_OUT_TENTH]
    early = [cell.name for cell in C.HELD_OUT_FIRST]
    # development cells: the best and both neighbours within 5%; later cells: only the best
    final = pd.DataFrame(
        [
            {"cell": cell, "lr": lr,
             "val_loss": 1.0 + (0.0 if i == best_index else
                                0.03 if cell in dev and abs(i - best_index) == 1 else 0.5)}
            for cell in dev + early + late
            for i, lr in enumerate(grid)
        ]
    )  # fmt: skip
    # raw picks off the best lr by a known log10 error: seed s misses by (s - 1) * 0.3
    rows = []
    for cell in dev + early + late:
        for seed in Q.SEEDS:
            error = (seed - 1) * 0.3 if cell in late else 0.0
            raw = grid[best_index] * 10.0**error
            # the interval around the raw pick: +-0.1 decades for seed 0, +-0.5 for seed 1,
            # NaN for seed 2 (too few rounds)
            half = {0: 0.1, 1: 0.5, 2: np.nan}[seed]
            low, high = raw / 10**half, raw * 10**half
            rows.append({"method": Q.M.seed_name(Q.DEFAULT_METHOD, seed), "cell": cell,
                         "raw_pick": raw, "pick": Q.M.nearest_grid(raw),
                         "ci_low": low, "ci_high": high})  # fmt: skip
        rows.append({"method": Q.REPLICATION_METHOD, "cell": cell, "raw_pick": grid[5],
                     "pick": grid[5]})  # fmt: skip
    scored = Q.with_regret(pd.DataFrame(rows), final)
    table = Q.precision_table(scored, final)
    assert list(table.index) == [label for label, _ in Q.PRECISION_GROUPS]
    assert table.loc["development", "lrs within 5% (mean)"] == 3
    assert table.loc["development", "cells with one"] == 0
    assert Q.LATER_SPAN == "3-12"  # the third batch to the last one named
    later = table.loc[f"held-out, batches {Q.LATER_SPAN}"]
    assert later["n"] == len(late) and later["cells with one"] == len(late)
    errors = np.tile([-0.3, 0.0, 0.3], len(late))
    assert later["error mean"] == pytest.approx(0.0, abs=1e-12)
    assert later["error sd"] == pytest.approx(np.std(errors, ddof=1))
    # -0.3 and +0.3 decades round to the neighbours: within one grid step, not within 5%
    assert later["runs within one grid step"] == f"{3 * len(late)}/{3 * len(late)}"
    assert later["runs within 5%"] == f"{len(late)}/{3 * len(late)}"
    # seed 0's interval (+-0.1) misses the best 0.3 decades away, seed 1's holds it
    assert later["best lr in the 95% interval"] == f"{len(late)}/{2 * len(late)}"
    n_dev = 2 * len(dev)
    assert table.loc["development", "best lr in the 95% interval"] == f"{n_dev}/{n_dev}"
    # the second sweep picks a neighbour: within 5% only where neighbours are
    assert table.loc["development", "second sweep within 5%"] == f"{len(dev)}/{len(dev)}"
    assert later["second sweep within 5%"] == f"0/{len(late)}"


def test_the_ninth_batch_section_applies_its_rule_to_the_rows(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import selection_quality as Q
    from _selection import cells as C
    from _selection import methods as M

    def rows(cells, misses, overshoot=0.5):
        # every seed's rows of the moved line and the defaults' replay; the raw picks lie
        # `overshoot` decades above the best grid lr
        return pd.DataFrame(
            [
                {"method": M.seed_name(name, seed), "cell": cell.name, "pick": 0.01,
                 "raw_pick": 10.0 ** (-2 + overshoot), "best_lr": 0.01,
                 "regret": misses.get((name, seed, cell.name), 0.0), "cost": 0.05}
                for name in (M.OFFSET_NAME, M.SHRUNK_NAME)
                for seed in Q.SEEDS
                for cell in cells
            ]
        )  # fmt: skip

    first, second = (cell.name for cell in C.HELD_OUT_NINTH[:2])
    estimated = [cell for _, batch in Q.BATCHES[:5] for cell in batch]
    dev = rows(C.DEVELOPMENT, {})
    # one miss fewer for the moved line, the same worst regret: it passes the rule
    held = pd.concat([
        rows(estimated, {}),
        rows(C.HELD_OUT_NINTH, {(M.SHRUNK_NAME, 0, first): 0.3, (M.SHRUNK_NAME, 1, second): 0.1,
                                (M.OFFSET_NAME, 2, first): 0.3}),
    ])  # fmt: skip
    parts = Q.ninth_section(dev, held)
    table = next(part for part in parts if isinstance(part, pd.DataFrame))
    assert table.loc[M.OFFSET_NAME, "total"] == 29 and table.loc[M.SHRUNK_NAME, "total"] == 28
    text = "\n".join(part for part in parts if isinstance(part, str))
    assert "Decision: the moved line passes the rule; it was not made the default at once" in text
    n_cells = len(C.DEVELOPMENT) + len(estimated)
    assert f"({n_cells} cells, {3 * n_cells} runs over seeds 0, 1 and 2)" in text
    assert "lies +0.500 decades from the best" in text
    # passed, the tenth measured it and it was adopted: the defaults' rerun rows repeat the
    # replayed picks except in one run, and the eleventh batch measures them
    later = pd.concat([rows(C.HELD_OUT_TENTH, {}), rows(C.HELD_OUT_ELEVENTH, {})])
    current = pd.DataFrame(
        [
            {"method": M.seed_name(Q.DEFAULT_METHOD, seed), "cell": cell.name,
             "pick": 0.1 if (seed, cell) == (1, C.HELD_OUT_ELEVENTH[0]) else 0.01,
             "regret": 0.4 if (seed, cell) == (1, C.HELD_OUT_ELEVENTH[0]) else 0.0,
             "cost": 0.05}
            for seed in Q.SEEDS
            for cell in C.HELD_OUT_TENTH + C.HELD_OUT_ELEVENTH
        ]
    )  # fmt: skip
    text = "\n".join(
        part
        for part in Q.ninth_section(dev, pd.concat([held, later, current]))
        if isinstance(part, str)
    )
    assert "Adopted after the tenth: `recommend_lr(level_offset=-0.23)` is the default now" in text
    assert "repeats the replayed candidate's picks in 59 of 60 runs" in text
    assert "there the defaults have 29 of 30 runs within 5% (worst regret 0.4)" in text
    # a worst regret above max(0.25, the defaults'): dropped, though it has more cells
    held = pd.concat([
        rows(estimated, {}),
        rows(C.HELD_OUT_NINTH, {(M.SHRUNK_NAME, 0, first): 0.1, (M.SHRUNK_NAME, 1, second): 0.1,
                                (M.OFFSET_NAME, 2, first): 0.3}),
    ])  # fmt: skip
    text = "\n".join(part for part in Q.ninth_section(dev, held) if isinstance(part, str))
    assert "Decision: the moved line fails the rule and is dropped" in text
    assert "tenth batch" not in text  # not run there: nothing said
    assert "Adopted" not in text
    # with the tenth batch's rows, its counts for both
    tenth = rows(C.HELD_OUT_TENTH, {(M.OFFSET_NAME, 1, C.HELD_OUT_TENTH[0].name): 0.2})
    text = "\n".join(
        part for part in Q.ninth_section(dev, pd.concat([held, tenth])) if isinstance(part, str)
    )
    assert (
        "the moved line has 29 of 30 runs within 5% against 30 for the line unmoved, worst "
        "regret 0.2 against 0" in text.split("On the tenth batch")[1]
    )
    assert "Adopted" not in text  # it failed on the ninth
    # no ninth-batch rows: no section
    assert Q.ninth_section(dev, rows(estimated, {})) == []


def test_the_horizon_ceiling_carries_a_drifting_optimum_and_scores_on_the_other_truth(
    monkeypatch,
):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import selection_quality as Q
    from _selection import cells as C

    grid = np.log10(np.array(C.GRID))
    best = grid[6]  # -2: the best lr after C.EPOCHS epochs
    # the second truth: an optimum that falls along the slope -0.7 as the training grows,
    # the largest lr diverged; seeds differ by a constant factor only
    other = pd.DataFrame(
        [
            {"cell": cell, "lr": 10.0**x, "seed": seed, "epoch": epoch,
             "val_loss": np.inf if i == 10 else
             (1.0 + 0.01 * seed) * np.exp(0.2 * (x - best + 0.7 * np.log10(epoch / C.EPOCHS)) ** 2)}
            for cell in ("a", "b")
            for i, x in enumerate(grid)
            for seed in C.SEEDS
            for epoch in range(1, C.EPOCHS + 1)
        ]
    )  # fmt: skip
    # the truth the picks are scored on: only the best lr within 5%
    final = pd.DataFrame(
        [
            {"cell": cell, "lr": 10.0**x, "seed": seed, "epoch": C.EPOCHS,
             "val_loss": 1.0 if i == 6 else 1.5}
            for cell in ("a", "b")
            for i, x in enumerate(grid)
            for seed in C.SEEDS
        ]
    )  # fmt: skip
    rows = Q.M.horizon_ceiling(other)
    assert len(rows) == 2 * 2 * len(Q.M.CEILING_HORIZONS) * 2  # cells, seed sets, horizons, rules
    carried = [row for row in rows if row["rule"] == "carried"]
    assert all(row["pick"] == pytest.approx(10.0**best) for row in carried)
    first = [row for row in rows if row["rule"] == "lowest" and row["epochs"] == 1]
    # after one epoch the lowest loss is 0.7 * log10(20) = 0.91 decades higher: two steps
    assert all(row["pick"] == pytest.approx(10.0 ** grid[8]) for row in first)
    shares = {(row["seeds"], row["epochs"]): row["epoch_fraction"] for row in rows}
    assert shares[("seed 0", 1)] == pytest.approx(1 / 60)
    assert shares[("3 seeds", C.EPOCHS)] == pytest.approx(1.0)
    # recommend_lr's defaults: cell a at the best lr, cell b one step off (seed 0)
    scored = Q.with_regret(
        pd.DataFrame(
            [
                {"method": Q.M.seed_name(Q.DEFAULT_METHOD, seed), "cell": cell,
                 "pick": 10.0 ** grid[6 if cell == "a" or seed else 7], "step_cost": 0.04}
                for cell in ("a", "b")
                for seed in Q.SEEDS
            ]
        ),
        Q.T.final_table(final),
    )  # fmt: skip
    table = Q.ceiling_table(scored, other, final).set_index(["seeds", "epochs"])
    assert (table.xs("carried to 20 ep", axis=1).iloc[:-1] == "2/2").all()
    assert table.loc[("seed 0", 1), "lowest loss there"] == "0/2"
    assert table.loc[("3 seeds", C.EPOCHS), "lowest loss there"] == "2/2"
    assert table.iloc[-1]["carried to 20 ep"] == "1/2 (runs 5/6)"
    lines = Q.ceiling_section(scored, other, final)
    text = "\n".join(line for line in lines if isinstance(line, str))
    assert "within 5% in 2 of 2 cells" in text
    assert "probability 1.00" in text
