"""Schedule formulas against values computed by hand (no TensorFlow)."""

from __future__ import annotations

import numpy as np
import pytest

from lrstats.schedules import one_cycle, one_cycle_momentum, time_based_decay


def test_one_cycle_linear_by_hand():
    # T = 100, peak at 45, cycle ends at 90; η_max = 1, η0 = 0.1, final 0.001
    kwargs = dict(max_lr=1.0, total_steps=100, div_factor=10, final_div_factor=100)
    steps = [0, 9, 45, 54, 90, 95, 100, 150]
    expected = [
        0.1,
        0.1 + 0.9 * 9 / 45,  # 0.28
        1.0,
        1.0 - 0.9 * 9 / 45,  # 0.82
        0.1,
        0.1 - 0.099 * 5 / 10,  # 0.0505
        0.001,
        0.001,  # past the end: held
    ]
    np.testing.assert_allclose(one_cycle(steps, **kwargs), expected, rtol=1e-12)


def test_one_cycle_cos_by_hand():
    kwargs = dict(
        max_lr=2.0,
        total_steps=40,
        pct_start=0.25,
        div_factor=4,
        final_div_factor=10,
        annihilation_pct=0.5,
        anneal="cos",
    )
    # peak at 10, cycle ends at 20; η0 = 0.5; final 0.05
    # step 5: halfway up, cos gives exactly the midpoint; step 15 likewise going down
    # step 30: halfway through the annealing: (0.5 + 0.05) / 2
    # step 2.5 (quarter up): 0.5 + 1.5 * (1 - cos(pi/4)) / 2
    got = one_cycle([0, 5, 10, 15, 20, 30, 40, 2.5], **kwargs)
    quarter = 0.5 + 1.5 * (1 - np.sqrt(0.5)) / 2
    np.testing.assert_allclose(got, [0.5, 1.25, 2.0, 1.25, 0.5, 0.275, 0.05, quarter], rtol=1e-12)


def test_no_annihilation_phase_ends_at_eta0():
    got = one_cycle(
        [0, 50, 100],
        max_lr=1.0,
        total_steps=100,
        pct_start=0.5,
        div_factor=10,
        annihilation_pct=0.0,
    )
    np.testing.assert_allclose(got, [0.1, 1.0, 0.1], rtol=1e-12)


def test_momentum_moves_inversely_to_the_lr():
    steps = np.arange(101)
    lr = one_cycle(steps, max_lr=1.0, total_steps=100)
    momentum = one_cycle_momentum(steps, total_steps=100)
    np.testing.assert_allclose(
        one_cycle_momentum([0, 9, 45, 72, 90, 99], total_steps=100),
        [0.95, 0.95 - 0.1 * 9 / 45, 0.85, 0.85 + 0.1 * 27 / 45, 0.95, 0.95],
    )
    cycle = steps <= 90
    assert np.corrcoef(lr[cycle], momentum[cycle])[0, 1] == pytest.approx(-1.0)


def test_time_based_decay_by_hand():
    np.testing.assert_allclose(
        time_based_decay([0, 1, 3, 99], initial_lr=0.2, decay=0.5),
        [0.2, 0.2 / 1.5, 0.08, 0.2 / 50.5],
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"pct_start": 0.0},
            r"`pct_start` must be a finite number in \(0, 1\). Received: pct_start=0",
        ),
        (
            {"pct_start": 1.0},
            r"`pct_start` must be a finite number in \(0, 1\). Received: pct_start=1",
        ),
        ({"pct_start": 0.95}, r"`pct_start` must be < 1 - `annihilation_pct`"),
        ({"max_lr": 0.0}, r"`max_lr` must be a finite number in \(0, inf\)"),
        ({"total_steps": 1}, r"`total_steps` must be an integer >= 2"),
        ({"div_factor": 0.5}, r"`div_factor` must be a finite number in \[1, inf\)"),
        ({"anneal": "exp"}, r"`anneal` must be one of 'linear', 'cos'. Received: anneal='exp'"),
        ({"annihilation_pct": 1.0}, r"`annihilation_pct` must be a finite number in \[0, 1\)"),
    ],
)
def test_bad_one_cycle_arguments(kwargs, match):
    arguments = {"max_lr": 1.0, "total_steps": 100, **kwargs}
    with pytest.raises(ValueError, match=match):
        one_cycle(0, **arguments)


def test_bad_momentum_bounds():
    with pytest.raises(ValueError, match=r"`min_momentum` must be a finite number in \[0, 0.9\]"):
        one_cycle_momentum(0, total_steps=10, max_momentum=0.9, min_momentum=0.95)
    with pytest.raises(ValueError, match=r"`decay` must be a finite number in \[0, inf\)"):
        time_based_decay(0, initial_lr=0.1, decay=-1.0)
