"""The sampler against the naive reference loop (one real optimizer step per replicate and lr).

Every optimizer is compared to float32 accuracy, relative to the loss magnitude, on 8 replicates x
7 learning rates. Optimizers marked "warm" have taken three real steps first, so their slots are
non-zero and ``iterations > 0``: the sampler must step from the current state, not a fresh one.
"""

import numpy as np
import pytest
from sampler_reference import assert_deltas_close, reference_deltas

SEED = 20261123
REPLICATES = 8
BATCH = 32
RTOL = 1e-5  # observed: <= 4e-7 of the loss magnitude (CPU, oneDNN)

CASES = [
    # optimizer, warm, expected path (None: either path, as long as the values are right)
    ("sgd", False, "affine"),
    ("momentum", True, "affine"),
    ("adam", True, "affine"),
    ("adamw", True, "affine"),
    ("rmsprop", True, "affine"),
    ("ftrl", True, "affine"),
    ("ftrl-l1l2", True, None),
    ("squared", False, "exact"),
]


def _case_id(case):
    name, warm, _ = case
    return f"{name}-{'warm' if warm else 'fresh'}"


@pytest.fixture(scope="module", params=CASES, ids=_case_id)
def case_model(request, make_model, make_warm_model):
    name, warm, path = request.param
    model = make_warm_model(name) if warm else make_model(optimizer=name)
    return name, warm, path, model


def test_sampler_matches_reference_loop(sample_deltas, case_model, regression_data, small_grid):
    name, warm, path, model = case_model
    x, y = regression_data
    if warm:
        # precondition: a non-fresh optimizer state
        assert int(model.optimizer.iterations.numpy()) == 3
        slots = [v.numpy() for v in model.optimizer.variables[2:]]
        assert any(np.any(s != 0) for s in slots)
    kwargs = dict(lrs=small_grid, replicates=REPLICATES, batch_size=BATCH, seed=SEED)
    got = sample_deltas(model, x, y, progress=False, **kwargs)
    expected = reference_deltas(model, x, y, **kwargs)
    assert_deltas_close(got, expected, rtol=RTOL)
    if path is not None:
        assert got.attrs["path"] == path
    assert got.attrs["optimizer"] == type(model.optimizer).__name__


def test_ftrl_is_affine_but_not_proportional(sample_deltas, make_warm_model, regression_data):
    # Ftrl's step at lr -> 0 does not vanish, so a sampler that assumed w(lr) = w0 + lr * b would
    # be wrong at small lrs; the comparison includes a tiny lr where that error dominates.
    x, y = regression_data
    model = make_warm_model("ftrl", seed=3)
    lrs = np.array([1e-6, 1e-3, 0.05, 0.3])
    kwargs = dict(lrs=lrs, replicates=4, batch_size=BATCH, seed=5)
    expected = reference_deltas(model, x, y, **kwargs)
    # the differential at the smallest lr is not ~0 (the premise of this test)
    smallest = expected[expected["lr"] == 1e-6]
    assert np.all(np.abs(smallest["post"] - smallest["pre"]) > 1e-4 * smallest["pre"])
    got = sample_deltas(model, x, y, progress=False, **kwargs)
    assert_deltas_close(got, expected, rtol=RTOL)


def test_fresh_evaluation_batch_matches_reference(
    sample_deltas, make_warm_model, regression_data, small_grid
):
    x, y = regression_data
    model = make_warm_model("momentum", seed=11)
    kwargs = dict(
        lrs=small_grid, replicates=REPLICATES, batch_size=BATCH, seed=99, evaluate="fresh"
    )
    got = sample_deltas(model, x, y, progress=False, **kwargs)
    expected = reference_deltas(model, x, y, **kwargs)
    assert_deltas_close(got, expected, rtol=RTOL)
    assert got.attrs["evaluate"] == "fresh"
    # and it is not the same-batch answer
    same = reference_deltas(model, x, y, **{**kwargs, "evaluate": "same", "lrs": small_grid[:1]})
    assert not np.allclose(got["pre"].unique(), same["pre"], rtol=1e-3)


