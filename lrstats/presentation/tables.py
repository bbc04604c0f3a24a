"""Results tables as LaTeX (booktabs), Markdown, HTML and CSV.

Every function accepts a result object (its ``to_frame()`` is used), a DataFrame, or a
list of them (concatenated row-wise, e.g. one :class:`~lrstats.inference.Selection` per
rule). Numbers are rounded only for display: :func:`to_csv` writes full precision, and
:func:`lrstats.io.save_results` stores the raw values in Parquet.

Number format
-------------
Each numeric column gets one format, so its decimal points line up in a right-aligned
column (this is the alignment scheme; no siunitx needed):

* integer columns (or float columns whose values are all whole numbers below 10^6)
  print as integers;
* probability columns (``p_*``, ``pvalue*``, ``stability``, ``frequency``,
  ``confidence_level`` with values in [0, 1]) print with ``digits`` decimals;
* other columns print in fixed notation with ``digits`` significant digits for the
  largest magnitude, unless that would show the smallest non-zero magnitude as zero (or
  the largest is 10^5 or more, or more than ``max(4, digits + 1)`` decimals would be
  needed); then the whole column is in scientific notation with
  ``digits`` significant digits (``1.23e-04``; in LaTeX ``$1.23\\times10^{-4}$`` with
  phantom padding so exponents of different widths stay aligned).

NaN prints as an em dash (``--`` in LaTeX), infinities as ``inf`` (``$\\infty$``),
booleans as ``yes``/``no``. Output is a pure function of the input: the same table gives
byte-identical text.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Mapping, Sequence
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from lrstats._validation import check_int

__all__ = [
    "as_frame",
    "format_frame",
    "selection_table",
    "shape_table",
    "to_csv",
    "to_html",
    "to_latex",
    "to_markdown",
]

_PROBABILITY_NAMES = ("stability", "frequency", "confidence_level", "share")
_MINUS = "\u2212"
_NAN_TEXT = {"plain": "\u2014", "latex": "--"}


# --------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------
def as_frame(result_or_frame: Any) -> pd.DataFrame:
    """The table behind a result, a DataFrame or a list of them (concatenated).

    Parameters
    ----------
    result_or_frame : result, DataFrame, or sequence of them
        Result objects contribute ``to_frame()``.

    Returns
    -------
    pandas.DataFrame
        A new frame with a fresh RangeIndex when several were concatenated.
    """
    if isinstance(result_or_frame, pd.DataFrame):
        return result_or_frame
    if isinstance(result_or_frame, (list, tuple)):
        if not result_or_frame:
            raise ValueError("`result_or_frame` must not be an empty sequence. Received: []")
        frames = [_single_frame(item) for item in result_or_frame]
        return pd.concat(frames, ignore_index=True)
    return _single_frame(result_or_frame)


def _single_frame(item: Any) -> pd.DataFrame:
    if isinstance(item, pd.DataFrame):
        return item
    to_frame = getattr(item, "to_frame", None)
    if callable(to_frame) and not isinstance(item, pd.Series):
        frame = to_frame()
        if isinstance(frame, pd.DataFrame):
            return frame
    raise TypeError(
        "`result_or_frame` must be an lrstats result, a DataFrame or a list of them. "
        f"Received: an object of type {type(item).__name__}"
    )


def _prepare(result_or_frame: Any, columns: Sequence[str] | None, index: bool) -> pd.DataFrame:
    frame = as_frame(result_or_frame)
    if not isinstance(index, bool):
        raise TypeError(f"`index` must be a bool. Received: index={index!r}")
    if index:
        frame = frame.reset_index()
    if columns is not None:
        if isinstance(columns, str) or not isinstance(columns, Sequence):
            raise TypeError(
                f"`columns` must be a list of column names. Received: columns={columns!r}"
            )
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(
                f"`columns` must name columns of the table {list(frame.columns)}. "
                f"Received: columns={list(columns)!r}"
            )
        frame = frame.loc[:, list(columns)]
    return frame


def _check_headers(headers: Mapping[str, str] | None, frame: pd.DataFrame) -> dict[Any, str]:
    if headers is None:
        return {}
    if not isinstance(headers, Mapping) or not all(isinstance(v, str) for v in headers.values()):
        raise TypeError(
            f"`headers` must map column names to strings. Received: headers={headers!r}"
        )
    unknown = [k for k in headers if k not in frame.columns]
    if unknown:
        raise ValueError(
            f"`headers` must name columns of the table {list(frame.columns)}. Received: {unknown!r}"
        )
    return dict(headers)


# --------------------------------------------------------------------------------------------
# Number formatting
# --------------------------------------------------------------------------------------------
class _Cell:
    """One formatted cell: its kind (number or text) and its pieces."""

    __slots__ = ("exponent", "kind", "mantissa")

    def __init__(self, kind: str, mantissa: str, exponent: int | None = None) -> None:
        self.kind = kind  # "text", "number", "nan", "inf"
        self.mantissa = mantissa
        self.exponent = exponent


def _is_probability(name: Any, finite: np.ndarray) -> bool:
    text = str(name)
    named = text.startswith("p_") or text.startswith("pvalue") or text in _PROBABILITY_NAMES
    return named and finite.size > 0 and bool(((finite >= 0) & (finite <= 1)).all())


def _numeric_values(series: pd.Series) -> np.ndarray | None:
    """float64 values if the column is numeric (bools excluded), else None."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return None
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    values = series.to_list()
    if values and all(
        isinstance(v, (int, float, np.integer, np.floating))
        and not isinstance(v, (bool, np.bool_))
        for v in values
    ):
        return np.asarray(values, dtype=np.float64)
    return None


