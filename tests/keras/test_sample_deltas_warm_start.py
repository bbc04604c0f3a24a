"""The first call compiles the forward pass over all lrs on a worker thread.

``BatchedEngine.first_gradients`` traces the forward pass, runs it once on zeros on a worker
(compilation), and meanwhile runs the gradient pass. This must be invisible in the results and
in the model's state: the real call must find the very program traced up front (else the
warm-up was wasted work), an XLA failure in the warm-up must fall back to the plain graph as
the real call would, and a failure while the worker runs must leave no thread behind and the
model untouched.
"""

import threading

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from sampler_reference import assert_same_state, snapshot

import lrstats.keras._engine as engine_module
import lrstats.keras._sampler as sampler_module

LRS = np.geomspace(1e-3, 1.0, 9)
RUN = dict(lrs=LRS, replicates=5, batch_size=16, seed=11, progress=False)


def _engine(model):
    (engine,) = engine_module._ENGINES[model][1].values()
    return engine


def _workers():
    return [t for t in threading.enumerate() if t.name.startswith("lrstats-")]


@pytest.fixture
def warm_ups(monkeypatch):
    """Every ``_warm_post`` call, as ``(batch_size, worker started or None)``."""
    calls = []
    real_warm = engine_module.BatchedEngine._warm_post

    def recording_warm(self, pool, batch_size, *args):
        real_warm(self, pool, batch_size, *args)
        calls.append((batch_size, self._post_warming))

    monkeypatch.setattr(engine_module.BatchedEngine, "_warm_post", recording_warm)
    return calls


def test_the_real_call_runs_the_program_the_warm_up_compiled(
    sample_deltas, make_model, regression_data, warm_ups
):
    x, y = regression_data
    model = make_model(seed=31, optimizer="momentum")
    frame = sample_deltas(model, x, y, **RUN)
    engine = _engine(model)
    assert len(warm_ups) == 1 and warm_ups[0][1] is not None
    assert engine._post_warming is None and not _workers()
    # one trace: the zeros traced up front had the real call's shapes and dtypes
    assert engine._post_jit.experimental_get_tracing_count() == 1
    assert frame.attrs["path"] == "affine"
    # a second call finds the shapes compiled: no warm-up, no new trace
    again = sample_deltas(model, x, y, **RUN)
    assert len(warm_ups) == 1
    assert engine._post_jit.experimental_get_tracing_count() == 1
    pd.testing.assert_frame_equal(frame, again)


def test_every_batch_size_is_warmed_once(sample_deltas, make_model, regression_data, warm_ups):
    x, y = regression_data
    model = make_model(seed=36, optimizer="momentum")
    sample_deltas(model, x, y, **{**RUN, "batch_size": [8, 16]})
    sample_deltas(model, x, y, **{**RUN, "batch_size": [8, 16]})
    assert sorted(batch_size for batch_size, _ in warm_ups) == [8, 16]
    # one trace per batch size, each the warm-up's
    assert _engine(model)._post_jit.experimental_get_tracing_count() == 2


def test_results_do_not_depend_on_the_warm_up(
    sample_deltas, make_model, regression_data, monkeypatch
):
    x, y = regression_data
    warmed = sample_deltas(make_model(seed=32, optimizer="adam"), x, y, **RUN)
    monkeypatch.setattr(
        engine_module.BatchedEngine,
        "first_gradients",
        lambda self, *args, lr_chunk: self.gradients(*args),
    )
    cold = sample_deltas(make_model(seed=32, optimizer="adam"), x, y, **RUN)
    pd.testing.assert_frame_equal(warmed, cold, check_exact=True)


def test_no_warm_up_above_the_size_limit(
    sample_deltas, make_model, regression_data, monkeypatch, warm_ups
):
    # RUN's pass: 5 replicates (one chunk) x 9 lrs x 16 rows = 720 forward rows
    x, y = regression_data
    monkeypatch.setattr(engine_module, "WARM_UP_MAX_ROWS", 5 * 9 * 16 - 1)
    above = sample_deltas(make_model(seed=35, optimizer="momentum"), x, y, **RUN)
    assert warm_ups == []
    monkeypatch.setattr(engine_module, "WARM_UP_MAX_ROWS", 5 * 9 * 16)
    at = sample_deltas(make_model(seed=35, optimizer="momentum"), x, y, **RUN)
    assert len(warm_ups) == 1
    pd.testing.assert_frame_equal(above, at, check_exact=True)