@pytest.fixture(scope="module")
def batchnorm_model(make_warm_model):
    return make_warm_model("momentum", seed=13, batchnorm=True)


@pytest.mark.parametrize("eval_mode", ["inference", "training"])
def test_batchnorm_eval_modes_match_reference(
    sample_deltas, batchnorm_model, regression_data, small_grid, eval_mode
):
    # BatchNorm makes the two modes differ (batch statistics vs moving statistics); the gradient is
    # always taken in training mode and the moving statistics must not be updated by the step.
    x, y = regression_data
    model = batchnorm_model
    kwargs = dict(
        lrs=small_grid, replicates=REPLICATES, batch_size=BATCH, seed=17, eval_mode=eval_mode
    )
    got = sample_deltas(model, x, y, progress=False, **kwargs)
    expected = reference_deltas(model, x, y, **kwargs)
    assert_deltas_close(got, expected, rtol=RTOL)
    assert got.attrs["eval_mode"] == eval_mode
    other = "training" if eval_mode == "inference" else "inference"
    other_expected = reference_deltas(
        model, x, y, **{**kwargs, "eval_mode": other, "lrs": small_grid[:1]}
    )
    assert not np.allclose(got["pre"].unique(), other_expected["pre"], rtol=1e-3)


def test_regularization_loss_is_part_of_the_loss(
    sample_deltas, make_model, regression_data, small_grid
):
    x, y = regression_data
    model = make_model(optimizer="adam", seed=21, l2=0.05)
    kwargs = dict(lrs=small_grid, replicates=REPLICATES, batch_size=BATCH, seed=23)
    got = sample_deltas(model, x, y, progress=False, **kwargs)
    expected = reference_deltas(model, x, y, **kwargs)
    assert_deltas_close(got, expected, rtol=RTOL)


def test_affine_check_holds_for_a_later_call_with_another_grid(
    sample_deltas, make_warm_model, regression_data
):
    # CappedRateSGD steps by min(lr, 0.05) * g: exactly affine on a grid of small lrs, not on
    # 1e-3 .. 1. Whatever the first call concluded about its own grid, the second call on the
    # same model must give the reference answer for its grid (and so take the exact path).
    x, y = regression_data
    model = make_warm_model("capped", seed=91)
    kwargs = dict(replicates=4, batch_size=BATCH, seed=SEED)
    small = [1e-4, 1e-3, 1e-2]
    first = sample_deltas(model, x, y, lrs=small, progress=False, **kwargs)
    assert_deltas_close(first, reference_deltas(model, x, y, lrs=small, **kwargs), rtol=RTOL)
    lrs = np.geomspace(1e-3, 1.0, 7)
    got = sample_deltas(model, x, y, lrs=lrs, progress=False, **kwargs)
    expected = reference_deltas(model, x, y, lrs=lrs, **kwargs)
    assert_deltas_close(got, expected, rtol=RTOL)
    assert got.attrs["path"] == "exact"


def test_global_clipnorm_is_clipped_per_replicate(
    sample_deltas, make_model, regression_data, small_grid
):
    # Keras' clipping of the stacked replicates would take one norm over all of them; the
    # batched clone clips every replicate by its own norm instead, so it stays on the batched
    # path and equals real steps (clipping acts here: the norms are far above 0.1).
    import keras

    x, y = regression_data
    model = make_model(optimizer="sgd", seed=33)
    model.compile(optimizer=keras.optimizers.SGD(0.05, global_clipnorm=0.1), loss="mse")
    kwargs = dict(lrs=small_grid, replicates=REPLICATES, batch_size=BATCH, seed=SEED)
    got = sample_deltas(model, x, y, progress=False, **kwargs)
    assert_deltas_close(got, reference_deltas(model, x, y, **kwargs), rtol=RTOL)
    assert got.attrs["path"] == "affine"
