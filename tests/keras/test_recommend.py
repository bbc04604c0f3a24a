"""recommend_lr: state restored, reproducible, validated, members train by Keras' own steps."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lrstats.keras import recommend as recommend_module
from lrstats.keras import recommend_lr
from lrstats.keras._state import _all_variables
from lrstats.keras.recommend import DEFAULT_LEVEL_OFFSET

LRS = [1e-3, 1e-2, 1e-1]
# the fixture model's best lr in short rounds is LRS' largest: the grid-edge warning is
# expected there; the tests of the warning itself record every warning
pytestmark = pytest.mark.filterwarnings("ignore::lrstats.inference.GridEdgeWarning")


def _bits(model):
    return [np.array(v.numpy()).tobytes() for v in _all_variables(model)]


@pytest.fixture(scope="module")
def warm(make_warm_model):
    return make_warm_model("momentum")


def test_model_and_optimizer_bit_identical_afterwards(warm, regression_data):
    x, y = regression_data
    before = _bits(warm)
    result = recommend_lr(warm, x, y, lrs=LRS, seed=0, budget=1.0, initial_epochs=None)
    assert _bits(warm) == before
    assert result.lr in LRS and result.ci_low <= result.lr <= result.ci_high
    assert set(result.evidence["lr"]) <= set(LRS) and result.steps_spent <= result.budget_steps


def test_state_restored_after_keyboard_interrupt(make_warm_model, regression_data, monkeypatch):
    x, y = regression_data
    model = make_warm_model("adam")
    before = _bits(model)

    def interrupted(self, lr_indices, start, stop):
        model.layers[0].kernel.assign(model.layers[0].kernel + 1.0)  # a half-changed model
        model.optimizer.iterations.assign(model.optimizer.iterations + 5)
        raise KeyboardInterrupt

    monkeypatch.setattr(recommend_module._MemberTrainer, "advance", interrupted)
    with pytest.raises(KeyboardInterrupt):
        recommend_lr(model, x, y, lrs=LRS, seed=0, budget=1.0, initial_epochs=None)
    assert _bits(model) == before


def test_same_seed_same_evidence_other_seed_other(warm, regression_data):
    x, y = regression_data
    a = recommend_lr(warm, x, y, lrs=LRS, seed=3, budget=1.0, initial_epochs=None).evidence
    b = recommend_lr(warm, x, y, lrs=LRS, seed=3, budget=1.0, initial_epochs=None).evidence
    c = recommend_lr(warm, x, y, lrs=LRS, seed=4, budget=1.0, initial_epochs=None).evidence
    np.testing.assert_array_equal(a.to_numpy(dtype=float), b.to_numpy(dtype=float))
    assert not np.array_equal(a["loss"].to_numpy(), c["loss"].to_numpy())


def test_members_take_real_keras_steps(warm, regression_data):
    """A member's validation loss equals train_on_batch steps on a copy with the same batches."""
    x, y = regression_data
    pool = recommend_module.prepare_data(x[:200], y[:200], None, max_rows=10_000)
    val = recommend_module.prepare_data(x[200:], y[200:], None, max_rows=10_000)
    grid = np.array(LRS)
    trainer = recommend_module._MemberTrainer(warm, pool, val, grid, 2, 16, entropy=7)
    losses = trainer.advance(np.array([0, 2]), 0, 3)
    for r in range(2):
        for j, k in enumerate([0, 2]):
            copy = keras.models.clone_model(warm)
            copy.set_weights(warm.get_weights())
            optimizer = type(warm.optimizer).from_config(warm.optimizer.get_config())
            copy.compile(optimizer=optimizer, loss=warm.loss)
            optimizer.build(copy.trainable_variables)
            for src, dst in zip(warm.optimizer.variables, optimizer.variables, strict=True):
                dst.assign(src.numpy())
            optimizer.learning_rate.assign(grid[k])
            for rows in trainer._rows(r, 0, 3):
                copy.train_on_batch(pool.x[rows], pool.y[rows])
            expected = float(
                copy.compute_loss(x=val.x, y=val.y, y_pred=copy(val.x), training=False)
            )
            np.testing.assert_allclose(losses[r, j], expected, rtol=1e-5)
    # replicates differ (their own batch streams), lrs share them (paired)
    assert not np.array_equal(trainer._rows(0, 0, 3), trainer._rows(1, 0, 3))


