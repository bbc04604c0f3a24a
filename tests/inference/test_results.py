"""Result objects: tables, HTML and the lazy delegation to the presentation layer."""

import sys
import types

import numpy as np
import pandas as pd
import pytest

from lrstats.inference import compare_to_best, fit_shape, select_lr, summarize, u_test
from lrstats.simulate import simulate_frame


@pytest.fixture(scope="module")
def results():
    frame = simulate_frame(replicates=12, rng=0, diverge_above=0.05)
    comparison = compare_to_best(frame)
    return {
        "summary": summarize(frame),
        "comparison": comparison,
        "selection": select_lr(frame, n_resamples=50, rng=0),
        "shape": fit_shape(frame, kind="local"),
        "utest": u_test(frame),
    }


@pytest.fixture
def presentation(monkeypatch):
    """Stand-in plot and table modules that record what they were called with."""
    calls = []
    plots = types.ModuleType("lrstats.presentation.plots")
    tables = types.ModuleType("lrstats.presentation.tables")
    for kind in ("summary", "comparison", "selection", "shape", "utest"):
        setattr(
            plots,
            f"plot_{kind}",
            lambda result, ax=None, _k=kind, **kw: calls.append((_k, result, ax, kw)) or "axes",
        )
    for name in ("to_latex", "to_markdown", "to_csv", "to_html"):
        setattr(
            tables,
            name,
            lambda result, *args, _n=name, **kw: calls.append((_n, result, args, kw)) or _n,
        )
    monkeypatch.setitem(sys.modules, "lrstats.presentation.plots", plots)
    monkeypatch.setitem(sys.modules, "lrstats.presentation.tables", tables)
    return calls


@pytest.mark.parametrize("kind", ["summary", "comparison", "selection", "shape", "utest"])
def test_plot_delegates_to_the_matching_plot_function(results, presentation, kind):
    result = results[kind]
    assert result.plot(ax="ax", color="k") == "axes"
    assert presentation == [(kind, result, "ax", {"color": "k"})]


def test_table_methods_delegate(results, presentation):
    summary = results["summary"]
    assert summary.to_latex(digits=3) == "to_latex"
    assert summary.to_markdown() == "to_markdown"
    assert summary.to_csv("out.csv") == "to_csv"
    assert summary.to_html() == "to_html"
    assert [c[0] for c in presentation] == ["to_latex", "to_markdown", "to_csv", "to_html"]
    assert presentation[0][3] == {"digits": 3} and presentation[2][2] == ("out.csv",)


@pytest.mark.parametrize("kind", ["summary", "comparison", "selection", "shape", "utest"])
def test_frames_html_and_immutability(results, kind):
    result = results[kind]
    table = result.to_frame()
    assert isinstance(table, pd.DataFrame) and len(table) >= 1
    if "lr" in table:
        table["lr"] = -1.0  # a copy: the result is untouched
        assert (result.to_frame()["lr"] > 0).all()
    assert result._repr_html_().startswith("<div><strong>")
    with pytest.raises(AttributeError):
        result.response = "other"


def test_summary_fields(results):
    summary = results["summary"]
    assert summary.n_replicates == 12 and summary.method == "t"
    np.testing.assert_array_equal(summary.diverging_lrs, summary.lrs[summary.lrs > 0.05])


def test_comparison_fields(results):
    comparison = results["comparison"]
    assert comparison.best_lr in comparison.indistinguishable_lrs
    assert not np.isin(comparison.indistinguishable_lrs, results["summary"].diverging_lrs).any()
