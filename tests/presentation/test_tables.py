"""LaTeX (booktabs), Markdown, HTML and CSV tables: structure, number formats, raw CSV, determinism."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from lrstats.presentation import tables


@pytest.fixture
def table():
    return pd.DataFrame(
        {
            "lr": [1e-4, 3.1622776601683794e-3, 1e-1],
            "n": np.array([40, 40, 38], dtype=np.int64),
            "mean": [-0.0123456, -0.0987654, 0.5],
            "sd": [0.004, 0.0123, np.nan],
            "p_decrease": [0.675, 1.0, 0.0],
            "indistinguishable": [False, True, False],
            "rule": ["mean", "ucb & co", "one_se"],
        }
    )


def latex_body_rows(text):
    lines = text.splitlines()
    start, end = lines.index("\\midrule"), lines.index("\\bottomrule")
    return lines[start + 1 : end]


def split_latex_row(row):
    assert row.endswith(" \\\\")
    return re.split(r"(?<!\\)&", row[: -len(" \\\\")])


# --------------------------------------------------------------------------------------------
# LaTeX
# --------------------------------------------------------------------------------------------
def test_latex_booktabs_structure(table):
    text = tables.to_latex(table)
    lines = text.splitlines()
    assert lines[0] == "% Requires \\usepackage{booktabs}"
    assert lines[1] == "\\begin{tabular}{rrrrrll}"
    assert [line for line in lines if line in ("\\toprule", "\\midrule", "\\bottomrule")] == [
        "\\toprule",
        "\\midrule",
        "\\bottomrule",
    ]
    assert lines.index("\\toprule") < lines.index("\\midrule") < lines.index("\\bottomrule")
    assert lines[-1] == "\\end{tabular}" and text.endswith("\n")
    assert "\\hline" not in text
    header = lines[lines.index("\\toprule") + 1]
    assert header == "lr & n & mean & sd & p\\_decrease & indistinguishable & rule \\\\"
    rows = latex_body_rows(text)
    assert len(rows) == len(table)
    for row in rows:
        assert len(split_latex_row(row)) == table.shape[1]
    assert "ucb \\& co" in rows[1]


def test_latex_cells(table):
    rows = [split_latex_row(row) for row in latex_body_rows(tables.to_latex(table))]
    columns = list(zip(*rows, strict=True))
    lr, n, mean, sd, p, same, rule = ([cell.strip() for cell in column] for column in columns)
    # lr spans three decades: scientific notation, aligned exponents.
    assert lr == ["$1.00\\times10^{-4}$", "$3.16\\times10^{-3}$", "$1.00\\times10^{-1}$"]
    assert n == ["40", "40", "38"]
    # mean: fixed decimals, 3 significant digits for the largest magnitude, minus in math mode.
    assert mean == ["$-0.012$", "$-0.099$", "0.500"]
    assert sd == ["0.0040", "0.0123", "--"]
    assert p == ["0.675", "1.000", "0.000"]
    assert same == ["no", "yes", "no"]
    assert rule == ["mean", "ucb \\& co", "one\\_se"]


def test_latex_exponents_are_padded_to_one_width():
    frame = pd.DataFrame({"x": [1e-4, 2.5e-10, 3e2, -7e12]})
    cells = [split_latex_row(row)[0].strip() for row in latex_body_rows(tables.to_latex(frame))]
    exponents = [re.search(r"10\^\{(.*)\}\$$", cell).group(1) for cell in cells]
    visible = [re.sub(r"\\phantom\{([^}]*)\}", r"\1", e) for e in exponents]
    assert visible == ["-04", "-10", "-02", "-12"]
    assert exponents[2] == "\\phantom{-}\\phantom{0}2"
    assert len({len(v) for v in visible}) == 1


def test_latex_float_environment_and_headers(table):
    text = tables.to_latex(
        table,
        columns=["lr", "mean"],
        headers={"lr": "$\\eta$"},
        caption="Per-lr means.",
        label="tab:means",
    )
    lines = text.splitlines()
    assert lines[1:5] == [
        "\\begin{table}[tbp]",
        "\\centering",
        "\\caption{Per-lr means.}",
        "\\label{tab:means}",
    ]
    assert lines[-1] == "\\end{table}"
    assert "$\\eta$ & mean \\\\" in lines


def test_non_finite_and_negative_zero():
    frame = pd.DataFrame({"x": [np.inf, -np.inf, np.nan, -0.0, 0.25]})
    assert tables.format_frame(frame)["x"].tolist() == ["inf", "-inf", "\u2014", "0.000", "0.250"]
    cells = [split_latex_row(r)[0] for r in latex_body_rows(tables.to_latex(frame))]
    assert cells == ["$\\infty$", "$-\\infty$", "--", "0.000", "0.250"]


def test_digits_controls_display_only(table):
    three = tables.format_frame(table)
    five = tables.format_frame(table, digits=5)
    assert three["mean"].tolist() == ["-0.012", "-0.099", "0.500"]
    assert five["mean"].tolist() == ["-0.01235", "-0.09877", "0.50000"]
    assert five["lr"].tolist() == ["0.00010", "0.00316", "0.10000"]
    assert tables.format_frame(table, digits=2)["lr"].tolist() == ["1.0e-04", "3.2e-03", "1.0e-01"]


def test_whole_numbers_in_float_columns_print_as_integers():
    frame = pd.DataFrame({"n_resamples": [2000.0, 9999.0], "x": [1.5, 2.0]})
    formatted = tables.format_frame(frame)
    assert formatted["n_resamples"].tolist() == ["2000", "9999"]
    assert formatted["x"].tolist() == ["1.50", "2.00"]


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------
def test_markdown_shape(table):
    text = tables.to_markdown(table)
    lines = text.splitlines()
    assert len(lines) == len(table) + 2
    assert all(line.startswith("| ") and line.endswith(" |") for line in lines)
    assert len({len(line) for line in lines}) == 1  # padded: reads as plain text too
    for line in lines:
        assert len(re.findall(r"(?<!\\)\|", line)) == table.shape[1] + 1
    rule = [cell.strip() for cell in lines[1].strip("|").split("|")]
    assert [cell.endswith(":") and not cell.startswith(":") for cell in rule] == [
        True,
        True,
        True,
        True,
        True,
        False,
        False,
    ]
    assert [cell.startswith(":") for cell in rule][-2:] == [True, True]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header == list(table.columns)
    assert "| ucb & co" in lines[3]


def test_markdown_escapes_pipes():
    text = tables.to_markdown(pd.DataFrame({"a|b": ["x|y"]}))
    assert "a\\|b" in text and "x\\|y" in text


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------
class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.styles, self._cell = [], [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
            self.styles.append([])
        if tag in ("td", "th"):
            self._cell = ""
            self.styles[-1].append(dict(attrs).get("style"))

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.rows[-1].append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def test_html_table(table):
    text = tables.to_html(table, caption="Summary <1>")
    assert text.startswith('<table class="lrstats-table">')
    assert "<caption>Summary &lt;1&gt;</caption>" in text
    parser = _Cells()
    parser.feed(text)
    assert len(parser.rows) == len(table) + 1
    assert parser.rows[0] == list(table.columns)
    right = "text-align: right"
    assert parser.styles[1] == [right] * 5 + [None, None]
    assert parser.rows[1][2] == "\u22120.012"  # a real minus sign
    assert parser.rows[1][0] == "1.00\u00d710\u22124"  # mantissa × 10, exponent in <sup>
    assert "<sup>\u22124</sup>" in text
    assert parser.rows[2][6] == "ucb & co" and "ucb &amp; co" in text
    assert parser.rows[3][3] == "\u2014"


# --------------------------------------------------------------------------------------------
# CSV: raw values
# --------------------------------------------------------------------------------------------
def test_csv_round_trips_raw_values_exactly(tmp_path):
    frame = pd.DataFrame(
        {
            "lr": np.logspace(-7, 0, 8),
            "mean": [1 / 3, -2 / 7, 1e-300, -np.inf, np.inf, np.nan, 5e-324, 123456789.123456789],
            "n": np.arange(8, dtype=np.int64),
            "rule": list("abcdefgh"),
        }
    )
    text = tables.to_csv(frame)
    assert text.splitlines()[0] == "lr,mean,n,rule"
    back = pd.read_csv(io.StringIO(text))
    pd.testing.assert_frame_equal(back, frame, check_exact=True, check_dtype=False)
    assert back["n"].dtype == np.int64
    assert "0.3333333333333333" in text  # all 16 digits, no rounding
    assert tables.to_csv(frame, tmp_path / "t.csv") is None
    assert (tmp_path / "t.csv").read_bytes() == text.encode()
    assert "\r" not in text


def test_csv_of_results_keeps_every_column(results):
    summary = results["summary"]
    back = pd.read_csv(io.StringIO(tables.to_csv(summary)))
    pd.testing.assert_frame_equal(back, summary.to_frame(), check_exact=True, check_dtype=False)
    assert summary.to_csv() == tables.to_csv(summary)


# --------------------------------------------------------------------------------------------
# Results, determinism, validation
# --------------------------------------------------------------------------------------------
def test_results_and_their_methods(results):
    summary = results["summary"]
    assert tables.to_latex(summary) == tables.to_latex(summary.to_frame())
    assert summary.to_latex(digits=4) == tables.to_latex(summary, digits=4)
    assert summary.to_markdown() == tables.to_markdown(summary.to_frame())
    assert summary.to_html() == tables.to_html(summary.to_frame())
    selections = results["selections"]
    frame = tables.selection_table(selections)
    assert frame["rule"].tolist() == [s.rule for s in selections]
    assert frame["lr"].tolist() == [s.lr for s in selections]
    assert tables.to_markdown(selections) == tables.to_markdown(frame)
    assert tables.selection_table({s.rule: s for s in selections}).equals(frame)


def test_shape_table(results):
    fits = results["fits"]
    frame = tables.shape_table(fits)
    assert frame["kind"].tolist() == [f.kind for f in fits]
    np.testing.assert_array_equal(frame["optimum_lr"], [f.optimum_lr for f in fits])
    np.testing.assert_array_equal(frame["ci_high"], [f.ci_high for f in fits])
    local = frame.set_index("kind").loc["local"]
    fit = next(f for f in fits if f.kind == "local")
    assert local["break_even_lr"] == fit.break_even_lr
    assert np.isnan(frame.set_index("kind").loc["quadratic", "break_even_lr"])
    with pytest.raises(ValueError, match="`fits` must contain at least one ShapeFit"):
        tables.shape_table([])
    with pytest.raises(TypeError, match="`fits` must contain ShapeFit results"):
        tables.shape_table([results["summary"]])


def test_output_is_byte_identical_for_the_same_input(results):
    summary = results["summary"]
    copy = summary.to_frame().copy(deep=True)
    for function in (tables.to_latex, tables.to_markdown, tables.to_html, tables.to_csv):
        first = function(summary)
        assert function(summary) == first
        assert function(copy) == first
        assert first.encode("utf-8") == function(copy.copy()).encode("utf-8")


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda t: tables.to_latex(t, digits=0), ValueError, "`digits` must be an integer >= 1"),
        (lambda t: tables.to_markdown(t, digits=2.5), TypeError, "`digits` must be an integer"),
        (lambda t: tables.to_html(t, columns=["nope"]), ValueError, "`columns` must name columns"),
        (lambda t: tables.to_csv(t, columns="lr"), TypeError, "`columns` must be a list"),
        (
            lambda t: tables.to_latex(t, headers={"nope": "x"}),
            ValueError,
            "`headers` must name columns",
        ),
        (
            lambda t: tables.to_latex(t, headers={"lr": 1}),
            TypeError,
            "`headers` must map column names",
        ),
        (lambda t: tables.to_latex(t, caption=1), TypeError, "`caption` must be a str"),
        (lambda t: tables.to_latex(t, index="yes"), TypeError, "`index` must be a bool"),
        (lambda t: tables.to_markdown(3), TypeError, "an object of type int"),
        (lambda t: tables.to_markdown([]), ValueError, "must not be an empty sequence"),
        (lambda t: tables.to_html(t, classes=None), TypeError, "`classes` must be a str"),
    ],
)
def test_validation(table, call, error, match):
    with pytest.raises(error, match=match):
        call(table)


def test_index_option(table):
    indexed = table.set_index("rule")
    text = tables.to_markdown(indexed, index=True)
    assert text.splitlines()[0].split("|")[1].strip() == "rule"