def _strip_negative_zero(text: str) -> str:
    if text.startswith("-") and not any(c in "123456789" for c in text.split("e")[0]):
        return text[1:]
    return text


def _format_numeric(
    name: Any, values: np.ndarray, integer_dtype: bool, digits: int
) -> list[_Cell]:
    finite = values[np.isfinite(values)]
    cells: list[_Cell] = []

    def special(value: float) -> _Cell | None:
        if math.isnan(value):
            return _Cell("nan", "")
        if math.isinf(value):
            return _Cell("inf", "-" if value < 0 else "")
        return None

    whole = (
        finite.size > 0 and bool((finite == np.round(finite)).all()) and np.abs(finite).max() < 1e6
    )
    if integer_dtype or whole or finite.size == 0:
        for value in values:
            cells.append(special(value) or _Cell("number", str(int(value))))
        return cells
    if _is_probability(name, finite):
        for value in values:
            cells.append(
                special(value) or _Cell("number", _strip_negative_zero(f"{value:.{digits}f}"))
            )
        return cells
    magnitudes = np.abs(finite)
    largest = float(magnitudes.max())
    nonzero = magnitudes[magnitudes > 0]
    smallest = float(nonzero.min()) if nonzero.size else largest
    decimals = max(0, digits - 1 - math.floor(math.log10(largest))) if largest > 0 else digits - 1
    fixed = largest < 1e5 and smallest >= 10.0 ** (-decimals) and decimals <= max(4, digits + 1)
    for value in values:
        cell = special(value)
        if cell is None:
            if fixed:
                cell = _Cell("number", _strip_negative_zero(f"{value:.{decimals}f}"))
            else:
                mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
                cell = _Cell("number", mantissa, int(exponent))
        cells.append(cell)
    return cells


