import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lrstats.inference import fit_shape, u_test
from lrstats.simulate import simulate_frame


def frame_from_curve(seed, curve, *, replicates=15, noise=0.05):
    """Replicates share a random level and a random multiple of the curve, plus noise."""
    rng = np.random.default_rng(seed)
    x = np.linspace(-4, -1, 10)
    values = (
        curve(x) * (1 + 0.3 * rng.normal(size=(replicates, 1)))
        + 0.1 * rng.normal(size=(replicates, 1))
        + noise * rng.normal(size=(replicates, x.size))
    )
    return pd.DataFrame(
        {
            "lr": np.tile(10**x, replicates),
            "replicate": np.repeat(np.arange(replicates), x.size),
            "val": values.ravel(),
        }
    )


def test_statistic_from_the_cluster_robust_quadratic_fit():
    frame = frame_from_curve(0, lambda x: 0.2 * (x + 2.5) ** 2)
    result = u_test(frame, response="val")
    fit = fit_shape(frame, kind="quadratic", response="val", n_resamples=10, rng=0)
    beta, cov = fit.params["coefficients"].to_numpy(), fit.params["cov"]
    t = []
    for x in (-4.0, -1.0):
        g = np.array([0.0, 1.0, 2 * x])
        t.append(g @ beta / np.sqrt(g @ cov @ g))
    assert result.slope_lower == pytest.approx(beta[1] - 8 * beta[2])
    assert (result.t_lower, result.t_upper) == pytest.approx(tuple(t))
    assert result.statistic == pytest.approx(min(-t[0], t[1]))
    assert result.df == 14
    assert result.pvalue == pytest.approx(stats.t.sf(result.statistic, 14))
    assert result.extremum_lr == pytest.approx(fit.optimum_lr)
    assert result.pvalue < 1e-4
    assert (result.lower_lr, result.upper_lr) == pytest.approx((1e-4, 1e-1))


def test_fieller_bounds_solve_the_fieller_equation():
    frame = frame_from_curve(1, lambda x: 0.2 * (x + 2.5) ** 2, noise=0.3)
    result = u_test(frame, response="val", confidence_level=0.9)
    fit = fit_shape(frame, kind="quadratic", response="val", n_resamples=10, rng=0)
    beta, cov = fit.params["coefficients"].to_numpy(), fit.params["cov"]
    critical = stats.t.ppf(0.95, 14)
    for bound in (result.ci_low, result.ci_high):
        theta = np.log10(bound)
        g = np.array([0.0, 1.0, 2 * theta])  # β1 + 2 β2 θ = 0 at the extremum
        assert (g @ beta) ** 2 == pytest.approx(critical**2 * (g @ cov @ g), rel=1e-8)
    assert result.ci_low < result.extremum_lr < result.ci_high


def test_weak_curvature_gives_an_unbounded_fieller_interval():
    frame = frame_from_curve(2, lambda x: 0.001 * (x + 2.5) ** 2, noise=0.5)
    result = u_test(frame, response="val")
    assert (result.ci_low, result.ci_high) == (0.0, np.inf)
    assert result.pvalue > 0.05


def test_monotone_curve_is_not_a_u():
    result = u_test(frame_from_curve(3, lambda x: -0.3 * x), response="val")
    assert result.pvalue > 0.5 and result.statistic < 0


def test_interval_ends_can_be_chosen():
    frame = frame_from_curve(4, lambda x: 0.2 * (x + 2.5) ** 2)
    narrow = u_test(frame, response="val", lower=10**-2.8, upper=10**-2.2)
    wide = u_test(frame, response="val")
    assert narrow.lower_lr == 10**-2.8 and narrow.pvalue > wide.pvalue
    one_sided = u_test(frame, response="val", lower=1e-2, upper=1e-1)  # right of the bottom
    assert one_sided.slope_lower > 0 and one_sided.pvalue > 0.5


@pytest.mark.slow
def test_size_at_the_boundary_of_the_null():
    # Least favourable null: zero slope at the lower end, clearly positive at the upper end.
    # The intersection-union test then has size close to alpha; it must not exceed it.
    repetitions, alpha = 400, 0.05
    rejections = sum(
        u_test(frame_from_curve([5, i], lambda x: 0.2 * (x + 4) ** 2), response="val").pvalue
        < alpha
        for i in range(repetitions)
    )
    assert stats.binomtest(rejections, repetitions, alpha, alternative="greater").pvalue > 0.001
    assert rejections > 0  # the boundary is attainable: not a test that never rejects


@pytest.mark.slow
def test_power_under_a_u():
    repetitions = 100
    rejections = sum(
        u_test(simulate_frame(replicates=15, noise_sd=0.02, rng=[6, i])).pvalue < 0.05
        for i in range(repetitions)
    )
    assert rejections >= 95


def result_fields():
    return u_test(simulate_frame(replicates=8, rng=7))


def test_result_is_one_row():
    table = result_fields().to_frame()
    assert len(table) == 1
    assert {
        "statistic",
        "pvalue",
        "extremum_lr",
        "ci_low",
        "ci_high",
        "t_lower",
        "t_upper",
    } <= set(table)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"lower": 0.0}, ValueError, r"`lower` must be a finite number in \(0, inf\)"),
        ({"upper": "1"}, TypeError, r"`upper` must be a real number"),
        ({"lower": 0.01, "upper": 0.001}, ValueError, r"`lower` must be smaller than `upper`. Received: lower=0.01, upper=0.001"),
        ({"lower": 0.5}, ValueError, r"`lower` must be smaller than `upper`. Received: lower=0.5, upper=0.1"),
        ({"confidence_level": 0.0}, ValueError, r"`confidence_level` must be a finite number in \(0, 1\)"),
        ({"response": "val"}, ValueError, r"`response` must be one of"),
    ],
)  # fmt: skip
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        u_test(simulate_frame(replicates=3, rng=0), **kwargs)


def test_needs_three_lrs():
    with pytest.raises(ValueError, match=r"at least 3 lrs"):
        u_test(simulate_frame(lrs=[0.001, 0.01], replicates=3, rng=0))
