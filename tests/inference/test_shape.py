import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from scipy.optimize import isotonic_regression
from statsmodels.nonparametric.smoothers_lowess import lowess as sm_lowess

from lrstats.inference import SHAPE_KINDS, ShapeWarning, fit_shape, lowess
from lrstats.inference._bootstrap import resample_counts, resampled_means
from lrstats.inference.shape import _decreasing_prefix_sse, unimodal_fit, unimodal_split
from lrstats.simulate import simulate_frame


def frame_from_matrix(values, lrs):
    m, k = values.shape
    return pd.DataFrame(
        {"lr": np.tile(lrs, m), "replicate": np.repeat(np.arange(m), k), "val": values.ravel()}
    )


def log_quadratic_frame(seed, *, replicates=20, optimum=1e-2, points=9, noise=0.02):
    """ΔL = c_r (x - x*)² - 0.1 + u_r + ε with x = log10(lr): the quadratic model holds."""
    rng = np.random.default_rng(seed)
    x_star = np.log10(optimum)
    x = np.linspace(x_star - 1.2, x_star + 0.8, points)
    c = 0.05 * (1 + 0.3 * rng.normal(size=(replicates, 1)))
    u = 0.02 * rng.normal(size=(replicates, 1))
    values = c * (x - x_star) ** 2 - 0.1 + u + noise * rng.normal(size=(replicates, points))
    return frame_from_matrix(values, 10**x)


def test_quadratic_agrees_with_statsmodels_cluster_fit():
    frame = log_quadratic_frame(0)
    fit = fit_shape(frame, kind="quadratic", response="val", n_resamples=10, rng=0)
    data = frame.assign(x=np.log10(frame.lr))
    ref = smf.ols("val ~ x + I(x**2)", data).fit(
        cov_type="cluster", cov_kwds={"groups": data["replicate"]}
    )
    np.testing.assert_allclose(
        fit.params["coefficients"].to_numpy(), ref.params.to_numpy(), rtol=1e-8
    )
    np.testing.assert_allclose(fit.params["cov"], ref.cov_params().to_numpy(), rtol=1e-8)
    assert fit.params["df"] == 19 == ref.df_resid_inference
    # CR1: G/(G-1) * (N-1)/(N-k) times the sandwich
    x = data[["x"]].assign(one=1.0, x2=data.x**2)[["one", "x", "x2"]].to_numpy()
    e = ref.resid.to_numpy()
    bread = np.linalg.inv(x.T @ x)
    scores = np.stack([x[data.replicate == g].T @ e[data.replicate == g] for g in range(20)])
    sandwich = bread @ scores.T @ scores @ bread * 20 / 19 * (180 - 1) / (180 - 3)
    np.testing.assert_allclose(fit.params["cov"], sandwich, rtol=1e-8)


def test_quadratic_vertex_delta_method_matches_numerical_gradient():
    fit = fit_shape(
        log_quadratic_frame(1), kind="quadratic", response="val", n_resamples=10, rng=0
    )
    beta, cov = fit.params["coefficients"].to_numpy(), fit.params["cov"]

    def vertex(b):
        return -b[1] / (2 * b[2])

    step = 1e-6 * np.abs(beta)
    gradient = np.array(
        [
            (vertex(beta + np.eye(3)[i] * step[i]) - vertex(beta - np.eye(3)[i] * step[i]))
            / (2 * step[i])
            for i in range(3)
        ]
    )
    assert fit.params["vertex_se_log10"] == pytest.approx(
        np.sqrt(gradient @ cov @ gradient), rel=1e-5
    )
    critical = stats.t.ppf(0.975, 19)
    delta = fit.intervals[fit.intervals.method == "delta"].iloc[0]
    assert np.log10(delta["ci_high"]) - vertex(beta) == pytest.approx(
        critical * fit.params["vertex_se_log10"]
    )
    assert (fit.ci_low, fit.ci_high) == (delta["ci_low"], delta["ci_high"])


def test_resampled_ols_is_ols_of_resampled_means():
    frame = log_quadratic_frame(2)
    values = frame.val.to_numpy().reshape(20, 9)
    x = np.log10(np.sort(frame.lr.unique()))
    design = np.column_stack([np.ones(9), x, x * x])
    counts = resample_counts(np.random.default_rng(3), 20, 4)
    fast = resampled_means(counts, values) @ np.linalg.pinv(design).T
    for row, beta in zip(counts.astype(int), fast, strict=True):
        expanded = np.repeat(values, row, axis=0)
        slow = np.linalg.lstsq(
            np.tile(design, (expanded.shape[0], 1)), expanded.ravel(), rcond=None
        )[0]
        np.testing.assert_allclose(beta, slow, rtol=1e-8)


