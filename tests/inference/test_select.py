import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from lrstats.inference import RULES, NoSelectionWarning, select_all, select_lr
from lrstats.inference._bootstrap import resample_counts
from lrstats.inference.select import SIGN_RULES
from lrstats.simulate import simulate_frame

LRS = np.array([0.001, 0.002, 0.004, 0.008])


def standardized(m, seed):
    z = np.random.default_rng(seed).normal(size=m)
    return (z - z.mean()) / z.std(ddof=1)


def pick(frame, rule, **options):
    if rule in SIGN_RULES:  # the sign rules need a loss change: the same values as `delta`
        frame, response = frame.rename(columns={"val": "delta"}), "delta"
    else:
        response = "val"
    return select_lr(frame, rule=rule, response=response, n_resamples=200, rng=0, **options)


def test_mean_and_median_differ_on_an_outlier(make_frame):
    col0 = -1.0 + 0.01 * standardized(10, 1)
    col1 = np.r_[np.full(9, -0.5), -20.0]  # mean -2.45, median -0.5
    frame = make_frame(np.column_stack([col0, col1, col0 + 2, col0 + 3]), LRS)
    assert pick(frame, "mean").lr == LRS[1]
    assert pick(frame, "median").lr == LRS[0]


def test_penalized_prefers_a_steady_decrease(make_frame):
    steady = -1.0 + 0.01 * standardized(12, 2)
    lucky = -1.2 + 1.0 * standardized(12, 3)
    frame = make_frame(np.column_stack([steady, lucky, steady + 1, steady + 2]), LRS)
    assert pick(frame, "mean").lr == LRS[1]
    assert pick(frame, "penalized").lr == LRS[0]  # -0.99 < -0.2
    assert pick(frame, "penalized", penalty=0.0).lr == LRS[1]
    assert pick(frame, "ucb").lr == LRS[0]  # -1 + 0.006 < -1.2 + 0.64
    selection = pick(frame, "penalized", penalty=0.1)
    assert selection.params == {"penalty": 0.1}
    assert selection.scores[LRS[1]] == pytest.approx(-1.2 + 0.1 * 1.0)
    assert selection.lr == LRS[1]  # -1.1 < -0.999


def test_ucb_score_is_the_t_upper_bound(make_frame):
    from lrstats.inference import summarize

    frame = make_frame(np.random.default_rng(4).normal(size=(9, 4)), LRS)
    selection = pick(frame, "ucb")
    high = summarize(frame, response="val").table["ci_high"].to_numpy()
    np.testing.assert_allclose(selection.scores.to_numpy(), high)
    assert selection.lr == LRS[np.argmin(high)]


def test_variance_picks_the_smallest_sd(make_frame):
    z = standardized(8, 5)
    frame = make_frame(
        np.column_stack([-1 + 0.3 * z, -2 + 0.1 * z, -3 + 0.2 * z, 0.05 * z + 1]), LRS
    )
    assert pick(frame, "variance").lr == LRS[3]


def test_max_is_the_largest_lr_without_an_increase(make_frame):
    negative = -1.0 - np.abs(standardized(10, 6))
    with_zero = negative.copy()
    with_zero[0] = 0.0  # <= 0 still counts
    with_increase = negative.copy()
    with_increase[3] = 0.001
    frame = make_frame(np.column_stack([negative, negative, with_zero, with_increase]), LRS)
    assert pick(frame, "max").lr == LRS[2]


def test_max_safe_uses_the_one_sided_wilson_bound(make_frame):
    m = 30

    def column(n_negative):
        return np.r_[np.full(n_negative, -1.0), np.full(m - n_negative, 1.0)]

    frame = make_frame(np.column_stack([column(30), column(28), column(30), column(26)]), LRS)
    selection = pick(frame, "max_safe")
    assert selection.lr == LRS[2] and selection.params == {"min_p_decrease": 0.9}
    expected = proportion_confint([30, 28, 30, 26], m, alpha=0.1, method="wilson")[0]
    np.testing.assert_allclose(selection.scores.to_numpy(), expected, rtol=1e-10)
    assert pick(frame, "max_safe", min_p_decrease=0.7).lr == LRS[3]  # 26/30: bound 0.74


