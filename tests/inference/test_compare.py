import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from lrstats.inference import compare_to_best
from lrstats.inference.compare import holm
from lrstats.simulate import simulate_frame

COLUMNS = ["lr", "diff", "ci_low", "ci_high", "pvalue", "pvalue_holm", "indistinguishable"]


@pytest.fixture
def frame():
    return simulate_frame(lrs=np.logspace(-3, -1.5, 9), replicates=15, rng=3, noise_sd=0.01)


def test_best_is_the_lowest_mean_and_paired_t_matches_scipy(frame):
    comparison = compare_to_best(frame, confidence_level=0.9)
    table = comparison.to_frame()
    assert list(table.columns[:7]) == COLUMNS
    d = frame.assign(d=frame.post - frame.pre)
    means = d.groupby("lr")["d"].mean()
    assert comparison.best_lr == means.idxmin()
    best = d.d[d.lr == comparison.best_lr].to_numpy()
    for _, row in table[table.lr != comparison.best_lr].iterrows():
        other = d.d[d.lr == row["lr"]].to_numpy()
        ref = stats.ttest_rel(other, best)
        ci = ref.confidence_interval(0.9)
        assert row["diff"] == pytest.approx((other - best).mean())
        assert row["pvalue"] == pytest.approx(ref.pvalue, rel=1e-10)
        assert row["ci_low"] == pytest.approx(ci.low, rel=1e-10)
        assert row["ci_high"] == pytest.approx(ci.high, rel=1e-10)
    own = table[table.lr == comparison.best_lr].iloc[0]
    assert own["diff"] == 0 and np.isnan(own["pvalue"]) and own["indistinguishable"]


def test_holm_matches_statsmodels():
    p = np.random.default_rng(0).uniform(0, 0.2, size=12)
    p[3] = p[7]  # ties
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1], rtol=1e-14)


def test_holm_adjustment_and_indistinguishable(frame):
    table = compare_to_best(frame).table
    others = table["pvalue"].notna()
    np.testing.assert_allclose(
        table.loc[others, "pvalue_holm"],
        multipletests(table.loc[others, "pvalue"], method="holm")[1],
    )
    np.testing.assert_array_equal(
        table.loc[others, "indistinguishable"], table.loc[others, "pvalue_holm"] >= 0.05
    )


@pytest.mark.parametrize("method", ["percentile", "basic", "bca"])
def test_bootstrap_pvalue_inverts_the_interval(frame, method):
    table = compare_to_best(frame, method=method, n_resamples=4999, rng=2).table
    table = table[table["pvalue"].notna()]
    excludes_zero = (table["ci_low"] > 0) | (table["ci_high"] < 0)
    clear = (table["pvalue"] - 0.05).abs() > 0.01  # away from interpolation ties
    assert clear.sum() >= 5
    np.testing.assert_array_equal(excludes_zero[clear], table["pvalue"][clear] < 0.05)


def test_bootstrap_agrees_with_paired_t_on_normal_data(frame):
    t = compare_to_best(frame).table
    boot = compare_to_best(frame, method="bca", n_resamples=9999, rng=4).table
    others = t["pvalue"].notna()
    half = (t["ci_high"] - t["ci_low"])[others] / 2
    # 15 replicates: bootstrap intervals are a little narrower than t intervals
    assert ((boot["ci_low"] - t["ci_low"]).abs()[others] < 0.3 * half).all()
    assert ((boot["ci_high"] - t["ci_high"]).abs()[others] < 0.3 * half).all()


def test_diverging_lr_is_never_best_nor_indistinguishable(make_frame):
    rng = np.random.default_rng(5)
    values = rng.normal(0, 0.1, size=(10, 4)) + np.array([0.0, -0.5, -0.4, -10.0])
    values[0, 3] = np.inf  # the lowest mean, but diverging
    comparison = compare_to_best(make_frame(values), response="val")
    table = comparison.table
    assert comparison.best_lr == table["lr"][1]
    assert not table["indistinguishable"][3] and table["diverging"][3]
    assert table["n"][3] == 9


def test_indistinguishable_lrs_are_those_not_rejected(make_frame):
    rng = np.random.default_rng(6)
    shift = np.array([0.0, 0.0, 0.02, 1.0])
    values = rng.normal(size=(30, 1)) + shift + rng.normal(0, 0.05, size=(30, 4))
    comparison = compare_to_best(make_frame(values), response="val")
    assert comparison.best_lr in comparison.table["lr"][:2].to_numpy()
    assert comparison.table["indistinguishable"].tolist()[:2] == [True, True]
    assert not comparison.table["indistinguishable"][3]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"confidence_level": 1.5}, ValueError, r"`confidence_level` must be a finite number in \(0, 1\)"),
        ({"method": "normal"}, ValueError, r"`method` must be one of .*Received: method='normal'"),
        ({"response": "val"}, ValueError, r"`response` must be one of"),
        ({"n_resamples": -1}, ValueError, r"`n_resamples` must be an integer >= 1"),
    ],
)  # fmt: skip
def test_bad_arguments(frame, kwargs, error, match):
    with pytest.raises(error, match=match):
        compare_to_best(frame, **kwargs)


def test_needs_two_lrs(frame):
    with pytest.raises(ValueError, match=r"at least 2 lrs. Received: 1"):
        compare_to_best(frame[frame.lr == frame.lr.min()])
