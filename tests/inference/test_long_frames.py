"""Long, general frames: at= (trajectories), by= (factor levels), goal=, incomplete grids,
responses other than a loss change. Results are checked against plain pandas computations."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lrstats import _streams
from lrstats.inference import (
    ByLevel,
    IncompleteGridWarning,
    Selections,
    analyse,
    compare_to_best,
    fit_shape,
    reduce_frame,
    select_all,
    select_lr,
    summarize,
    u_test,
)
from lrstats.simulate import simulate_frame, simulate_sweep


@pytest.fixture(scope="module")
def sweep():
    """A sweep-like frame: batch_size × lr × replicate × epoch, val_loss and accuracy."""
    return simulate_sweep(replicates=6, epochs=5, batch_sizes=[32, 128], rng=11)


def quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


# --------------------------------------------------------------------------------------------
# reduce_frame: at=
# --------------------------------------------------------------------------------------------
def test_at_final_best_and_step_against_pandas(sweep):
    keys = ["batch_size", "lr", "replicate"]
    ordered = sweep.sort_values([*keys, "epoch"])
    final = ordered.groupby(keys, as_index=False).last()[[*keys, "epoch", "val_loss"]]
    got = reduce_frame(sweep, response="val_loss", by="batch_size")
    pd.testing.assert_frame_equal(got, final, check_dtype=False)

    best_rows = ordered.loc[ordered.groupby(keys)["val_loss"].idxmin()]
    expected = best_rows[[*keys, "epoch", "val_loss"]].reset_index(drop=True)
    got = reduce_frame(sweep, response="val_loss", at="best", by="batch_size")
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)

    best_acc = ordered.loc[ordered.groupby(keys)["accuracy"].idxmax()]
    expected = best_acc[[*keys, "epoch", "accuracy"]].reset_index(drop=True)
    got = reduce_frame(sweep, response="accuracy", goal="maximize", at="best", by="batch_size")
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)

    at2 = ordered[ordered.epoch == 2][[*keys, "epoch", "val_loss"]].reset_index(drop=True)
    got = reduce_frame(sweep, response="val_loss", at=2, by=["batch_size"])
    pd.testing.assert_frame_equal(got, at2, check_dtype=False)


def test_best_skips_divergence_but_keeps_an_all_diverged_run():
    frame = pd.DataFrame(
        {
            "lr": [0.1] * 3 + [1.0] * 3,
            "replicate": [0] * 6,
            "epoch": [1, 2, 3] * 2,
            "val_loss": [0.9, np.inf, 0.5, np.inf, np.nan, np.inf],
        }
    )
    got = reduce_frame(frame, response="val_loss", at="best")
    assert got["val_loss"].tolist()[0] == 0.5
    assert np.isinf(got["val_loss"].iloc[1]) and got["epoch"].iloc[1] == 3  # the final value


def test_ambiguous_frames_are_refused_with_the_argument_to_pass(sweep):
    with pytest.raises(ValueError, match=r"pass `by=`.*\['batch_size'\]"):
        summarize(sweep, response="val_loss")
    flat = sweep.drop(columns=["epoch", "batch_size"])
    with pytest.raises(ValueError, match=r"no trajectory index; name the index 'step' or 'epoch' and pass `at=`"):  # fmt: skip
        compare_to_best(flat, response="val_loss")
    single = sweep[sweep.epoch == 5].drop(columns="epoch")
    with pytest.raises(ValueError, match=r"`at`='best' needs a trajectory index"):
        summarize(single, response="val_loss", at="best", by="batch_size")
    with pytest.raises(ValueError, match=r"`by` must name factor columns"):
        summarize(sweep, response="val_loss", by="epoch")
    for function in (summarize, compare_to_best, select_lr, fit_shape, u_test, analyse):
        with pytest.raises(ValueError, match=r"pass `by=`"):
            function(sweep, response="val_loss")


# --------------------------------------------------------------------------------------------
# by= and at= on every function, against pandas
# --------------------------------------------------------------------------------------------
def test_summarize_by_and_at_against_pandas(sweep):
    got = summarize(sweep, response="val_loss", by="batch_size", at="best").to_frame()
    best = sweep.groupby(["batch_size", "lr", "replicate"], as_index=False)["val_loss"].min()
    grouped = best.groupby(["batch_size", "lr"])["val_loss"]
    n = grouped.count()
    mean, sd = grouped.mean(), grouped.std(ddof=1)
    critical = stats.t.ppf(0.975, n - 1)
    expected = pd.DataFrame(
        {
            "batch_size": mean.index.get_level_values(0),
            "lr": mean.index.get_level_values(1),
            "n": n.to_numpy(),
            "n_nonfinite": 0,
            "mean": mean.to_numpy(),
            "sd": sd.to_numpy(),
            "se": (sd / np.sqrt(n)).to_numpy(),
            "median": grouped.median().to_numpy(),
            "ci_low": (mean - critical * sd / np.sqrt(n)).to_numpy(),
            "ci_high": (mean + critical * sd / np.sqrt(n)).to_numpy(),
        }
    )
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=1e-12)


def test_compare_by_level_against_pandas_paired_differences(sweep):
    result = compare_to_best(sweep, response="val_loss", by="batch_size")
    assert isinstance(result, ByLevel) and len(result) == 2
    final = reduce_frame(sweep, response="val_loss", by="batch_size")
    for size, part in final.groupby("batch_size"):
        wide = part.pivot(index="replicate", columns="lr", values="val_loss")
        best = wide.mean().idxmin()
        differences = wide.sub(wide[best], axis=0)
        level = result[size]
        assert level.level == {"batch_size": size} and level.best_lr == best
        table = result.to_frame().query("batch_size == @size").reset_index(drop=True)
        np.testing.assert_allclose(table["diff"], differences.mean().to_numpy(), atol=1e-15)
        others = differences.drop(columns=best)
        pvalues = stats.ttest_1samp(others, 0.0).pvalue
        np.testing.assert_allclose(
            table.set_index("lr").loc[others.columns, "pvalue"], pvalues, rtol=1e-10
        )


def test_every_function_by_level_equals_the_function_on_that_level(sweep):
    final = sweep[sweep.epoch == sweep.epoch.max()]
    for size, part in final.groupby("batch_size"):
        part = part.drop(columns="batch_size")
        pairs = [
            (u_test(sweep, response="val_loss", by="batch_size")[size],
             u_test(part, response="val_loss")),
            (fit_shape(sweep, response="val_loss", kind="quadratic", by="batch_size",
                       n_resamples=50, rng=1)[size],
             fit_shape(part, response="val_loss", kind="quadratic", n_resamples=50,
                       rng=np.random.default_rng(1).spawn(2)[[32, 128].index(size)])),
        ]  # fmt: skip
        for by_level, direct in pairs:
            row = (
                by_level.to_frame() if hasattr(by_level, "statistic") else by_level.summary_frame()
            )
            plain = direct.to_frame() if hasattr(direct, "statistic") else direct.summary_frame()
            assert row.columns[0] == "batch_size" and (row["batch_size"] == size).all()
            pd.testing.assert_frame_equal(row.drop(columns="batch_size"), plain)
    # select_lr / select_all: level i draws from rng.spawn(n_levels)[i]
    by = select_lr(sweep, response="val_loss", rule="ucb", by="batch_size", n_resamples=60, rng=4)
    streams = np.random.default_rng(4).spawn(2)
    for stream, (size, part) in zip(streams, final.groupby("batch_size"), strict=True):
        direct = select_lr(part.drop(columns="batch_size"), response="val_loss", rule="ucb",
                           n_resamples=60, rng=stream)  # fmt: skip
        pd.testing.assert_series_equal(by[size].frequencies, direct.frequencies)
    table = select_all(sweep, ["mean", "ucb"], response="val_loss", by="batch_size",
                       n_resamples=30, rng=0).to_frame()  # fmt: skip
    assert table[["batch_size", "rule"]].values.tolist() == [
        [32, "mean"], [32, "ucb"], [128, "mean"], [128, "ucb"]
    ]  # fmt: skip


# --------------------------------------------------------------------------------------------
# goal="maximize"
# --------------------------------------------------------------------------------------------
def test_maximize_accuracy_is_minimize_the_negated_accuracy(sweep):
    frame = sweep[sweep.batch_size == 32].drop(columns="batch_size")
    negated = frame.assign(neg=-frame["accuracy"])
    comparison = compare_to_best(frame, response="accuracy", goal="maximize")
    final = reduce_frame(frame, response="accuracy")
    assert comparison.best_lr == final.groupby("lr")["accuracy"].mean().idxmax()
    assert comparison.goal == "maximize"
    for rule in ("mean", "median", "penalized", "ucb", "one_se", "variance"):
        up = select_lr(frame, response="accuracy", goal="maximize", rule=rule,
                       n_resamples=80, rng=2)  # fmt: skip
        down = select_lr(negated, response="neg", rule=rule, n_resamples=80, rng=2)
        assert up.lr == down.lr and (up.ci_low, up.ci_high) == (down.ci_low, down.ci_high)
        pd.testing.assert_series_equal(up.frequencies, down.frequencies)
        sign = 1.0 if rule == "variance" else -1.0
        np.testing.assert_allclose(up.scores, sign * down.scores)
    # ucb with maximize: the highest lower t bound, by hand
    wide = final.pivot(index="replicate", columns="lr", values="accuracy")
    m = len(wide)
    lower = wide.mean() - stats.t.ppf(0.975, m - 1) * wide.std(ddof=1) / np.sqrt(m)
    ucb = select_lr(frame, response="accuracy", goal="maximize", rule="ucb", n_resamples=10)
    assert ucb.lr == lower.idxmax()
    np.testing.assert_allclose(ucb.scores.to_numpy(), lower.to_numpy(), rtol=1e-12)


def test_maximize_shape_fits_find_the_maximum(sweep):
    frame = sweep[sweep.batch_size == 32].drop(columns="batch_size")
    truth = sweep.attrs["truth"]["optimum_lr"][32]
    fit = fit_shape(frame, response="accuracy", goal="maximize", kind="quadratic",
                    n_resamples=50, rng=0)  # fmt: skip
    assert fit.ci_low < truth < fit.ci_high
    assert fit.params["coefficients"]["log10_lr_squared"] < 0  # concave: a maximum
    curve = fit.to_frame()
    assert curve.loc[curve["fitted"].idxmax(), "lr"] == pytest.approx(fit.optimum_lr, rel=0.05)
    assert (curve["ci_low"] <= curve["fitted"]).all() and (
        curve["fitted"] <= curve["ci_high"]
    ).all()
    uni = fit_shape(frame, response="accuracy", goal="maximize", n_resamples=50, rng=0)
    means = reduce_frame(frame, response="accuracy").groupby("lr")["accuracy"].mean()
    assert uni.optimum_lr == means.idxmax()
    test = u_test(frame, response="accuracy", goal="maximize")
    assert test.pvalue < 0.01 and test.goal == "maximize"  # an inverted U
    assert u_test(frame, response="accuracy").pvalue > 0.5  # not a U


def test_analyse_an_accuracy_frame_with_maximize(sweep):
    analysis = analyse(sweep, response="accuracy", goal="maximize", by="batch_size",
                       n_resamples=60, rng=3)  # fmt: skip
    recommended = analysis.to_frame()
    grid = np.sort(sweep.lr.unique())
    for size, truth in sweep.attrs["truth"]["optimum_lr"].items():
        nearest = grid[np.argmin(np.abs(np.log10(grid) - np.log10(truth)))]  # on the grid
        rows = recommended[(recommended.batch_size == size) & (recommended.section == "selection")]
        assert len(rows) == 5 and np.allclose(rows["lr"], nearest)
    assert "max_safe" not in analysis.rules and "local" not in analysis.shapes
    assert "Highest mean accuracy" in analysis.summary()


# --------------------------------------------------------------------------------------------
# responses that are not loss changes
# --------------------------------------------------------------------------------------------
def test_sign_rules_and_the_local_fit_are_refused_on_other_responses(sweep):
    frame = sweep[sweep.batch_size == 32]
    for rule in ("max_safe", "max"):
        with pytest.raises(ValueError, match=rf"Rule '{rule}'.*Received: rule='{rule}' with response='val_loss'"):  # fmt: skip
            select_lr(frame, response="val_loss", rule=rule, by="batch_size")
    with pytest.raises(ValueError, match=r"kind='local'.*Received: kind='local' with response='val_loss'"):  # fmt: skip
        fit_shape(frame, response="val_loss", kind="local", by="batch_size")
    with pytest.raises(ValueError, match=r"Rule 'max_safe'.*response='accuracy'"):
        analyse(frame, response="accuracy", rules=["max_safe"], by="batch_size")
    with pytest.raises(ValueError, match=r"Rule 'max_safe' .*needs goal='minimize'"):
        select_lr(simulate_frame(replicates=5, rng=0), rule="max_safe", goal="maximize")
    table = summarize(frame, response="val_loss", by="batch_size").to_frame()
    assert not any(c.startswith("p_decrease") for c in table.columns)


# --------------------------------------------------------------------------------------------
# incomplete grids
# --------------------------------------------------------------------------------------------
@pytest.fixture
def holed():
    frame = simulate_frame(lrs=np.logspace(-3, -1.5, 6), replicates=12, rng=21)
    lrs = np.sort(frame.lr.unique())
    # replicate 3 never ran the largest lr; replicate 7 stopped before the two largest
    missing = ((frame.replicate == 3) & (frame.lr == lrs[-1])) | (
        (frame.replicate == 7) & frame.lr.isin(lrs[-2:])
    )
    frame.loc[(frame.replicate == 5) & (frame.lr == lrs[-1]), "post"] = np.inf  # divergence
    return frame[~missing].reset_index(drop=True), frame, lrs


def test_incomplete_grid_summary_uses_what_there_is(holed):
    frame, _, lrs = holed
    table = summarize(frame).table
    assert table["n"].tolist() == [12, 12, 12, 12, 11, 9]  # 1 diverged + 2 missing at the last
    assert table["n_nonfinite"].tolist() == [0, 0, 0, 0, 0, 1]
    delta = frame.post - frame.pre
    last = delta[(frame.lr == lrs[-1]) & np.isfinite(delta)]
    assert table["mean"].iloc[-1] == pytest.approx(last.mean())
    assert table["p_decrease"].iloc[-1] == pytest.approx((last < 0).sum() / 10)  # 10 observed


def test_incomplete_grid_compare_pairs_what_is_complete(holed):
    frame, _, lrs = holed
    with pytest.warns(IncompleteGridWarning, match="compare_to_best: the grid is incomplete"):
        table = compare_to_best(frame).table.set_index("lr")
    best = table.index[table["diff"] == 0][0]
    assert best not in lrs[-2:]
    assert table.loc[lrs[-2], "n_dropped"] == 1 and table.loc[lrs[-1], "n_dropped"] == 2
    assert table.loc[lrs[0], "n_dropped"] == 0
    wide = (frame.assign(d=frame.post - frame.pre)
            .pivot(index="replicate", columns="lr", values="d"))  # fmt: skip
    pairs = (wide[lrs[-2]] - wide[best]).dropna()
    assert table.loc[lrs[-2], "n"] == len(pairs) == 11
    assert table.loc[lrs[-2], "diff"] == pytest.approx(pairs.mean())
    assert bool(table.loc[lrs[-1], "diverging"])  # non-finite stays data


def test_incomplete_grid_joint_methods_use_complete_replicates(holed):
    frame, full, _ = holed
    complete = full[~full.replicate.isin([3, 7])]
    with pytest.warns(IncompleteGridWarning, match="2 of 12 replicates"):
        selection = select_lr(frame, rule="mean", n_resamples=40, rng=5)
    expected = select_lr(complete, rule="mean", n_resamples=40, rng=5)
    assert selection.n_dropped == 2 and selection.to_frame()["n_dropped"][0] == 2
    pd.testing.assert_series_equal(selection.frequencies, expected.frequencies)
    with pytest.warns(IncompleteGridWarning):
        fit = fit_shape(frame, kind="local")
    direct = fit_shape(complete, kind="local")
    assert fit.n_dropped == 2 and fit.optimum_lr == direct.optimum_lr
    with pytest.warns(IncompleteGridWarning):
        assert quiet(u_test, complete).statistic == u_test(frame).statistic


# --------------------------------------------------------------------------------------------
# result objects
# --------------------------------------------------------------------------------------------
def test_select_all_returns_a_result_object():
    frame = simulate_frame(replicates=25, rng=3)
    result = select_all(frame, ["mean", "max_safe"], n_resamples=50, rng=0, min_p_decrease=0.8)
    assert isinstance(result, Selections) and list(result) == ["mean", "max_safe"]
    assert result["max_safe"].params == {"min_p_decrease": 0.8}
    assert result.to_frame()["rule"].tolist() == ["mean", "max_safe"]
    assert "<table" in result._repr_html_()


# --------------------------------------------------------------------------------------------
# analysis streams: never the sampler's
# --------------------------------------------------------------------------------------------
def test_analysis_streams_are_keyed_and_separate_from_the_sampler():
    frame = simulate_frame(replicates=20, rng=1)
    analysis = analyse(frame, rules=["mean", "ucb"], shapes=["unimodal"], n_resamples=200, rng=0)
    children = np.random.default_rng(_streams.seed_sequence(0, "analysis")).spawn(5)
    # documented order: BCa summary, one per rule, one per shape, then the jitter
    bca = summarize(frame, method="bca", n_resamples=200, rng=children[0])
    pd.testing.assert_frame_equal(analysis["summary_bca"].table, bca.table)
    ucb = select_lr(frame, rule="ucb", n_resamples=200, rng=children[2])
    pd.testing.assert_series_equal(analysis["selection_ucb"].frequencies, ucb.frequencies)
    assert analysis.jitter_seed.spawn_key == children[4].bit_generator.seed_seq.spawn_key
    # the sampler's replicate r draws from SeedSequence(0, spawn_key=(SAMPLING, r)): other bits
    sampler = [_streams.seed_sequence(0, "sampling", r) for r in range(5)]
    used = [c.bit_generator.seed_seq.generate_state(4) for c in children]
    for stream in sampler:
        assert not any(np.array_equal(stream.generate_state(4), u) for u in used)
    # nor the old derivation default_rng(0).spawn(...) (SeedSequence(0, spawn_key=(i,)))
    old = np.random.default_rng(0).spawn(1)[0]
    assert not np.array_equal(old.bit_generator.seed_seq.generate_state(4), used[0])
    again = analyse(frame, rules=["mean", "ucb"], shapes=["unimodal"], n_resamples=200, rng=0)
    pd.testing.assert_frame_equal(again.to_frame(), analysis.to_frame())
