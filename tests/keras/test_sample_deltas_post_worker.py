"""The post pass a call's first chunk runs on a worker thread while the clone is checked.

The worker must change nothing but the time: the same frame as the pass run after the check,
on models whose training forward pass writes state (BatchNormalization) and draws random
numbers (Dropout, evaluated in training mode); its error reaches the caller with the model
restored; and nothing is left running.
"""

import threading

import numpy as np
import pytest
from sampler_reference import assert_same_state, snapshot

import lrstats.keras._sampler as sampler_module

LRS = np.geomspace(1e-3, 1.0, 7)
RUN = dict(lrs=LRS, replicates=6, batch_size=16, seed=11, chunk_size=4, progress=False)


@pytest.mark.parametrize(
    "kind, mode",
    [("batchnorm", "inference"), ("dropout", "training")],
)
def test_the_worker_gives_the_frame_of_the_pass_after_the_check(
    sample_deltas, make_model, regression_data, monkeypatch, kind, mode
):
    x, y = regression_data
    started = []

    class Counted(sampler_module._Worker):
        def __init__(self, function, args, name, device):
            started.append(name)
            super().__init__(function, args, name, device)

    # fresh models each time: the first call checks the clone, and so starts the worker
    options = {"batchnorm": True} if kind == "batchnorm" else {"dropout": 0.3}
    monkeypatch.setattr(sampler_module, "_Worker", Counted)
    with_worker = sample_deltas(make_model(optimizer="momentum", **options), x, y,
                                eval_mode=mode, **RUN)  # fmt: skip
    assert started == ["lrstats-post"]  # one check, on the first of the two chunks
    # the same call with no post pass started during the check
    affine_terms = sampler_module._affine_terms
    monkeypatch.setattr(sampler_module, "_affine_terms",
                        lambda *args: affine_terms(*args[:-1], None))  # fmt: skip
    without = sample_deltas(make_model(optimizer="momentum", **options), x, y,
                            eval_mode=mode, **RUN)  # fmt: skip
    assert with_worker.attrs["path"] == without.attrs["path"] == "affine"
    np.testing.assert_array_equal(with_worker.to_numpy(), without.to_numpy())


def test_an_error_on_the_worker_reaches_the_caller_with_the_model_restored(
    sample_deltas, make_warm_model, regression_data, monkeypatch
):
    x, y = regression_data
    model = make_warm_model("adam", seed=97)
    before = snapshot(model)

    def broken(*args):
        raise FloatingPointError("post pass failed")

    monkeypatch.setattr(sampler_module, "_post_losses", broken)
    threads = threading.active_count()
    with pytest.raises(FloatingPointError, match="post pass failed"):
        sample_deltas(model, x, y, **RUN)
    assert_same_state(before, snapshot(model))
    assert threading.active_count() == threads
