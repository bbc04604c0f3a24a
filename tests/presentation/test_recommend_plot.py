"""Recommendation.plot and the report's recommendation section (hand-made evidence)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pytest
from presentation_helpers import make_recommendation


def _gids(ax):
    return {a.get_gid() for a in ax.get_children() if a.get_gid()}


def test_plot_draws_rounds_choice_interval_and_extrapolation():
    rec = make_recommendation()
    fig, ax = plt.subplots()
    assert rec.plot(ax=ax) is ax
    gids = _gids(ax)
    assert {"round:0", "round:1", "kept:0", "dropped:0", "replicates:0", "recommended",
            "interval", "extrapolated"} <= gids  # fmt: skip
    line = next(a for a in ax.lines if a.get_gid() == "recommended")
    assert line.get_xdata()[0] == rec.lr
    # the diverged lr (1.0) is not on the round-0 line; lr 1e-3 and 1.0 were dropped
    round0 = next(a for a in ax.lines if a.get_gid() == "round:0")
    assert list(round0.get_xdata()) == [1e-3, 1e-2, 1e-1]
    dropped = next(a for a in ax.lines if a.get_gid() == "dropped:0")
    assert list(dropped.get_xdata()) == [1e-3]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[:2] == ["round 1: 1 ep", "round 2: 2 ep"]  # 10 and 20 steps, 10 an epoch


def test_plot_without_a_choice_and_bad_input():
    rec = make_recommendation(lr=math.nan, ci_low=math.nan, ci_high=math.nan, params={})
    ax = rec.plot()
    assert "recommended" not in _gids(ax) and "interval" not in _gids(ax)
    from lrstats.presentation.recommend_plots import plot_recommendation

    with pytest.raises(TypeError, match="`recommendation` must be a Recommendation"):
        plot_recommendation(object())


def test_report_shows_the_recommendation_beside_the_analysis(frame, tmp_path):
    from lrstats.inference import analyse
    from lrstats.presentation.report import write_report

    analysis = analyse(frame, n_resamples=20, rules=["mean"], shapes=[], rng=0)
    rec = make_recommendation()
    index = write_report(
        analysis, tmp_path / "r", formats=["png"], dpi=30, extra={"recommendation": rec}
    )
    html = index.read_text()
    md = (tmp_path / "r" / "index.md").read_text()
    line = "Recommendation (recommendation): lr = 0.01, interval [0.003, 0.03]"
    assert line in md and line in html
    # how it was extrapolated: the params' slope, or a fitted one when it is None
    assert "extrapolated to 20 epochs along a fitted slope" in md
    known = make_recommendation(params={**rec.params, "horizon_slope": -0.7})
    index = write_report(
        analysis, tmp_path / "k", formats=["png"], dpi=30, extra={"recommendation": known}
    )
    text = (tmp_path / "k" / "index.md").read_text()
    assert "extrapolated to 20 epochs along a slope of -0.7" in text
    assert "of the way to the rounds' fitted slope" not in text  # no weight: the known slope
    shrunk = make_recommendation(
        params={**rec.params, "horizon_slope": -0.7, "fitted_slope_weight": 0.5}
    )
    index = write_report(
        analysis, tmp_path / "s", formats=["png"], dpi=30, extra={"recommendation": shrunk}
    )
    text = (tmp_path / "s" / "index.md").read_text()
    assert "along a slope of -0.7 moved 0.5 of the way to the rounds' fitted slope" in text
    assert "the line moved" not in text  # no level offset in these params
    level = make_recommendation(params={**shrunk.params, "level_offset": -0.23})
    write_report(
        analysis, tmp_path / "o", formats=["png"], dpi=30, extra={"recommendation": level}
    )
    assert (
        "fitted slope, the line moved -0.23 decades" in (tmp_path / "o" / "index.md").read_text()
    )
    assert (tmp_path / "r" / "figures" / "recommendation.png").exists()
    table = (tmp_path / "r" / "tables" / "recommendation.csv").read_text()
    assert table.splitlines()[0].startswith("round,steps,lr,mean")
    assert len(table.splitlines()) == 1 + len(rec.summary_frame())
    # bad extra: checked before anything is written
    with pytest.raises(TypeError, match="`extra` values must be Recommendation"):
        write_report(analysis, tmp_path / "bad", extra={"x": 1})
    with pytest.raises(TypeError, match="`extra` must be a mapping"):
        write_report(analysis, tmp_path / "bad", extra=[rec])
    with pytest.raises(ValueError, match="`extra` names must differ"):
        write_report(analysis, tmp_path / "bad", extra={"summary": rec})
    assert not (tmp_path / "bad").exists()


def test_recommendation_frames():
    rec = make_recommendation()
    assert len(rec.to_frame()) == 12
    summary = rec.summary_frame()
    assert len(summary) == 6 and list(summary["round"]) == [0, 0, 0, 0, 1, 1]
    assert summary.loc[summary["lr"] == 1e-2, "mean"].tolist() == pytest.approx([1.05, 0.525])


def test_one_replicate_and_one_lr_left_shows_no_interval():
    single = make_recommendation(replicates=1, ci_low=1e-2, ci_high=1e-2,
                                 method="successive_halving")  # fmt: skip
    header = single._header()
    assert "no interval" in header and "[0.01, 0.01]" not in header
    assert "interval" not in _gids(single.plot())
    plt.close("all")
    # a set of one lr that paired tests left (two replicates) is a confidence set: shown
    tested = make_recommendation(ci_low=1e-2, ci_high=1e-2)
    assert "[0.01, 0.01]" in tested._header()
    # and a real interval is shown with one replicate too
    assert "[0.003, 0.03]" in make_recommendation(replicates=1)._header()