def _format_columns(frame: pd.DataFrame, digits: int) -> list[tuple[Any, bool, list[_Cell]]]:
    """Per column: (name, numeric?, cells)."""
    columns = []
    for position in range(frame.shape[1]):
        name = frame.columns[position]
        series = frame.iloc[:, position]
        if pd.api.types.is_bool_dtype(series.dtype):
            cells = [_Cell("text", "yes" if bool(v) else "no") for v in series.to_list()]
            columns.append((name, False, cells))
            continue
        values = _numeric_values(series)
        if values is None:
            cells = [
                _Cell("nan", "") if _is_missing(v) else _Cell("text", _text(v))
                for v in series.to_list()
            ]
            columns.append((name, False, cells))
            continue
        integer_dtype = pd.api.types.is_integer_dtype(series.dtype)
        columns.append((name, True, _format_numeric(name, values, integer_dtype, digits)))
    return columns


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _text(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    return str(value)


def _render_plain(cell: _Cell) -> str:
    if cell.kind == "nan":
        return _NAN_TEXT["plain"]
    if cell.kind == "inf":
        return f"{cell.mantissa}inf"
    if cell.exponent is None:
        return cell.mantissa
    sign = "-" if cell.exponent < 0 else "+"
    return f"{cell.mantissa}e{sign}{abs(cell.exponent):02d}"


def _check_digits(digits: Any) -> int:
    return check_int(digits, "digits", minimum=1)


def format_frame(
    result_or_frame: Any,
    *,
    digits: int = 3,
    columns: Sequence[str] | None = None,
    index: bool = False,
) -> pd.DataFrame:
    """The table with every cell formatted for display, as strings.

    Parameters
    ----------
    result_or_frame : result, DataFrame or list of them
    digits : int, default 3
        Significant digits (decimals for probability columns).
    columns : list of str, optional
        Columns to keep, in this order.
    index : bool, default False
        Include the index as leading column(s).

    Returns
    -------
    pandas.DataFrame
        Same shape and column names, all values ``str`` (see the module notes for the format).

    Examples
    --------
    >>> import pandas as pd
    >>> from lrstats.presentation.tables import format_frame
    >>> format_frame(pd.DataFrame({"lr": [1e-5, 1e-2], "p_decrease": [0.5, 1.0]}))
             lr p_decrease
    0  1.00e-05      0.500
    1  1.00e-02      1.000
    """
    digits = _check_digits(digits)
    frame = _prepare(result_or_frame, columns, index)
    formatted = _format_columns(frame, digits)
    data = {
        position: [_render_plain(cell) for cell in cells]
        for position, (_, _, cells) in enumerate(formatted)
    }
    out = pd.DataFrame(data, index=range(frame.shape[0]), dtype=object)
    out.columns = frame.columns
    return out


# --------------------------------------------------------------------------------------------
# LaTeX
# --------------------------------------------------------------------------------------------
_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(char, char) for char in text)


def _latex_cells(cells: list[_Cell]) -> list[str]:
    exponents = [c.exponent for c in cells if c.kind == "number" and c.exponent is not None]
    width = max((len(str(abs(e))) for e in exponents), default=0)
    any_negative = any(e < 0 for e in exponents)
    out = []
    for cell in cells:
        if cell.kind == "nan":
            out.append(_NAN_TEXT["latex"])
        elif cell.kind == "inf":
            out.append(f"${cell.mantissa}\\infty$")
        elif cell.kind == "text":
            out.append(_latex_escape(cell.mantissa))
        elif cell.exponent is None:
            out.append(f"${cell.mantissa}$" if cell.mantissa.startswith("-") else cell.mantissa)
        else:
            digits = str(abs(cell.exponent))
            pad = "0" * (width - len(digits))
            sign = "-" if cell.exponent < 0 else ("\\phantom{-}" if any_negative else "")
            padding = f"\\phantom{{{pad}}}" if pad else ""
            out.append(f"${cell.mantissa}\\times10^{{{sign}{padding}{digits}}}$")
    return out