@pytest.mark.parametrize(("m", "selected"), [(24, False), (25, True)])
def test_max_safe_needs_25_replicates_for_q_09(make_frame, m, selected):
    frame = make_frame(-np.ones((m, 2)) + np.linspace(0, 0.1, m)[:, None], LRS[:2])
    if selected:
        assert pick(frame, "max_safe").lr == LRS[1]
    else:
        with pytest.warns(NoSelectionWarning, match="at least 25 replicates are needed"):
            assert np.isnan(pick(frame, "max_safe").lr)


@pytest.mark.parametrize(
    ("q", "level"), [(0.9, 0.95), (0.8, 0.95), (0.95, 0.9), (0.5, 0.99), (0.99, 0.95)]
)
def test_max_safe_min_replicates_is_the_first_attainable_m(q, level):
    from lrstats.inference._bootstrap import wilson_lower
    from lrstats.inference.select import max_safe_min_replicates

    needed = max_safe_min_replicates(q, level)
    assert wilson_lower(needed, needed, level) >= q
    assert wilson_lower(needed - 1, needed - 1, level) < q


def test_max_with_no_selection_on_the_data_has_no_interval(make_frame):
    # 20 replicates; every lr has one replicate whose loss rose, the largest lr diverges:
    # "max" selects nothing on the data, though many resamples leave the rise out.
    rng = np.random.default_rng(11)
    values = -np.abs(rng.normal(1, 0.2, size=(20, 4)))
    values[np.arange(3), np.arange(3)] = 0.1
    values[0, 3] = np.inf
    frame = make_frame(values, LRS)
    with pytest.warns(NoSelectionWarning, match="No lr satisfies rule 'max'"):
        selection = pick(frame, "max")
    assert np.isnan(selection.lr)
    assert np.isnan(selection.ci_low) and np.isnan(selection.ci_high)
    assert selection.n_no_selection < 200  # the resamples did select: the interval is withheld
    assert selection.frequencies.sum() == pytest.approx(1.0)  # ...and their shares are kept


def test_one_se_takes_the_largest_lr_within_one_se(make_frame):
    z = 0.2 * standardized(16, 7)  # shared by every lr: se = 0.05 everywhere
    means = np.array([-1.02, -1.05, -1.01, -0.5])
    frame = make_frame(means + z[:, None], LRS)
    assert pick(frame, "mean").lr == LRS[1]
    assert pick(frame, "one_se").lr == LRS[2]


@pytest.mark.parametrize("rule", RULES)
def test_a_diverging_lr_is_never_selected(make_frame, rule):
    rng = np.random.default_rng(8)
    values = -np.abs(rng.normal(1, 0.1, size=(30, 4))) * np.array([1, 2, 3, 100])
    values[:, 3] = -100 - np.abs(rng.normal(size=30)) * 0.001  # best by every rule...
    values[4, 3] = np.inf  # ...but it diverges once
    frame = make_frame(values, LRS)
    selection = pick(frame, rule)
    assert selection.lr in LRS[:3]
    assert selection.frequencies[LRS[3]] == 0
    assert np.isnan(selection.scores[LRS[3]])


def test_every_lr_diverging_gives_nan(make_frame):
    frame = make_frame(np.full((5, 3), np.inf), LRS[:3])
    with pytest.warns(NoSelectionWarning, match="Every lr diverges"):
        selection = pick(frame, "mean")
    assert np.isnan(selection.lr) and selection.n_no_selection == 200


