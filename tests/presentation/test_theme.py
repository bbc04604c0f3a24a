"""The publication theme, figure sizes and reproducible figure files."""

from __future__ import annotations

import io

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest
import seaborn as sns
from matplotlib.colors import to_hex

import lrstats
from lrstats.presentation.theme import figure_size, save_figure, set_theme, theme, theme_rc


def test_figure_sizes():
    assert figure_size(1) == (3.5, 2.45)
    assert figure_size(2) == (7.2, 2.45)
    assert figure_size(2, aspect=1.0) == (7.2, 3.5)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"columns": 3}, ValueError, "`columns` must be 1 or 2. Received: columns=3"),
        ({"columns": 1.0}, TypeError, "`columns` must be an integer"),
        ({"aspect": 0}, ValueError, "`aspect` must be a finite number"),
    ],
)
def test_figure_size_validation(kwargs, error, match):
    with pytest.raises(error, match=match):
        figure_size(**kwargs)


def test_theme_is_seaborn_paper_with_the_colorblind_palette():
    params = theme_rc()
    paper = sns.plotting_context("paper")
    assert params["font.size"] == paper["font.size"]
    assert params["axes.labelsize"] == paper["axes.labelsize"]
    cycle = [to_hex(c) for c in params["axes.prop_cycle"].by_key()["color"]]
    assert cycle == sns.color_palette("colorblind").as_hex()
    assert params["axes.spines.top"] is False and params["axes.spines.right"] is False
    assert params["pdf.fonttype"] == 42
    assert (
        theme_rc("talk", font_scale=2)["font.size"] == sns.plotting_context("talk", 2)["font.size"]
    )
    assert theme_rc(rc={"lines.linewidth": 3})["lines.linewidth"] == 3


def test_theme_context_restores_and_set_theme_applies():
    before = dict(mpl.rcParams)
    with theme():
        assert mpl.rcParams["font.size"] == sns.plotting_context("paper")["font.size"]
        assert mpl.rcParams["axes.spines.top"] is False
    assert dict(mpl.rcParams) == before
    with mpl.rc_context():
        lrstats.set_theme()
        assert mpl.rcParams["font.size"] == sns.plotting_context("paper")["font.size"]
        assert to_hex(mpl.rcParams["axes.prop_cycle"].by_key()["color"][1]) == "#de8f05"
    assert dict(mpl.rcParams) == before


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"context": "print"}, ValueError, "`context` must be one of 'paper'"),
        ({"style": "grid"}, ValueError, "`style` must be one of"),
        ({"font_scale": -1}, ValueError, "`font_scale` must be a finite number"),
        ({"rc": [1]}, TypeError, "`rc` must be a mapping"),
    ],
)
def test_theme_validation(kwargs, error, match):
    with pytest.raises(error, match=match):
        set_theme(**kwargs)


def _figure():
    fig, ax = plt.subplots(figsize=figure_size(1))
    x = np.logspace(-4, -1, 20)
    ax.plot(x, np.sin(np.log(x)), label="curve")
    ax.fill_between(x, -0.5, 0.5, alpha=0.2)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.legend()
    return fig


@pytest.mark.parametrize(
    ("suffix", "magic"),
    [("pdf", b"%PDF"), ("svg", b"<?xml"), ("png", b"\x89PNG")],
)
def test_save_figure_formats_are_reproducible(tmp_path, suffix, magic):
    first = save_figure(_figure(), tmp_path / "a" / f"figure.{suffix}")
    second = save_figure(_figure().axes[0], tmp_path / f"figure2.{suffix.upper()}")
    assert first == tmp_path / "a" / f"figure.{suffix}"
    data = first.read_bytes()
    assert data.startswith(magic)
    # A new, identical figure gives the same bytes: no dates, no random ids.
    assert second.read_bytes() == data
    if suffix == "pdf":
        assert b"CreationDate" not in data
    if suffix == "svg":
        assert b"<dc:date>" not in data


def test_save_figure_png_resolution(tmp_path):
    from PIL import Image

    fig = _figure()
    low = Image.open(io.BytesIO(save_figure(fig, tmp_path / "low.png", dpi=100).read_bytes()))
    high = Image.open(io.BytesIO(save_figure(fig, tmp_path / "high.png", dpi=300).read_bytes()))
    assert high.size[0] == pytest.approx(3 * low.size[0], rel=0.02)
    assert high.info["dpi"][0] == pytest.approx(300, abs=0.1)


@pytest.mark.parametrize(
    ("fig", "path", "dpi", "error", "match"),
    [
        ("figure", "x.png", 300, TypeError, "`fig` must be a matplotlib Figure or Axes"),
        (
            None,
            "x.jpg",
            300,
            ValueError,
            r"`path` must end in .pdf, .svg or .png. Received: path='.*x.jpg'",
        ),
        (None, 5, 300, TypeError, "`path` must be a str or path-like"),
        (None, "x.png", 0, ValueError, "`dpi` must be a finite number"),
    ],
)
def test_save_figure_validation(tmp_path, fig, path, dpi, error, match):
    figure = _figure() if fig is None else fig
    target = tmp_path / path if isinstance(path, str) else path
    with pytest.raises(error, match=match):
        save_figure(figure, target, dpi=dpi)