@pytest.mark.slow
def test_quadratic_intervals_cover_the_vertex():
    repetitions = 200
    hits = {"delta": 0, "fieller": 0, "bootstrap_percentile": 0}
    for i in range(repetitions):
        fit = fit_shape(
            log_quadratic_frame([5, i]), kind="quadratic", response="val", n_resamples=400, rng=i
        )
        for _, row in fit.intervals.iterrows():
            hits[row["method"]] += row["ci_low"] <= 1e-2 <= row["ci_high"]
    for method, k in hits.items():
        assert stats.binomtest(k, repetitions, 0.95).pvalue > 0.001, (method, k / repetitions)


@pytest.mark.slow
def test_local_intervals_cover_optimum_and_break_even():
    repetitions = 300
    hits = {}
    for i in range(repetitions):
        frame = simulate_frame(replicates=20, noise_sd=0.02, rng=[6, i], diverge_above=0.03)
        truth = frame.attrs["truth"]
        fit = fit_shape(frame, kind="local")
        for _, row in fit.intervals.iterrows():
            key = (row["quantity"], row["method"])
            hits[key] = hits.get(key, 0) + (
                row["ci_low"] <= truth[row["quantity"]] <= row["ci_high"]
            )
    assert len(hits) == 4
    for key, k in hits.items():
        assert stats.binomtest(k, repetitions, 0.95).pvalue > 0.001, (key, k / repetitions)


def test_local_is_exact_without_noise():
    frame = simulate_frame(replicates=5, noise_sd=0.0, slope_sd=0.0, curvature_sd=0.0, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = fit_shape(frame, kind="local")
    assert fit.optimum_lr == pytest.approx(0.01, rel=1e-9)
    assert fit.break_even_lr == pytest.approx(0.02, rel=1e-9)
    assert fit.params["a"] == pytest.approx(20.0) and fit.params["b"] == pytest.approx(1000.0)


def test_quadratic_in_log_lr_is_biased_low_on_the_one_step_model():
    # ΔL = -aη + bη² is steeper above the optimum than below it in log-lr; the symmetric
    # parabola puts its vertex too low (documented caveat; use kind="local" there).
    estimates = [
        fit_shape(
            simulate_frame(replicates=20, rng=[7, i]), kind="quadratic", n_resamples=10, rng=0
        ).optimum_lr
        for i in range(20)
    ]
    assert np.max(estimates) < 0.01


def test_concave_quadratic_has_no_optimum(make_frame):
    x = np.linspace(-3, -1, 7)
    values = -((x + 2) ** 2) + 0.01 * np.random.default_rng(8).normal(size=(10, 7))
    with pytest.warns(ShapeWarning, match="not convex"):
        fit = fit_shape(
            make_frame(values, 10**x), kind="quadratic", response="val", n_resamples=20, rng=0
        )
    assert np.isnan(fit.optimum_lr) and np.isnan(fit.ci_low)
    assert len(fit.curve) > 7  # the curve is still there to be drawn


def test_decreasing_prefix_sse_matches_scipy():
    rng = np.random.default_rng(9)
    y, w = rng.normal(size=12), rng.uniform(0.5, 2, size=12)
    for s in range(12):
        fitted = isotonic_regression(y[: s + 1], weights=w[: s + 1], increasing=False).x
        assert _decreasing_prefix_sse(y, w)[s] == pytest.approx(
            (w[: s + 1] * (y[: s + 1] - fitted) ** 2).sum()
        )


def test_unimodal_split_is_the_least_squares_split():
    rng = np.random.default_rng(10)
    for _ in range(20):
        y, w = rng.normal(size=9) + np.linspace(-2, 2, 9) ** 2, rng.uniform(0.5, 2, size=9)
        sse = []
        for s in range(-1, 9):
            f = np.r_[
                isotonic_regression(y[: s + 1], weights=w[: s + 1], increasing=False).x
                if s >= 0
                else [],
                isotonic_regression(y[s + 1 :], weights=w[s + 1 :]).x if s < 8 else [],
            ]
            sse.append((w * (y - f) ** 2).sum())
        assert unimodal_split(y, w) == int(np.argmin(sse)) - 1
        fitted, _ = unimodal_fit(y, w)
        assert (w * (y - fitted) ** 2).sum() == pytest.approx(min(sse))


def test_isotonic_fit_is_scipys_on_precision_weighted_means():
    frame = simulate_frame(lrs=np.logspace(-4, -2, 8), replicates=15, rng=11)
    fit = fit_shape(frame, kind="isotonic", n_resamples=50, rng=0)
    d = frame.assign(d=frame.post - frame.pre).groupby("lr")["d"]
    weights = d.count() / d.var(ddof=1)
    expected = isotonic_regression(
        d.mean().to_numpy(), weights=weights.to_numpy(), increasing=False
    ).x
    np.testing.assert_allclose(fit.curve["fitted"], expected)
    assert fit.params["increasing"] is False
    assert fit.optimum_lr == fit.curve["lr"][np.argmin(expected)]
    increasing = fit_shape(frame, kind="isotonic", increasing=True, n_resamples=5, rng=0)
    assert np.all(np.diff(increasing.curve["fitted"]) >= 0)


def test_unimodal_finds_the_bottom_of_a_u():
    frame = simulate_frame(replicates=30, rng=12)
    fit = fit_shape(frame, kind="unimodal", n_resamples=200, rng=0)
    assert fit.ci_low <= 0.01 <= fit.ci_high
    assert fit.ci_low <= fit.optimum_lr <= fit.ci_high
    assert fit.params["frequencies"].sum() == pytest.approx(1.0)
    fitted = fit.curve["fitted"].to_numpy()
    bottom = int(np.argmin(fitted))
    assert np.all(np.diff(fitted[: bottom + 1]) <= 0) and np.all(np.diff(fitted[bottom:]) >= 0)
    assert (fit.curve["ci_low"] <= fit.curve["ci_high"]).all()


@pytest.mark.parametrize("kind", SHAPE_KINDS)
def test_fits_use_the_lrs_below_divergence(kind):
    frame = simulate_frame(replicates=20, rng=13, diverge_above=0.03)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ShapeWarning)
        fit = fit_shape(frame, kind=kind, n_resamples=30, rng=0)
    assert fit.curve["lr"].max() < 0.03
    assert fit.kind == kind and list(fit.to_frame().columns[:2]) == ["lr", "fitted"]
    assert np.isfinite(fit.curve["fitted"]).all()