@pytest.mark.parametrize(
    "make_error",
    [
        lambda: tf.errors.InvalidArgumentError(None, None, "no XLA kernel"),
        lambda: tf.errors.UnimplementedError(None, None, "not compiled"),
        lambda: NotImplementedError("no XLA lowering"),
    ],
    ids=["invalid-argument", "unimplemented", "not-implemented"],
)
def test_an_xla_failure_in_the_warm_up_falls_back_to_the_plain_graph(
    sample_deltas, make_model, regression_data, monkeypatch, make_error
):
    # every error post() treats as an XLA failure (engine.XLA_FAILURES)
    x, y = regression_data
    reference = sample_deltas(make_model(seed=33, optimizer="momentum"), x, y, **RUN)
    model = make_model(seed=33, optimizer="momentum")
    real_init = engine_module.BatchedEngine.__init__
    calls = {"jit": 0}

    class FailingJit:
        """Traces like the XLA function, fails when run, as an op XLA cannot compile does."""

        def __init__(self, function):
            self.function = function

        def get_concrete_function(self, *args):
            return self.function.get_concrete_function(*args)

        def __call__(self, *args):
            calls["jit"] += 1
            raise make_error()

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        self._post_jit = FailingJit(self._post_plain)

    monkeypatch.setattr(engine_module.BatchedEngine, "__init__", init)
    frame = sample_deltas(model, x, y, **RUN)
    # the warm-up met the failure; the real call went straight to the plain graph
    assert calls["jit"] == 1
    assert _engine(model)._post_jit is None
    np.testing.assert_allclose(frame["post"], reference["post"], rtol=1e-5)


@pytest.mark.parametrize(
    "error", [RuntimeError("boom"), KeyboardInterrupt()], ids=["error", "interrupt"]
)
def test_a_failure_while_the_warm_up_runs_leaves_no_thread_and_the_model_untouched(
    sample_deltas, make_warm_model, regression_data, monkeypatch, warm_ups, error
):
    x, y = regression_data
    model = make_warm_model("momentum", seed=34)
    before = snapshot(model)

    def failing_terms(*args, **kwargs):
        # right after the gradient pass: the worker compiling the forward pass has started
        assert warm_ups and warm_ups[0][1] is not None
        raise error

    monkeypatch.setattr(sampler_module, "_affine_terms", failing_terms)
    with pytest.raises(type(error)):
        sample_deltas(model, x, y, **RUN)
    assert not warm_ups[0][1].is_alive()
    assert _engine(model)._post_warming is None and not _workers()
    assert_same_state(before, snapshot(model))


DEVICE_SCRIPT = r"""
import json, sys
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)
import keras
import lrstats.keras._engine as engine_module
from lrstats.keras import sample_deltas

seen = []
real_run = engine_module._Worker.run

def recording_run(self):
    seen.append([self.name, self.device])
    real_run(self)

engine_module._Worker.run = recording_run
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")
rng = np.random.default_rng(0)
x, y = rng.normal(size=(64, 4)).astype("float32"), rng.normal(size=(64, 1)).astype("float32")
with tf.device("/CPU:1"):
    frame = sample_deltas(model, x, y, lrs=[0.01, 0.1], replicates=3, batch_size=8, seed=0,
                          progress=False)
print(json.dumps({"seen": seen, "path": frame.attrs["path"]}))
"""


def test_the_worker_compiles_on_the_callers_device():
    # two logical CPUs, set before TensorFlow starts: a process of its own
    import json
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", DEVICE_SCRIPT], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["path"] == "affine"
    # the warm-up compile once, and the post pass during the clone's check: both on CPU:1
    names = [name for name, _ in result["seen"]]
    assert names.count("lrstats-warm-post") == 1
    assert sorted(names) == ["lrstats-post", "lrstats-warm-post"]
    assert all(device.endswith("device:CPU:1") for _, device in result["seen"])