@pytest.mark.parametrize("rule", RULES)
def test_bootstrap_frequencies_equal_rerunning_the_rule_on_resampled_frames(rule):
    frame = simulate_frame(lrs=np.logspace(-3, -1.6, 6), replicates=30, rng=9, noise_sd=0.01)
    name = "delta" if rule in SIGN_RULES else "val"
    frame = frame.assign(**{name: frame.post - frame.pre})[["lr", "replicate", name]]
    n_resamples, seed = 25, 11
    selection = select_lr(frame, rule=rule, response=name, n_resamples=n_resamples, rng=seed)
    counts = resample_counts(np.random.default_rng(seed), 30, n_resamples)
    chosen = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoSelectionWarning)
        for row in counts.astype(int):
            drawn = np.repeat(np.arange(30), row)
            parts = [frame[frame.replicate == r].assign(replicate=i) for i, r in enumerate(drawn)]
            chosen.append(select_lr(pd.concat(parts), rule=rule, response=name, n_resamples=1).lr)
    chosen = pd.Series(chosen).dropna()
    expected = chosen.value_counts(normalize=True).reindex(
        selection.frequencies.index, fill_value=0
    )
    np.testing.assert_allclose(selection.frequencies.to_numpy(), expected.to_numpy())
    assert selection.n_no_selection == n_resamples - chosen.size


def test_interval_and_frequencies_on_a_simulated_frame():
    frame = simulate_frame(replicates=40, rng=12)
    grid = np.sort(frame.lr.unique())
    selection = select_lr(frame, rule="ucb", n_resamples=1000, rng=1)
    assert selection.lr in grid and selection.ci_low in grid and selection.ci_high in grid
    assert selection.ci_low <= selection.lr <= selection.ci_high
    assert selection.frequencies.sum() == pytest.approx(1.0)
    assert selection.frequencies.name == "frequency"
    np.testing.assert_array_equal(selection.frequencies.index, grid)
    # the interval holds the central 95 % of the selections
    cumulative = selection.frequencies.cumsum()
    assert cumulative[selection.ci_low] >= 0.025 and cumulative[selection.ci_high] >= 0.975
    row = selection.to_frame()
    assert row.columns[:4].tolist() == ["rule", "lr", "ci_low", "ci_high"] and len(row) == 1
    assert row["stability"][0] == selection.frequencies[selection.lr]


def test_select_all_one_row_per_rule():
    frame = simulate_frame(replicates=30, rng=13)
    result = select_all(frame, n_resamples=100, rng=0, penalty=2.0)
    table = result.to_frame()
    assert table["rule"].tolist() == list(RULES)
    assert result["penalized"].params == {"penalty": 2.0}
    # rule i draws from default_rng(rng).spawn(len(rules))[i]
    stream = np.random.default_rng(0).spawn(len(RULES))[RULES.index("ucb")]
    again = select_lr(frame, rule="ucb", n_resamples=100, rng=stream)
    pd.testing.assert_series_equal(result["ucb"].frequencies, again.frequencies)
    assert (
        table.loc[table.rule == "penalized", "lr"].iloc[0]
        == select_lr(frame, rule="penalized", penalty=2.0, n_resamples=1).lr
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"rule": "min"}, ValueError, r"`rule` must be one of 'mean', .*Received: rule='min'"),
        ({"rule": "mean", "penalty": 1.0}, TypeError, r"`penalty` applies to rule 'penalized' only. Received: penalty=1.0 with rule='mean'"),
        ({"rule": "penalized", "min_p_decrease": 0.5}, TypeError, r"`min_p_decrease` applies to rule 'max_safe' only"),
        ({"rule": "penalized", "lam": 1.0}, TypeError, r"unexpected keyword argument 'lam'"),
        ({"rule": "penalized", "penalty": -1.0}, ValueError, r"`penalty` must be a finite number in \[0, inf\)"),
        ({"rule": "max_safe", "min_p_decrease": 1.0}, ValueError, r"`min_p_decrease` must be a finite number in \[0, 1\)"),
        ({"confidence_level": -0.1}, ValueError, r"`confidence_level` must be a finite number"),
        ({"n_resamples": 0}, ValueError, r"`n_resamples` must be an integer >= 1"),
        ({"response": "loss"}, ValueError, r"`response` must be one of"),
    ],
)  # fmt: skip
def test_bad_arguments(kwargs, error, match):
    frame = simulate_frame(replicates=3, rng=0)
    with pytest.raises(error, match=match):
        select_lr(frame, **kwargs)


def test_select_all_rejects_unknown_rules():
    with pytest.raises(ValueError, match=r"`rules` must be one of"):
        select_all(simulate_frame(replicates=3, rng=0), rules=["mean", "best"])