def test_lowess_matches_statsmodels():
    frame = simulate_frame(replicates=6, rng=14)
    smooth = lowess(frame, frac=0.4)
    grid = np.sort(frame.lr.unique())
    expected = sm_lowess(
        frame.post - frame.pre, np.log10(frame.lr), frac=0.4, it=3, xvals=np.log10(grid)
    )
    np.testing.assert_allclose(smooth["smoothed"], expected)
    np.testing.assert_array_equal(smooth["lr"], grid)


def test_lowess_leaves_all_diverging_lrs_empty():
    smooth = lowess(simulate_frame(replicates=6, rng=15, diverge_above=0.05))
    assert smooth.loc[smooth.lr > 0.05, "smoothed"].isna().all()
    assert smooth.loc[smooth.lr < 0.05, "smoothed"].notna().all()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"kind": "cubic"}, ValueError, r"`kind` must be one of 'isotonic', 'unimodal', 'quadratic', 'local'. Received: kind='cubic'"),
        ({"confidence_level": 1}, ValueError, r"`confidence_level` must be a finite number in \(0, 1\)"),
        ({"kind": "quadratic", "increasing": True}, ValueError, r"`increasing` applies to kind='isotonic' only"),
        ({"kind": "isotonic", "increasing": "yes"}, TypeError, r"`increasing` must be None or a bool"),
        ({"n_resamples": 0}, ValueError, r"`n_resamples` must be an integer >= 1"),
        ({"response": "val"}, ValueError, r"`response` must be one of"),
    ],
)  # fmt: skip
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        fit_shape(simulate_frame(replicates=3, rng=0), **kwargs)


def test_fewer_than_three_lrs():
    frame = simulate_frame(lrs=[0.001, 0.01], replicates=5, rng=0)
    with pytest.raises(ValueError, match=r"`frame` must have at least 3 lrs. Received: 2"):
        fit_shape(frame)


def test_fewer_than_three_lrs_below_divergence():
    frame = simulate_frame(lrs=[0.001, 0.01, 0.1, 0.2], replicates=5, rng=0, diverge_above=0.05)
    with pytest.raises(
        ValueError, match=r"at least 3 lrs below the first diverging lr.*Received: 2"
    ):
        fit_shape(frame, kind="local")


def test_lowess_bad_frac():
    with pytest.raises(ValueError, match=r"`frac` must be a finite number in \(0, 1\]"):
        lowess(simulate_frame(replicates=3, rng=0), frac=0)


def test_to_frame_is_the_curve_and_summary_frame_one_row():
    fit = fit_shape(simulate_frame(replicates=10, rng=16), kind="local")
    pd.testing.assert_frame_equal(fit.to_frame(), fit.curve)
    row = fit.summary_frame()
    assert len(row) == 1
    assert row.loc[0, ["optimum_lr", "ci_low", "ci_high", "break_even_lr"]].tolist() == [
        fit.optimum_lr,
        fit.ci_low,
        fit.ci_high,
        fit.break_even_lr,
    ]
    assert set(fit.intervals_frame()["quantity"]) == {"optimum_lr", "break_even_lr"}
    assert "Local fit" in fit._repr_html_()