def to_latex(
    result_or_frame: Any,
    *,
    digits: int = 3,
    columns: Sequence[str] | None = None,
    headers: Mapping[str, str] | None = None,
    caption: str | None = None,
    label: str | None = None,
    index: bool = False,
) -> str:
    """A booktabs LaTeX table.

    Parameters
    ----------
    result_or_frame : result, DataFrame or list of them
    digits : int, default 3
        Significant digits for display (see the module notes).
    columns : list of str, optional
        Columns to keep, in this order.
    headers : mapping, optional
        Column name → header text, inserted as given (LaTeX allowed, e.g.
        ``{"lr": r"$\\eta$"}``); other headers are the escaped column names.
    caption, label : str, optional
        If either is given, the tabular is wrapped in a ``table`` float with
        ``\\caption`` and ``\\label``.
    index : bool, default False
        Include the index as leading column(s).

    Returns
    -------
    str
        ``\\begin{tabular}`` … ``\\end{tabular}`` with ``\\toprule``, ``\\midrule``,
        ``\\bottomrule``; numeric columns right-aligned (``r``) with one format per column
        so decimal points line up, text columns left-aligned. Needs ``\\usepackage{booktabs}``
        (stated in a leading comment line).

    Examples
    --------
    >>> import pandas as pd
    >>> from lrstats.presentation.tables import to_latex
    >>> print(to_latex(pd.DataFrame({"rule": ["ucb"], "lr": [0.0123]})))
    % Requires \\usepackage{booktabs}
    \\begin{tabular}{lr}
    \\toprule
    rule & lr \\\\
    \\midrule
    ucb & 0.0123 \\\\
    \\bottomrule
    \\end{tabular}
    <BLANKLINE>
    """
    digits = _check_digits(digits)
    for name, value in (("caption", caption), ("label", label)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"`{name}` must be a str or None. Received: {name}={value!r}")
    frame = _prepare(result_or_frame, columns, index)
    names = _check_headers(headers, frame)
    formatted = _format_columns(frame, digits)
    spec = "".join("r" if numeric else "l" for _, numeric, _ in formatted)
    header = [names.get(name, _latex_escape(str(name))) for name, _, _ in formatted]
    body_columns = [_latex_cells(cells) for _, _, cells in formatted]
    lines = ["% Requires \\usepackage{booktabs}"]
    float_env = caption is not None or label is not None
    if float_env:
        lines += ["\\begin{table}[tbp]", "\\centering"]
        if caption is not None:
            lines.append(f"\\caption{{{caption}}}")
        if label is not None:
            lines.append(f"\\label{{{label}}}")
    lines += [
        f"\\begin{{tabular}}{{{spec}}}",
        "\\toprule",
        " & ".join(header) + " \\\\",
        "\\midrule",
    ]
    for row in range(frame.shape[0]):
        lines.append(" & ".join(column[row] for column in body_columns) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    if float_env:
        lines.append("\\end{table}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------
def _markdown_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def to_markdown(
    result_or_frame: Any,
    *,
    digits: int = 3,
    columns: Sequence[str] | None = None,
    headers: Mapping[str, str] | None = None,
    index: bool = False,
) -> str:
    """A Markdown pipe table (GitHub/Pandoc), padded so it also reads as plain text.

    Parameters
    ----------
    result_or_frame : result, DataFrame or list of them
    digits : int, default 3
    columns : list of str, optional
    headers : mapping, optional
        Column name → header text (pipes are escaped).
    index : bool, default False

    Returns
    -------
    str
        Header row, alignment row (``---:`` for numeric columns, ``:---`` for text) and
        one row per table row, each line ending in a newline.

    Examples
    --------
    >>> import pandas as pd
    >>> from lrstats.presentation.tables import to_markdown
    >>> print(to_markdown(pd.DataFrame({"rule": ["ucb"], "lr": [0.0123]})), end="")
    | rule |     lr |
    | :--- | -----: |
    | ucb  | 0.0123 |
    """
    digits = _check_digits(digits)
    frame = _prepare(result_or_frame, columns, index)
    names = _check_headers(headers, frame)
    formatted = _format_columns(frame, digits)
    table = []
    for name, numeric, cells in formatted:
        head = _markdown_escape(names.get(name, str(name)))
        body = [_markdown_escape(_render_plain(cell)) for cell in cells]
        width = max([len(head), 4, *(len(b) for b in body)])
        if numeric:
            rule = "-" * (width - 1) + ":"
            column = [head.rjust(width), rule] + [b.rjust(width) for b in body]
        else:
            rule = ":" + "-" * (width - 1)
            column = [head.ljust(width), rule] + [b.ljust(width) for b in body]
        table.append(column)
    n_lines = frame.shape[0] + 2
    lines = ["| " + " | ".join(column[i] for column in table) + " |" for i in range(n_lines)]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------
def _html_cell(cell: _Cell) -> str:
    if cell.kind == "number" and cell.exponent is not None:
        exponent = str(cell.exponent).replace("-", _MINUS)
        mantissa = html.escape(cell.mantissa.replace("-", _MINUS))
        return f"{mantissa}\u00d710<sup>{exponent}</sup>"
    text = _render_plain(cell)
    if cell.kind in ("number", "inf"):
        text = text.replace("-", _MINUS)
    if cell.kind == "inf":
        text = text.replace("inf", "\u221e")
    return html.escape(text)


def to_html(
    result_or_frame: Any,
    *,
    digits: int = 3,
    columns: Sequence[str] | None = None,
    headers: Mapping[str, str] | None = None,
    caption: str | None = None,
    classes: str = "lrstats-table",
    index: bool = False,
) -> str:
    """An HTML ``<table>`` with numeric cells right-aligned (inline styles, no CSS needed).

    Parameters
    ----------
    result_or_frame : result, DataFrame or list of them
    digits : int, default 3
    columns : list of str, optional
    headers : mapping, optional
        Column name → header text (escaped).
    caption : str, optional
        ``<caption>`` text (escaped).
    classes : str, default "lrstats-table"
        The table's ``class`` attribute.
    index : bool, default False

    Returns
    -------
    str
        The table; scientific numbers as ``1.23×10<sup>−4</sup>``.

    Examples
    --------
    >>> import pandas as pd
    >>> from lrstats.presentation.tables import to_html
    >>> "<table" in to_html(pd.DataFrame({"lr": [0.01]}))
    True
    """
    digits = _check_digits(digits)
    if caption is not None and not isinstance(caption, str):
        raise TypeError(f"`caption` must be a str or None. Received: caption={caption!r}")
    if not isinstance(classes, str):
        raise TypeError(f"`classes` must be a str. Received: classes={classes!r}")
    frame = _prepare(result_or_frame, columns, index)
    names = _check_headers(headers, frame)
    formatted = _format_columns(frame, digits)
    right = ' style="text-align: right"'
    lines = [f'<table class="{html.escape(classes)}">']
    if caption is not None:
        lines.append(f"<caption>{html.escape(caption)}</caption>")
    head = "".join(
        f"<th{right if numeric else ''}>{html.escape(names.get(name, str(name)))}</th>"
        for name, numeric, _ in formatted
    )
    lines += ["<thead>", f"<tr>{head}</tr>", "</thead>", "<tbody>"]
    for row in range(frame.shape[0]):
        cells = "".join(
            f"<td{right if numeric else ''}>{_html_cell(cells[row])}</td>"
            for _, numeric, cells in formatted
        )
        lines.append(f"<tr>{cells}</tr>")
    lines += ["</tbody>", "</table>"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------
def to_csv(
    result_or_frame: Any,
    path_or_buf: str | PathLike[str] | io.TextIOBase | None = None,
    *,
    columns: Sequence[str] | None = None,
    index: bool = False,
) -> str | None:
    """CSV with raw values at full precision.

    Parameters
    ----------
    result_or_frame : result, DataFrame or list of them
    path_or_buf : str, path-like or file object, optional
        Where to write; ``None`` returns the text.
    columns : list of str, optional
    index : bool, default False

    Returns
    -------
    str or None
        The CSV text if ``path_or_buf`` is None.

    Notes
    -----
    Floats are written with Python's shortest round-trip representation
    (``float_format=None``) and ``"\\n"`` line endings, so ``pandas.read_csv`` (with the
    round-trip float parser, pandas' default from 3.0; ``float_precision="round_trip"``
    before) gives back the same float64 bits, and the same table always gives the same
    bytes. Non-finite values are written
    as ``inf``, ``-inf`` and an empty field for NaN.

    Examples
    --------
    >>> import pandas as pd
    >>> from lrstats.presentation.tables import to_csv
    >>> print(to_csv(pd.DataFrame({"lr": [0.1], "mean": [1 / 3]})), end="")
    lr,mean
    0.1,0.3333333333333333
    """
    frame = _prepare(result_or_frame, columns, index)
    return frame.to_csv(path_or_buf, index=False, float_format=None, lineterminator="\n")


# --------------------------------------------------------------------------------------------
# Tables built from several results
# --------------------------------------------------------------------------------------------
def selection_table(selections: Any) -> pd.DataFrame:
    """One row per selection rule: ``rule, lr, ci_low, ci_high, stability, …``.

    Parameters
    ----------
    selections : Selection, sequence of Selection, or mapping of name to Selection

    Returns
    -------
    pandas.DataFrame
        The selections' ``to_frame()`` rows, raw values.

    Examples
    --------
    >>> import lrstats
    >>> from lrstats.simulate import simulate_frame
    >>> frame = simulate_frame(replicates=30, rng=0)
    >>> selections = [lrstats.select_lr(frame, rule=r, n_resamples=200, rng=0)
    ...               for r in ("mean", "ucb")]
    >>> lrstats.presentation.selection_table(selections)["rule"].tolist()
    ['mean', 'ucb']
    """
    if isinstance(selections, Mapping):
        selections = list(selections.values())
    elif not isinstance(selections, (list, tuple)):
        selections = [selections]
    return as_frame(list(selections))


def shape_table(fits: Any) -> pd.DataFrame:
    """One row per shape fit: ``kind, optimum_lr, ci_low, ci_high`` and the break-even lr.

    Parameters
    ----------
    fits : ShapeFit, sequence of ShapeFit, or mapping of name to ShapeFit

    Returns
    -------
    pandas.DataFrame
        Columns ``kind, optimum_lr, ci_low, ci_high, break_even_lr, break_even_ci_low,
        break_even_ci_high, confidence_level, response`` (raw values; NaN where a kind has
        no break-even lr).

    Examples
    --------
    >>> import lrstats
    >>> from lrstats.simulate import simulate_frame
    >>> frame = simulate_frame(replicates=30, rng=0)
    >>> fits = [lrstats.fit_shape(frame, kind=k, n_resamples=200, rng=0)
    ...         for k in ("unimodal", "local")]
    >>> lrstats.presentation.shape_table(fits)["kind"].tolist()
    ['unimodal', 'local']
    """
    if isinstance(fits, Mapping):
        fits = list(fits.values())
    elif not isinstance(fits, (list, tuple)):
        fits = [fits]
    if not fits:
        raise ValueError("`fits` must contain at least one ShapeFit. Received: []")
    names = [
        "kind",
        "optimum_lr",
        "ci_low",
        "ci_high",
        "break_even_lr",
        "break_even_ci_low",
        "break_even_ci_high",
        "confidence_level",
        "response",
    ]
    rows = []
    for fit in fits:
        if not all(hasattr(fit, name) for name in ("kind", "optimum_lr", "ci_low", "ci_high")):
            raise TypeError(
                f"`fits` must contain ShapeFit results. Received: an object of type {type(fit).__name__}"
            )
        rows.append({name: getattr(fit, name, math.nan) for name in names})
    frame = pd.DataFrame(rows, columns=names)
    for name in names[1:8]:
        frame[name] = frame[name].astype(np.float64)
    return frame
