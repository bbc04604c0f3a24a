"""``analyse`` on the classic tools' frames: a range test and a training history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import lrstats
from lrstats import _streams
from lrstats.inference.analysis import SECTIONS, frame_kind
from lrstats.inference.diagnostics import diagnose
from lrstats.inference.range_test import analyse_range_test, smooth_losses
from lrstats.simulate import simulate_frame


def _range_frame(replicates=5, seed=0):
    rng = np.random.default_rng(seed)
    lrs = np.geomspace(1e-5, 1.0, 80)
    rows = []
    for r in range(replicates):
        shift = 0.3 * rng.normal()
        loss = 2.0 - np.tanh(np.log10(lrs) + 3.0 + shift) + 0.05 * rng.normal(size=lrs.size)
        loss = loss + 5.0 * (lrs > 0.3)
        rows.append(
            pd.DataFrame(
                {
                    "replicate": r,
                    "step": np.arange(lrs.size),
                    "lr": lrs,
                    "loss": loss,
                    "smoothed_loss": smooth_losses(loss, 0.9),
                }
            )
        )
    frame = pd.concat(rows, ignore_index=True)
    frame.attrs.update({"experiment": "range_test", "smoothing": 0.9})
    return frame


def _history(n=15):
    epochs = np.arange(n)
    return pd.DataFrame(
        {"epoch": epochs, "loss": 1.0 - 0.002 * epochs, "val_loss": 1.1 - 0.002 * epochs}
    )


def test_frame_kinds():
    assert frame_kind(_range_frame(1)) == "range_test"
    assert frame_kind(_history()) == "training_curve"
    assert frame_kind(simulate_frame(replicates=3, rng=0)) == "lr_grid"
    # a sweep frame with an epoch and a loss column is still an lr grid
    assert frame_kind(_history().assign(lr=0.1, replicate=0)) == "lr_grid"


def test_range_test_frame_gives_the_range_test_section_with_its_own_stream():
    frame = _range_frame()
    analysis = lrstats.analyse(frame, n_resamples=300, confidence_level=0.9, rng=4)
    assert analysis.sections == ("range_test",) and analysis.kind == "range_test"
    assert list(analysis.results) == ["range_test"]
    # one stream for the section, then the jitter stream: the section's is the first child
    stream = _streams.generator(4, "analysis").spawn(2)[0]
    direct = analyse_range_test(frame, confidence_level=0.9, n_resamples=300, rng=stream)
    pd.testing.assert_frame_equal(analysis["range_test"].suggestions, direct.suggestions)
    assert analysis["range_test"].frame.attrs["smoothing"] == 0.9
    # intervals exist (5 replicates) and contain their medians
    table = analysis["range_test"].suggestions
    assert (table["ci_low"] <= table["lr"]).all() and (table["lr"] <= table["ci_high"]).all()
    # the recommendations table lists the suggestions
    rows = analysis.to_frame()
    assert list(rows["section"]) == ["range_test"] * 3
    assert list(rows["method"]) == ["steep", "minimum", "valley"]
    np.testing.assert_array_equal(rows["lr"], table["lr"])
    text = analysis.summary()
    assert "LR range test: 5 replicate(s)" in text and "valley" in text


def test_range_test_analysis_is_reproducible_and_independent_of_row_order():
    frame = _range_frame()
    shuffled = frame.sample(frac=1.0, random_state=1)
    one = lrstats.analyse(frame, n_resamples=200, rng=2)["range_test"].suggestions
    two = lrstats.analyse(shuffled, n_resamples=200, rng=2)["range_test"].suggestions
    pd.testing.assert_frame_equal(one, two)


def test_training_history_gives_the_diagnosis_at_alpha_one_minus_the_level():
    history = _history()
    analysis = lrstats.analyse(history, confidence_level=0.9)
    assert analysis.sections == ("diagnosis",) and analysis.kind == "training_curve"
    direct = diagnose(history, alpha=0.1)
    pd.testing.assert_frame_equal(analysis["diagnosis"].verdicts, direct.verdicts)
    assert analysis["diagnosis"].holds == ("too_slow",)
    assert analysis.to_frame().empty  # a diagnosis recommends no lr
    assert "too_slow" in analysis.summary() and "raise the learning rate" in analysis.summary()


def test_history_rows_are_read_in_epoch_order():
    history = _history()
    analysis = lrstats.analyse(history.iloc[::-1])
    np.testing.assert_array_equal(analysis["diagnosis"].curves["loss"], history["loss"])


def test_lr_grid_analyses_keep_their_sections_and_streams():
    names = [section.name for section in SECTIONS]
    assert names[:5] == ["summary", "comparison", "selection", "shape", "utest"]
    frame = simulate_frame(replicates=20, rng=0)
    analysis = lrstats.analyse(frame, n_resamples=100, rng=1)
    assert analysis.sections == ("summary", "comparison", "selection", "shape", "utest")
    assert analysis.kind == "lr_grid" and "range_test" not in analysis


def test_by_is_refused_for_a_range_test_frame():
    frame = _range_frame(2).assign(optimizer="sgd")
    with pytest.raises(ValueError, match=r"`by` applies to lr-grid frames.*by='optimizer'"):
        lrstats.analyse(frame, by="optimizer")


def test_unanalysable_classic_frames_name_the_reason():
    with pytest.raises(ValueError, match="`frame` cannot be analysed.*at least 4"):
        lrstats.analyse(_history(3))
    with pytest.raises(ValueError, match="`frame` must have columns 'lr' and 'replicate'"):
        lrstats.analyse(pd.DataFrame({"loss": [1.0, 2.0]}))
