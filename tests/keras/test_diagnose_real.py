"""Diagnostics on short real trainings of the demo model at a too-small, good and too-large lr."""

from __future__ import annotations

import numpy as np
import pytest

from lrstats.datasets import load_randhie
from lrstats.inference.diagnostics import diagnose
from lrstats.keras._state import StateSnapshot
from lrstats.keras.models import demo_model


@pytest.fixture(scope="module")
def trainings():
    """One demo model (SGD, momentum 0.9) trained 12 epochs on 512 RAND HIE rows at three lrs,
    each from the same initial state (one trace for all three)."""
    data = load_randhie()
    x, y = data.x[:512], data.y[:512]
    model = demo_model(9, seed=0)
    model.optimizer.build(model.trainable_variables)
    start = StateSnapshot(model)
    histories = {}
    for lr in (1e-5, 1e-2, 0.3):
        start.restore()
        model.optimizer.learning_rate.assign(lr)
        histories[lr] = model.fit(x, y, batch_size=32, epochs=12, shuffle=False, verbose=0)
    start.restore()
    return histories


@pytest.mark.slow
@pytest.mark.parametrize(
    ("lr", "verdict"), [(1e-5, "too_slow"), (1e-2, "healthy"), (0.3, "diverging")]
)
def test_real_trainings_get_the_expected_verdict(trainings, lr, verdict):
    history = trainings[lr]
    diagnosis = diagnose(history)
    assert diagnosis.holds == (verdict,)
    if verdict == "diverging":
        assert not np.isfinite(history.history["loss"]).all()