def test_divergence_is_data(make_model, regression_data):
    x, y = regression_data
    model = make_model(optimizer="sgd")
    result = recommend_lr(model, x, 1e3 * y, lrs=[1e-3, 1e4], seed=0, budget=2.0, initial_steps=7)
    assert result.lr == 1e-3
    last = result.evidence[result.evidence["lr"] == 1e4]
    assert not last["kept"].any()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"lrs": [0.1, -1.0]}, ValueError, "`lrs`"),
        (
            {"replicates": 0},
            ValueError,
            "`replicates` must be an integer >= 1. Received: replicates=0",
        ),
        ({"budget": 0.0}, ValueError, "`budget` must be a finite number in (0, inf)"),
        (
            {"batch_size": 10_000},
            ValueError,
            "`batch_size` must be <= the number of training rows",
        ),
        ({"validation_data": [1, 2, 3]}, TypeError, "`validation_data` must be a tuple"),
        ({"validation_split": 1.0}, ValueError, "`validation_split`"),
        ({"alpha": 2.0}, ValueError, "`alpha`"),
        ({"seed": -1}, ValueError, "`seed`"),
        ({"initial_steps": 10_000}, ValueError, "`budget` must cover the first round"),
        ({"initial_epochs": 0.0}, ValueError, "`initial_epochs` must be a finite number"),
        ({"initial_epochs": 10.0}, ValueError, "`budget` must cover the first round"),
        ({"keep_fraction": -0.1}, ValueError, "`keep_fraction`"),
        ({"horizon_slope": "steep"}, TypeError, "`horizon_slope` must be a real number"),
        ({"horizon_slope": np.inf}, ValueError, "`horizon_slope` must be a finite number"),
        ({"fitted_slope_weight": 2.0}, ValueError, "`fitted_slope_weight` must be"),
        ({"fitted_slope_weight": None}, TypeError, "`fitted_slope_weight` must be a real"),
        ({"level_offset": "low"}, TypeError, "`level_offset` must be a real number"),
        ({"level_offset": np.nan}, ValueError, "`level_offset` must be a finite number"),
        (
            {"progress": "yes"},
            TypeError,
            "`progress` must be True or False. Received: progress='yes'",
        ),
    ],
)
def test_validation_errors_before_any_change(warm, regression_data, kwargs, error, message):
    x, y = regression_data
    before = _bits(warm)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        recommend_lr(warm, x, y, **{"lrs": LRS, "seed": 0, **kwargs})
    assert _bits(warm) == before


def test_progress_bar_counts_the_member_steps_trained(warm, regression_data, monkeypatch):
    import io

    from tqdm.std import tqdm

    x, y = regression_data
    bars = []

    def bar(progress, *, total, **options):
        bars.append(tqdm(total=total, disable=not progress, file=io.StringIO(), mininterval=0))
        return bars[-1]

    monkeypatch.setattr(recommend_module, "progress_bar", bar)
    result = recommend_lr(warm, x, y, lrs=LRS, seed=0, budget=2.0, progress=True)
    (shown,) = bars
    assert shown.total == result.budget_steps
    assert shown.n == result.steps_spent > 0
    assert f"round {result.rounds}," in shown.postfix
    # the same member-steps as the evidence: every (round, lr, replicate) its horizon's steps
    horizons = np.r_[0, np.sort(result.evidence["steps"].unique())]
    per_round = result.summary_frame().groupby("round")["lr"].size().to_numpy()
    assert shown.n == int((per_round * np.diff(horizons) * result.replicates).sum())


def test_uncompiled_model_is_rejected(regression_data):
    x, y = regression_data
    model = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="`model` must be compiled"):
        recommend_lr(model, x, y, seed=0)


def test_result_frames(warm, regression_data):
    x, y = regression_data
    result = recommend_lr(warm, x, y, lrs=LRS, seed=0, budget=1.0, initial_epochs=None)
    summary = result.summary_frame()
    assert list(summary.columns) == [
        "round",
        "steps",
        "lr",
        "mean",
        "pvalue",
        "pvalue_holm",
        "kept",
    ]
    assert len(result.to_frame()) == len(summary) * result.replicates
    assert "Recommended lr" in result._repr_html_()


