"""Publication theme, figure sizes and reproducible figure files.

The theme is seaborn's ``"paper"`` context with the ``"ticks"`` style, the top and
right spines removed, and seaborn's ``"colorblind"`` palette (Okabe–Ito-like colours
that stay distinguishable under the common colour-vision deficiencies). Fonts are
embedded as TrueType in PDF (``pdf.fonttype = 42``), which journals ask for.

:func:`theme` applies it temporarily (a context manager, used by the report so that
the caller's matplotlib settings are left alone); :func:`set_theme` applies it
globally, like :func:`seaborn.set_theme`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import matplotlib as mpl
import seaborn as sns

from lrstats._validation import check_choice, check_int, check_real

__all__ = [
    "COLUMN_WIDTHS",
    "FIGURE_FORMATS",
    "figure_size",
    "save_figure",
    "set_theme",
    "theme",
    "theme_rc",
]

#: Text widths in inches of one and two columns of a typical two-column journal page.
COLUMN_WIDTHS = {1: 3.5, 2: 7.2}

#: File formats :func:`save_figure` writes, chosen by the file's suffix.
FIGURE_FORMATS = ("pdf", "svg", "png")

_CONTEXTS = ("paper", "notebook", "talk", "poster")
_STYLES = ("ticks", "white", "whitegrid", "darkgrid", "dark")

# Fixed salt for the ids matplotlib writes into SVG files; without it they are random.
_SVG_SALT = "lrstats"


def theme_rc(
    context: str = "paper",
    *,
    style: str = "ticks",
    palette: str | Any = "colorblind",
    font_scale: float = 1.0,
    rc: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The matplotlib ``rcParams`` of the publication theme, as a dict.

    Parameters
    ----------
    context : {"paper", "notebook", "talk", "poster"}, default "paper"
        seaborn plotting context (font sizes and line widths).
    style : {"ticks", "white", "whitegrid", "darkgrid", "dark"}, default "ticks"
        seaborn axes style.
    palette : str or sequence of colours, default "colorblind"
        Anything :func:`seaborn.color_palette` accepts; becomes the colour cycle.
    font_scale : float, default 1.0
        Multiplier for every font size of the context.
    rc : mapping, optional
        Extra ``rcParams`` that override the theme.

    Returns
    -------
    dict
        ``rcParams`` entries; pass to :func:`matplotlib.rc_context` or
        ``matplotlib.rcParams.update``.

    Examples
    --------
    >>> from lrstats.presentation.theme import theme_rc
    >>> theme_rc()["axes.spines.top"]
    False
    """
    context = check_choice(context, "context", _CONTEXTS)
    style = check_choice(style, "style", _STYLES)
    font_scale = check_real(font_scale, "font_scale", low=0.0, low_inclusive=False)
    if rc is not None and not isinstance(rc, Mapping):
        raise TypeError(f"`rc` must be a mapping of rcParams. Received: rc={rc!r}")
    colors = sns.color_palette(palette)
    params: dict[str, Any] = {}
    params.update(sns.axes_style(style))
    params.update(sns.plotting_context(context, font_scale=font_scale))
    params.update(
        {
            "axes.prop_cycle": mpl.cycler(color=list(colors)),
            "patch.facecolor": colors[0],
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
            "figure.dpi": 100,
            "savefig.dpi": 300,
            "savefig.bbox": "tight",
            "savefig.pad_inches": 0.02,
            "pdf.fonttype": 42,
            "ps.fonttype": 42,
            "svg.fonttype": "path",
            "svg.hashsalt": _SVG_SALT,
            "image.cmap": "viridis",
        }
    )
    if rc is not None:
        params.update(rc)
    return params


def set_theme(
    context: str = "paper",
    *,
    style: str = "ticks",
    palette: str | Any = "colorblind",
    font_scale: float = 1.0,
    rc: Mapping[str, Any] | None = None,
) -> None:
    """Apply the publication theme to matplotlib globally.

    Parameters
    ----------
    context, style, palette, font_scale, rc
        As in :func:`theme_rc`.

    Notes
    -----
    Changes ``matplotlib.rcParams`` for the rest of the session, like
    :func:`seaborn.set_theme`. Use :func:`theme` to apply it to a block only, and
    ``matplotlib.rcdefaults()`` to undo.

    Examples
    --------
    >>> import lrstats
    >>> lrstats.set_theme()                      # doctest: +SKIP
    >>> lrstats.set_theme("talk", font_scale=1.2)  # doctest: +SKIP
    """
    mpl.rcParams.update(
        theme_rc(context, style=style, palette=palette, font_scale=font_scale, rc=rc)
    )


