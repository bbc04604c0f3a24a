"""lrstats.analyse: one frozen Analysis, every component by name, validation first."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

from lrstats.inference import (
    DEFAULT_RULES,
    DEFAULT_SHAPES,
    Analysis,
    analyse,
    compare_to_best,
    summarize,
    u_test,
)
from lrstats.simulate import simulate_frame, simulate_sweep


@pytest.fixture(scope="module")
def analysis():
    frame = simulate_frame(np.logspace(-4, -1, 13), 30, diverge_above=0.05, rng=2)
    return frame, analyse(frame, n_resamples=100, rng=5)


def test_components_by_name_equal_the_functions(analysis):
    frame, result = analysis
    assert isinstance(result, Analysis)
    assert list(result) == [
        "summary", "summary_bca", "comparison",
        *(f"selection_{r}" for r in DEFAULT_RULES), *(f"shape_{k}" for k in DEFAULT_SHAPES),
        "utest",
    ]  # fmt: skip
    assert result.sections == ("summary", "comparison", "selection", "shape", "utest")
    pd.testing.assert_frame_equal(result["summary"].table, summarize(frame).table)
    pd.testing.assert_frame_equal(result["comparison"].table, compare_to_best(frame).table)
    assert result["utest"].statistic == u_test(frame).statistic
    assert list(result.selections) == list(DEFAULT_RULES)
    assert list(result.fits) == list(DEFAULT_SHAPES)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.response = "relative"


def test_to_frame_lists_every_recommendation(analysis):
    _, result = analysis
    table = result.to_frame()
    assert table.columns.tolist() == ["section", "method", "lr", "ci_low", "ci_high"]
    for rule, selection in result.selections.items():
        row = table[(table.section == "selection") & (table.method == rule)].iloc[0]
        assert (row.lr, row.ci_low, row.ci_high) == (
            selection.lr, selection.ci_low, selection.ci_high
        )  # fmt: skip
    for kind, fit in result.fits.items():
        row = table[(table.section == "shape") & (table.method == kind)].iloc[0]
        assert row.lr == fit.optimum_lr
    assert table.query("section == 'comparison'")["lr"].item() == result["comparison"].best_lr


def test_text_and_html(analysis):
    _, result = analysis
    text = str(result)
    assert text == result.summary()
    assert text.startswith("Change of loss after one step, ΔL = post − pre, per learning rate")
    assert "Diverging (non-finite losses) from lr = 0.0562" in text
    assert f"ucb        lr = {result['selection_ucb'].lr:<10.4g}" in text
    assert "<pre>" in result._repr_html_() and "<table" in result._repr_html_()


def test_what_cannot_run_is_listed_and_warnings_collected():
    frame = simulate_frame([0.001, 0.01], 10, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = analyse(frame, n_resamples=20, rng=0)
    assert "utest" not in result and any(r.startswith("u_test:") for r in result.unavailable)
    assert not any(name.startswith("shape_") for name in result)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"rules": ["nope"]}, ValueError, "`rules` must contain only 'mean'"),
        ({"rules": "ucb"}, TypeError, "`rules` must be a list of names"),
        ({"shapes": ["cubic"]}, ValueError, "`shapes` must contain only"),
        ({"response": "val_loss", "shapes": ["local"]}, ValueError, "`shapes` must not hold 'local'"),
        ({"response": "accuracy", "rules": ["max"]}, ValueError, "Rule 'max'"),
        ({"goal": "up"}, ValueError, "`goal` must be one of"),
        ({"n_resamples": 0}, ValueError, "`n_resamples` must be an integer >= 1"),
        ({"rng": -1}, ValueError, "`rng` must be a non-negative integer"),
        ({"response": 3}, TypeError, "`response` must be a string"),
    ],
)  # fmt: skip
def test_validation_before_any_analysis(kwargs, error, match):
    frame = simulate_sweep(replicates=3, epochs=2, rng=0).assign(
        pre=1.0, post=lambda d: d["val_loss"]
    )
    with pytest.raises(error, match=match):
        analyse(frame, **kwargs)


def test_at_none_is_final():
    frame = simulate_sweep(replicates=3, epochs=3, rng=1)
    a = analyse(frame, response="val_loss", at=None, rules=["mean"], shapes=[], rng=0)
    b = analyse(frame, response="val_loss", rules=["mean"], shapes=[], rng=0)
    pd.testing.assert_frame_equal(a.data, b.data)
    assert a.at == "final"