def test_epochs_extrapolates_the_round_optima(warm, regression_data):
    import pandas as pd

    from lrstats.inference.halving import extrapolate_optimum

    x, y = regression_data
    grid = np.array([1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    result = recommend_lr(
        warm, x, y, lrs=grid, seed=0, budget=2.0, initial_epochs=None, epochs=50,
        horizon_slope=None,
    )  # fmt: skip
    optima = pd.DataFrame(result.params["round_optima"])
    steps_per_epoch = int(np.ceil(result.params["n_train"] / result.params["batch_size"]))
    target = extrapolate_optimum(optima, 50 * steps_per_epoch, nonincreasing=True)
    # the line's level moved by the default offset
    target += DEFAULT_LEVEL_OFFSET
    assert result.params["level_offset"] == DEFAULT_LEVEL_OFFSET
    assert result.params["extrapolated_log10_lr"] == pytest.approx(target)
    assert result.lr == grid[np.argmin(np.abs(np.log10(grid) - target))]
    assert result.method == "successive_halving+extrapolation"


def test_a_known_horizon_slope_extrapolates_with_that_slope(warm, regression_data):
    import pandas as pd

    from lrstats.inference.halving import extrapolate_optimum, extrapolation_interval

    x, y = regression_data
    grid = np.array([1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    # one replicate, halving only: 5 -> 3 -> 2 lrs, three rounds at 1, 2, 4 epochs
    kwargs = dict(lrs=grid, seed=0, replicates=1, budget=3.0, initial_epochs=1.0, epochs=50,
                  level_offset=0.0)  # fmt: skip
    fitted = recommend_lr(warm, x, y, horizon_slope=None, **kwargs)
    known = recommend_lr(warm, x, y, horizon_slope=-1.0, fitted_slope_weight=0.0, **kwargs)
    shrunk = recommend_lr(warm, x, y, horizon_slope=-1.0, fitted_slope_weight=0.4, **kwargs)
    # the same rounds (the slope only enters the extrapolation)
    assert known.params["round_optima"] == fitted.params["round_optima"]
    optima = pd.DataFrame(known.params["round_optima"])
    steps = 50 * known.params["steps_per_epoch"]
    target = extrapolate_optimum(optima, steps, slope=-1.0)
    assert known.params["extrapolated_log10_lr"] == pytest.approx(target)
    assert known.params["horizon_slope"] == -1.0 and fitted.params["horizon_slope"] is None
    # the weight moves the known slope towards the rounds' fit; a fitted slope ignores it
    assert shrunk.params["round_optima"] == known.params["round_optima"]
    moved = extrapolate_optimum(optima, steps, slope=-1.0, fitted_slope_weight=0.4)
    assert shrunk.params["extrapolated_log10_lr"] == pytest.approx(moved)
    assert (
        shrunk.params["fitted_slope_weight"] == 0.4 and fitted.params["fitted_slope_weight"] == 0
    )
    assert moved != pytest.approx(target)
    assert known.lr == grid[np.argmin(np.abs(np.log10(grid) - target))]
    low, high = extrapolation_interval(optima, steps, level=0.95, slope=-1.0)
    assert len(optima) >= 2 and np.isfinite([low, high]).all()
    assert known.ci_low == pytest.approx(min(10.0**low, 10.0**target))
    assert known.ci_high == pytest.approx(max(10.0**high, 10.0**target))


def test_the_level_offset_moves_the_line_and_its_interval_by_that_many_decades(
    warm, regression_data
):
    x, y = regression_data
    grid = np.array([1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    kwargs = dict(lrs=grid, seed=0, replicates=1, budget=3.0, initial_epochs=1.0, epochs=50,
                  horizon_slope=-1.0, fitted_slope_weight=0.0)  # fmt: skip
    plain = recommend_lr(warm, x, y, level_offset=0.0, **kwargs)
    moved = recommend_lr(warm, x, y, level_offset=-1.0, **kwargs)
    default = recommend_lr(warm, x, y, **kwargs)
    # the same rounds: the offset only enters the extrapolation
    assert moved.params["round_optima"] == plain.params["round_optima"]
    target = plain.params["extrapolated_log10_lr"]
    assert moved.params["extrapolated_log10_lr"] == pytest.approx(target - 1.0)
    assert default.params["extrapolated_log10_lr"] == pytest.approx(target + DEFAULT_LEVEL_OFFSET)
    assert moved.lr == grid[np.argmin(np.abs(np.log10(grid) - (target - 1.0)))]
    # the interval moves with it (a whole decade: exactly a factor 10)
    assert moved.ci_low == pytest.approx(plain.ci_low / 10)
    assert moved.ci_high == pytest.approx(plain.ci_high / 10)
    assert moved.params["level_offset"] == -1.0 and plain.params["level_offset"] == 0.0
    # without `epochs` there is no line to move
    last = dict(kwargs, epochs=None)
    assert recommend_lr(warm, x, y, level_offset=-1.0, **last).lr == (
        recommend_lr(warm, x, y, level_offset=0.0, **last).lr
    )


def test_initial_epochs_gives_whole_epoch_horizons_and_one_replicate_runs(warm, regression_data):
    x, y = regression_data
    before = _bits(warm)
    result = recommend_lr(
        warm, x, y, lrs=LRS, seed=0, replicates=1, initial_epochs=1.0, budget=3.0, epochs=10
    )
    assert _bits(warm) == before
    per_epoch = result.params["steps_per_epoch"]
    assert per_epoch == int(np.ceil(result.params["n_train"] / result.params["batch_size"]))
    assert result.params["initial_steps"] == per_epoch
    # horizons 1, 2 epochs (3 lrs -> 2 -> 1): cumulative steps per round
    assert sorted(result.evidence["steps"].unique()) == [per_epoch, 2 * per_epoch]
    assert result.evidence["pvalue"].isna().all()  # one replicate: no test
    assert result.steps_spent == 3 * per_epoch + 2 * per_epoch
    assert result.ci_low <= 10.0 ** result.params["extrapolated_log10_lr"] <= result.ci_high


def test_defaults_are_the_benchmarked_schedule(warm, regression_data):
    # halving over whole epochs with one replicate within a budget of 3 epochs at every lr,
    # the round optima carried to `epochs` along a slope halfway between -0.7 and theirs
    # (docs/selection_quality.md: the variant the fifth held-out batch chose)
    x, y = regression_data
    result = recommend_lr(warm, x, y, lrs=LRS, seed=0, epochs=10)
    params = result.params
    assert params["initial_steps"] == params["steps_per_epoch"]
    assert result.replicates == 1 and params["budget"] == 3.0
    assert params["halve"] and params["horizon_slope"] == -0.7
    assert params["fitted_slope_weight"] == 0.5
    assert result.steps_spent <= 3 * len(LRS) * params["steps_per_epoch"]
    assert result.evidence["pvalue"].isna().all()  # one replicate: no test


def test_optima_at_the_grid_end_warn_and_collinear_optima_give_the_rounds_range(
    make_model, regression_data
):
    import warnings

    from lrstats.inference import DegenerateDataWarning, GridEdgeWarning

    x, y = regression_data
    # a fresh model and lrs far below its optimum: every round's best is the largest, 1e-3
    # (5 -> 3 -> 2 -> 1 lrs)
    model = make_model(optimizer="momentum")
    grid = np.geomspace(1e-5, 1e-3, 5)
    before = _bits(model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = recommend_lr(
            model, x, y, lrs=grid, seed=0, replicates=1, initial_epochs=1.0, budget=3.0,
            epochs=10, progress=False,
        )  # fmt: skip
    assert _bits(model) == before
    edge = [w for w in caught if issubclass(w.category, GridEdgeWarning)]
    assert len(edge) == 1 and "1e-05 .. 0.001" in str(edge[0].message)
    assert edge[0].filename == __file__  # points at the caller
    optima = result.params["round_optima"]
    assert len(optima["round"]) >= 3 and result.params["rounds_at_grid_edge"] == optima["round"]
    # three optima at one lr: no scatter, so no line interval; the last round's range
    # (the survivors), widened to the extrapolated optimum, is the interval instead
    assert any(issubclass(w.category, DegenerateDataWarning) for w in caught)
    target = 10.0 ** result.params["extrapolated_log10_lr"]
    last = result.evidence[result.evidence["round"] == result.evidence["round"].max()]
    survivors = last.loc[last["kept"], "lr"] if last["kept"].any() else last["lr"]
    assert result.ci_low == pytest.approx(min(survivors.min(), target))
    assert result.ci_high == pytest.approx(max(survivors.max(), target))
    assert result.ci_low < result.ci_high


def test_an_interior_optimum_does_not_warn(warm, regression_data):
    import warnings

    from lrstats.inference import GridEdgeWarning

    x, y = regression_data
    grid = np.array([1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = recommend_lr(warm, x, y, lrs=grid, seed=0, epochs=10, progress=False)
    assert result.params["rounds_at_grid_edge"] == []
    assert not [w for w in caught if issubclass(w.category, GridEdgeWarning)]