@contextlib.contextmanager
def theme(
    context: str = "paper",
    *,
    style: str = "ticks",
    palette: str | Any = "colorblind",
    font_scale: float = 1.0,
    rc: Mapping[str, Any] | None = None,
) -> Iterator[None]:
    """Context manager applying the publication theme inside a ``with`` block only.

    Examples
    --------
    >>> from lrstats.presentation.theme import theme
    >>> with theme():                                 # doctest: +SKIP
    ...     summary.plot()
    """
    params = theme_rc(context, style=style, palette=palette, font_scale=font_scale, rc=rc)
    with mpl.rc_context(params):
        yield


def figure_size(columns: int = 1, *, aspect: float = 0.7) -> tuple[float, float]:
    """Figure size in inches for a one- or two-column figure.

    Parameters
    ----------
    columns : {1, 2}, default 1
        One column (3.5 in wide) or the full text width of two columns (7.2 in).
    aspect : float, default 0.7
        Height divided by the width of one column. Two-column figures keep the same
        height as one-column ones (side-by-side panels), i.e. ``height = 3.5 * aspect``.

    Returns
    -------
    tuple of float
        ``(width, height)`` for ``matplotlib.pyplot.figure(figsize=...)``.

    Examples
    --------
    >>> from lrstats.presentation.theme import figure_size
    >>> figure_size(1)
    (3.5, 2.45)
    >>> figure_size(2, aspect=0.5)
    (7.2, 1.75)
    """
    columns = check_int(columns, "columns")
    if columns not in COLUMN_WIDTHS:
        raise ValueError(f"`columns` must be 1 or 2. Received: columns={columns!r}")
    aspect = check_real(aspect, "aspect", low=0.0, low_inclusive=False)
    return COLUMN_WIDTHS[columns], round(COLUMN_WIDTHS[1] * aspect, 6)


def save_figure(fig: Any, path: str | PathLike[str], *, dpi: float = 300) -> Path:
    """Save a figure as PDF, SVG or PNG (chosen by the suffix), reproducibly.

    Parameters
    ----------
    fig : matplotlib.figure.Figure or matplotlib.axes.Axes
        The figure (an Axes is replaced by its figure).
    path : str or path-like
        Destination ending in ``.pdf``, ``.svg`` or ``.png``; parent directories are
        created.
    dpi : float, default 300
        Resolution of the PNG (and of any raster parts of PDF/SVG).

    Returns
    -------
    pathlib.Path
        The written file.

    Notes
    -----
    The files carry no time stamps (``CreationDate``/``Date`` set to ``None``) and SVG
    ids are derived from a fixed salt, so the same figure drawn by the same library
    versions gives byte-identical files.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from lrstats.presentation.theme import save_figure
    >>> fig, ax = plt.subplots()
    >>> save_figure(fig, "curve.pdf")            # doctest: +SKIP
    """
    figure = getattr(fig, "figure", None) if not hasattr(fig, "savefig") else fig
    if figure is None or not hasattr(figure, "savefig"):
        raise TypeError(
            f"`fig` must be a matplotlib Figure or Axes. Received: fig of type {type(fig).__name__}"
        )
    if not isinstance(path, (str, PathLike)):
        raise TypeError(f"`path` must be a str or path-like. Received: path={path!r}")
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FIGURE_FORMATS:
        raise ValueError(f"`path` must end in .pdf, .svg or .png. Received: path={str(path)!r}")
    dpi = check_real(dpi, "dpi", low=0.0, low_inclusive=False)
    metadata = {"pdf": {"CreationDate": None}, "svg": {"Date": None}, "png": {}}[suffix]
    path.parent.mkdir(parents=True, exist_ok=True)
    with mpl.rc_context({"svg.hashsalt": _SVG_SALT}):
        figure.savefig(path, format=suffix, dpi=dpi, metadata=metadata, bbox_inches="tight")
    return path
