"""write_report and ``lrstats report``: files, content tied to the inference results, determinism,
a self-contained HTML page. The report renders an Analysis (lrstats.analyse) and computes nothing."""

from __future__ import annotations

import base64
import re
import time
import warnings
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

import lrstats
from lrstats import inference
from lrstats.cli import main
from lrstats.inference import DEFAULT_RULES, DEFAULT_SHAPES, analyse
from lrstats.io import load_results, load_tables, read_provenance, save_results
from lrstats.presentation.report import write_report
from lrstats.simulate import simulate_frame, simulate_sweep

_RENDER = ("formats", "dpi", "title", "bundle")


def report(frame, out, **kwargs):
    """analyse then write_report: analysis options to the one, rendering options to the other."""
    render = {k: kwargs.pop(k) for k in _RENDER if k in kwargs}
    return write_report(analyse(frame, **kwargs), out, **render)


FIGURES = [
    "delta_curve",
    "distribution",
    "p_decrease",
    "shape",
    "selection",
    "comparison",
    "utest",
]
TABLES = ["summary", "selection", "shape", "comparison", "utest"]
N_RESAMPLES = 300


@pytest.fixture(scope="module")
def report_frame():
    frame = simulate_frame(
        np.logspace(-4, -1, 21), 40, optimum_lr=0.01, diverge_above=0.05, rng=20261123
    )
    frame.attrs.update(
        {
            "seed": 99,
            "sampler": "lrstats.simulate",
            "optimizer_config": {"name": "SGD", "momentum": 0.9},
        }
    )
    return frame


@pytest.fixture(scope="module")
def reports(report_frame, tmp_path_factory):
    """The same frame and seed twice, and once with another seed."""
    root = tmp_path_factory.mktemp("reports")
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        first = report(report_frame, root / "a", rng=7, n_resamples=N_RESAMPLES)
        second = report(report_frame, root / "b", rng=7, n_resamples=N_RESAMPLES)
        other = report(report_frame, root / "c", rng=8, n_resamples=N_RESAMPLES)
    return {"a": first, "b": second, "c": other, "escaped": escaped}


def test_files_written(reports):
    index = reports["a"]
    out = index.parent
    assert index.name == "index.html" and index.is_file()
    assert (out / "index.md").is_file()
    for name in FIGURES:
        for suffix in ("png", "svg"):
            assert (out / "figures" / f"{name}.{suffix}").stat().st_size > 1000
        assert not (out / "figures" / f"{name}.pdf").exists()
    for name in TABLES:
        for suffix in ("csv", "md", "tex"):
            assert (out / "tables" / f"{name}.{suffix}").stat().st_size > 0
    assert (out / "figures" / "delta_curve.png").read_bytes().startswith(b"\x89PNG")


def test_report_prints_nothing_and_lets_no_warning_escape(report_frame, tmp_path, capsys):
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        report(report_frame, tmp_path / "r", n_resamples=50)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert escaped == []


@pytest.mark.parametrize("suffix", ["csv", "md", "tex"])
def test_same_frame_and_seed_give_byte_identical_tables(reports, suffix):
    a, b = reports["a"].parent, reports["b"].parent
    for name in TABLES:
        assert (a / "tables" / f"{name}.{suffix}").read_bytes() == (
            b / "tables" / f"{name}.{suffix}"
        ).read_bytes()


def test_same_frame_and_seed_give_identical_pages_and_figures(reports):
    a, b = reports["a"].parent, reports["b"].parent
    assert (a / "index.md").read_bytes() == (b / "index.md").read_bytes()
    assert (a / "index.html").read_bytes() == (b / "index.html").read_bytes()
    for name in FIGURES:
        for suffix in ("png", "svg"):
            path = f"figures/{name}.{suffix}"
            assert (a / path).read_bytes() == (b / path).read_bytes(), path


def test_seed_changes_only_the_resampled_numbers(reports):
    a, c = reports["a"].parent, reports["c"].parent
    first = pd.read_csv(a / "tables" / "summary.csv")
    other = pd.read_csv(c / "tables" / "summary.csv")
    t_columns = ["lr", "n", "mean", "sd", "ci_low", "ci_high", "p_decrease"]
    pd.testing.assert_frame_equal(first[t_columns], other[t_columns], check_exact=True)
    assert not first["bca_ci_low"].equals(other["bca_ci_low"])


def test_tables_hold_the_inference_results(reports, report_frame):
    out = reports["a"].parent
    summary = inference.summarize(report_frame)
    table = pd.read_csv(out / "tables" / "summary.csv")
    for column in summary.table.columns:
        np.testing.assert_array_equal(table[column].to_numpy(), summary.table[column].to_numpy())
    assert {"bca_ci_low", "bca_ci_high"} <= set(table.columns)
    finite = table["bca_ci_low"].notna()
    assert (table.loc[finite, "bca_ci_low"] <= table.loc[finite, "mean"]).all()
    selection = pd.read_csv(out / "tables" / "selection.csv")
    assert selection["rule"].tolist() == list(DEFAULT_RULES)
    assert (selection["n_resamples"] == N_RESAMPLES).all()
    shape = pd.read_csv(out / "tables" / "shape.csv")
    assert shape["kind"].tolist() == list(DEFAULT_SHAPES)
    comparison = pd.read_csv(out / "tables" / "comparison.csv")
    expected = inference.compare_to_best(report_frame).table
    np.testing.assert_array_equal(comparison["diff"].to_numpy(), expected["diff"].to_numpy())
    # The LaTeX and Markdown show a display subset of the columns, rounded.
    tex = (out / "tables" / "summary.tex").read_text()
    assert "\\toprule" in tex and "\\caption{" in tex and "\\label{tab:lrstats-summary}" in tex
    md = (out / "tables" / "summary.md").read_text()
    assert len(md.splitlines()) == len(table) + 2


def test_report_writes_no_data_bundle(reports):
    # the bundle is written once, by save_results (the CLI does it beside the report)
    assert not list(reports["a"].parent.rglob("*.parquet"))


def test_results_bundle_round_trips(report_frame, tmp_path):
    analysis = analyse(report_frame, rng=7, n_resamples=N_RESAMPLES)
    path = save_results(report_frame, tmp_path / "results.parquet", results=analysis.results,
                        command="test")  # fmt: skip
    loaded = load_results(path)
    pd.testing.assert_frame_equal(loaded, report_frame, check_exact=True)
    assert loaded.attrs == report_frame.attrs
    stored = load_tables(path)
    assert {"summary", "summary_bca", "comparison", "utest"} <= set(stored)
    assert {f"selection_{rule}" for rule in DEFAULT_RULES} <= set(stored)
    pd.testing.assert_frame_equal(stored["comparison"], analysis["comparison"].to_frame())
    saved = read_provenance(path)
    assert saved["saved"]["command"] == "test"
    fields = saved["results"]["selection_ucb"]["fields"]
    assert fields["rule"] == "ucb" and fields["n_dropped"] == 0 and fields["goal"] == "minimize"


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_html_is_self_contained(reports):
    text = reports["a"].read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    images = [attrs for tag, attrs in page.tags if tag == "img"]
    assert len(images) == len(FIGURES)
    for attrs in images:
        src = attrs["src"]
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG")
        assert attrs["alt"]
    for tag, attrs in page.tags:
        assert "src" not in attrs or attrs["src"].startswith("data:"), (tag, attrs)
        assert not (tag == "link" and attrs.get("rel") == "stylesheet")
        assert tag != "script"
    assert not re.search(r"https?://", text)
    # Links only to the report's own files.
    hrefs = [attrs["href"] for tag, attrs in page.tags if tag == "a"]
    assert hrefs and all((reports["a"].parent / href).is_file() for href in hrefs)
    assert sum(1 for tag, attrs in page.tags if tag == "table") == len(TABLES)


def test_html_lists_provenance_and_settings(reports, report_frame):
    text = reports["a"].read_text(encoding="utf-8")
    for key in (
        "seed",
        "sampler",
        "optimizer_config.name",
        "optimizer_config.momentum",
        "truth.optimum_lr",
    ):
        assert f"<dt>{key}</dt>" in text
    assert "<dd>lrstats.simulate</dd>" in text
    assert "<dt>bootstrap resamples</dt><dd>300</dd>" in text
    assert "<dt>seed</dt><dd>7</dd>" in text
    assert f"{N_RESAMPLES} replicate resamples" in text
    assert "Divergence (non-finite loss) at 3 lr(s), from 0.0501 up." in text


def test_warnings_are_listed_and_a_rule_without_selection_is_drawn(tmp_path):
    # 10 replicates are too few for max_safe (q = 0.9 at 95 % needs 25): it selects nothing.
    frame = simulate_frame(np.logspace(-4, -1, 8), 10, optimum_lr=0.01, rng=0)
    index = report(frame, tmp_path / "r", n_resamples=50)
    text = index.read_text(encoding="utf-8")
    assert "<h2>Warnings</h2>" in text
    assert (
        "select_lr (max_safe): NoSelectionWarning: No lr satisfies rule &#x27;max_safe&#x27;"
        in text
    )
    selection = pd.read_csv(index.parent / "tables" / "selection.csv").set_index("rule")
    assert np.isnan(selection.loc["max_safe", "lr"])
    assert "<li>Rule max_safe: no learning rate qualifies.</li>" in text
    assert "## Warnings" in (index.parent / "index.md").read_text(encoding="utf-8")


def test_markdown_index(reports):
    out = reports["a"].parent
    text = (out / "index.md").read_text(encoding="utf-8")
    assert text.startswith("# lrstats report\n")
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert linked == [f"figures/{name}.png" for name in FIGURES]
    assert all((out / path).is_file() for path in linked)
    for name in TABLES:
        assert (out / "tables" / f"{name}.md").read_text() in text
    assert "- seed: `99`" in text


def test_pdf_and_options(report_frame, tmp_path):
    index = report(
        report_frame,
        tmp_path / "r",
        n_resamples=50,
        rules=["ucb"],
        shapes=["local"],
        formats=["pdf"],
        title="My run",
    )
    out = index.parent
    assert (out / "figures" / "delta_curve.pdf").read_bytes().startswith(b"%PDF")
    assert not (out / "figures" / "delta_curve.png").exists()
    assert pd.read_csv(out / "tables" / "selection.csv")["rule"].tolist() == ["ucb"]
    assert pd.read_csv(out / "tables" / "shape.csv")["kind"].tolist() == ["local"]
    text = index.read_text(encoding="utf-8")
    assert "<title>My run</title>" in text
    assert text.count("<img ") == len(FIGURES)  # the page still embeds PNGs


def test_unavailable_analyses_are_listed_not_fatal(tmp_path):
    # Two lrs: too few for shape fits and the U test; the rest of the report is written.
    frame = simulate_frame([0.001, 0.01], 10, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        index = report(frame, tmp_path / "r", n_resamples=50)
    text = index.read_text(encoding="utf-8")
    assert "Not available: u_test" in text
    assert (index.parent / "figures" / "delta_curve.png").is_file()
    assert not (index.parent / "figures" / "utest.png").exists()


def test_frames_without_provenance_and_other_responses(tmp_path):
    frame = simulate_frame(np.logspace(-3, -1, 8), 10, rng=0)
    frame.attrs = {}
    index = report(frame, tmp_path / "r", n_resamples=50, response="relative")
    text = index.read_text(encoding="utf-8")
    assert "The frame carries no provenance" in text
    assert "<dt>response</dt><dd>relative</dd>" in text


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"rules": ["nope"]}, ValueError, "`rules` must contain only 'mean'"),
        ({"rules": "ucb"}, TypeError, "`rules` must be a list of names"),
        ({"shapes": ["cubic"]}, ValueError, "`shapes` must contain only"),
        ({"formats": ["jpg"]}, ValueError, "`formats` must contain only 'png', 'svg', 'pdf'"),
        ({"formats": ["png", "png"]}, ValueError, "`formats` must not repeat names"),
        ({"n_resamples": 0}, ValueError, "`n_resamples` must be an integer >= 1"),
        ({"confidence_level": 1.5}, ValueError, "`confidence_level` must be a finite number"),
        ({"dpi": -1}, ValueError, "`dpi` must be a finite number"),
        ({"response": "val_loss"}, ValueError, "`response` must be one of"),
        ({"rng": "seed"}, TypeError, "`rng` must be None, an int"),
        ({"title": 3}, TypeError, "`title` must be a str or None"),
        ({"bundle": 3}, TypeError, "`bundle` must be a str or None"),
        ({"goal": "max"}, ValueError, "`goal` must be one of 'minimize', 'maximize'"),
        ({"at": 1.5}, TypeError, "`at` must be 'final', 'best' or an integer step"),
        ({"by": "optimizer"}, ValueError, r"`by` must name columns of the frame"),
    ],
)
def test_validation_before_writing(report_frame, tmp_path, kwargs, error, match):
    out = tmp_path / "never"
    with pytest.raises(error, match=match):
        report(report_frame, out, **kwargs)
    assert not out.exists()


def test_type_validation(report_frame, tmp_path):
    with pytest.raises(TypeError, match="`frame` must be a pandas DataFrame"):
        analyse({"lr": [1]})
    analysis = analyse(report_frame, n_resamples=20, rules=["mean"], shapes=[], rng=0)
    with pytest.raises(TypeError, match="`out_dir` must be a str or path-like"):
        write_report(analysis, 3)
    with pytest.raises(TypeError, match=r"`analysis` must be an Analysis from `lrstats.analyse"):
        write_report(report_frame, tmp_path / "r")


def test_top_level_name():
    assert lrstats.write_report is write_report


@pytest.mark.slow
def test_report_of_41_lrs_by_200_replicates_is_fast(tmp_path):
    frame = simulate_frame(lrstats.log_grid(1e-4, 1e-1, 41), 200, diverge_above=0.05, rng=1)
    report(frame, tmp_path / "warm", n_resamples=50)  # imports, font cache
    start = time.perf_counter()
    report(frame, tmp_path / "r", rng=0)
    elapsed = time.perf_counter() - start
    assert elapsed < 20, f"report took {elapsed:.1f} s"


# --------------------------------------------------------------------------------------------
# lrstats report
# --------------------------------------------------------------------------------------------
def test_cli_report(report_frame, reports, tmp_path, capsys):
    source = save_results(report_frame, tmp_path / "run.parquet")
    code = main(["report", str(source), "--seed", "7", "--n-resamples", str(N_RESAMPLES), "--pdf"])
    captured = capsys.readouterr()
    assert code == 0
    out = tmp_path / "run-report"  # the default: next to the frame
    lines = captured.out.splitlines()
    assert lines[-1] == str(out / "index.html")  # the path last, the analysis before it
    analysis = analyse(report_frame, rng=7, n_resamples=N_RESAMPLES)
    assert analysis.summary() in captured.out
    # Same frame, seed and resamples as analyse(..., rng=7): identical tables.
    direct = reports["a"].parent
    for name in TABLES:
        for suffix in ("csv", "md", "tex"):
            path = f"tables/{name}.{suffix}"
            assert (out / path).read_bytes() == (direct / path).read_bytes()
    assert (out / "figures" / "shape.pdf").read_bytes().startswith(b"%PDF")
    command = read_provenance(out / "results.parquet")["saved"]["command"]
    assert command.startswith("lrstats ")
    # the one bundle: the frame and the analysis' results, linked from the index
    pd.testing.assert_frame_equal(load_results(out / "results.parquet"), report_frame)
    stored = load_tables(out / "results.parquet")
    pd.testing.assert_frame_equal(stored["summary_bca"], analysis["summary_bca"].to_frame())
    assert 'href="results.parquet"' in (out / "index.html").read_text(encoding="utf-8")
    assert len(list(out.rglob("*.parquet"))) == 1


def test_cli_report_out_option(report_frame, tmp_path, capsys):
    source = save_results(report_frame.iloc[: 21 * 5], tmp_path / "small.parquet")
    assert (
        main(["report", str(source), "--out", str(tmp_path / "here"), "--n-resamples", "20"]) == 0
    )
    assert capsys.readouterr().out.splitlines()[-1] == str(tmp_path / "here" / "index.html")
    assert (tmp_path / "here" / "index.html").is_file()


def test_cli_report_errors(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing.parquet")]) == 1
    assert "lrstats report: error: `path` does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.parquet"
    pd.DataFrame({"x": [1.0]}).to_parquet(bad)
    assert main(["report", str(bad)]) == 1
    assert "must have columns 'lr' and 'replicate'" in capsys.readouterr().err


def test_cli_report_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    for option in (
        "--out",
        "--seed",
        "--n-resamples",
        "--confidence-level",
        "--response",
        "--goal",
        "--at",
        "--by",
        "--pdf",
    ):
        assert option in help_text


def test_headline_matches_the_comparison_and_the_utest(reports, report_frame):
    text = (reports["a"].parent / "index.md").read_text(encoding="utf-8")
    results = text.split("## Results", 1)[1].split("\n## ", 1)[0]
    comparison = inference.compare_to_best(report_frame, n_resamples=N_RESAMPLES)
    others = [v for v in comparison.indistinguishable_lrs if v != comparison.best_lr]
    line = next(x for x in results.splitlines() if x.startswith("- Best mean at lr"))
    if others:
        assert "not distinguishable from it (Holm)" in line
        assert line.count(",") == len(others) - 1
    else:
        assert line.endswith("every other lr is significantly worse (Holm).")
    utest = inference.u_test(report_frame)
    verdict = "a U shape over the grid" if utest.pvalue < 0.05 else "no evidence of a U shape"
    assert f": {verdict} at the 5% level." in results
    # the default shape fits leave out the quadratic, biased on ΔL curves
    assert DEFAULT_SHAPES == ("unimodal", "local")
    assert "Quadratic fit" not in results
    assert "Unimodal fit: optimum lr" in results and "Local fit: optimum lr" in results


def test_the_same_analysis_draws_the_same_report(report_frame, reports, tmp_path):
    analysis = analyse(report_frame, rng=7, n_resamples=N_RESAMPLES)
    index = write_report(analysis, tmp_path / "r")
    for name in TABLES:
        for suffix in ("csv", "md", "tex"):
            expected = (reports["a"].parent / "tables" / f"{name}.{suffix}").read_bytes()
            assert (index.parent / "tables" / f"{name}.{suffix}").read_bytes() == expected
    # the jitter comes from a seed, not a consumed generator: drawing twice is identical
    again = write_report(analysis, tmp_path / "s")
    for figure in ("distribution", "delta_curve"):
        assert (index.parent / "figures" / f"{figure}.png").read_bytes() == (
            again.parent / "figures" / f"{figure}.png"
        ).read_bytes()


def test_write_report_computes_nothing(report_frame, tmp_path, monkeypatch):
    analysis = analyse(report_frame, rng=7, n_resamples=50)
    import lrstats.inference.analysis as analysis_module

    def refuse(*args, **kwargs):
        raise AssertionError("the report called an inference function")

    for name in ("summarize", "compare_to_best", "select_lr", "fit_shape", "u_test"):
        monkeypatch.setattr(inference, name, refuse)
        monkeypatch.setattr(analysis_module, name, refuse)
    write_report(analysis, tmp_path / "r")


def test_sweep_report_computes_nothing(tmp_path, monkeypatch):
    frame = simulate_sweep(replicates=4, epochs=2, batch_sizes=[32, 128], rng=5)
    analysis = analyse(frame, response="val_loss", by="batch_size", n_resamples=30, rng=1)
    import lrstats.inference.analysis as analysis_module

    def refuse(*args, **kwargs):
        raise AssertionError("the report called an inference function")

    for name in ("summarize", "compare_to_best", "compare_levels", "select_lr", "fit_shape"):
        monkeypatch.setattr(inference, name, refuse)
        monkeypatch.setattr(analysis_module, name, refuse, raising=False)
    monkeypatch.setattr(analysis_module, "u_test", refuse)
    index = write_report(analysis, tmp_path / "r", formats=["png"])
    figures = {p.stem for p in (index.parent / "figures").glob("*.png")}
    assert {"level_comparison", "best_lr_by_batch_size"} <= figures


# --------------------------------------------------------------------------------------------
# Long frames: a sweep with an epoch index and a val_loss column, factor levels
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory):
    frame = simulate_sweep(replicates=5, epochs=4, rng=3)
    return save_results(frame, tmp_path_factory.mktemp("sweep") / "sweep.parquet"), frame


def test_cli_report_of_a_val_loss_sweep(sweep_file, tmp_path, capsys):
    source, frame = sweep_file
    out = tmp_path / "sweep-report"
    code = main(["report", str(source), "--response", "val_loss", "--n-resamples", "50",
                 "--out", str(out)])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Mean val_loss per learning rate (goal: minimize, at: final)" in captured.out
    figures = {p.stem for p in (out / "figures").glob("*.png")}
    # no ΔL-only figure: no probability of decrease, and the curve is not called ΔL
    assert figures == {"curve", "distribution", "shape", "selection", "comparison", "utest"}
    summary = pd.read_csv(out / "tables" / "summary.csv")
    assert "p_decrease" not in summary.columns
    final = frame[frame.epoch == frame.epoch.max()].groupby("lr")["val_loss"].mean()
    np.testing.assert_allclose(summary["mean"], final.to_numpy(), rtol=1e-12)
    selection = pd.read_csv(out / "tables" / "selection.csv")
    assert "max_safe" not in selection["rule"].tolist()  # a sign rule: loss changes only
    text = (out / "index.html").read_text(encoding="utf-8")
    assert "Mean val_loss per learning rate" in text and "\u0394L" not in text
    shape = pd.read_csv(out / "tables" / "shape.csv")
    assert shape["kind"].tolist() == ["unimodal", "quadratic"]


def test_sweep_figures_are_labelled_with_the_response_and_have_no_zero_line(sweep_file):
    import matplotlib.pyplot as plt

    from lrstats.presentation import plots

    _, frame = sweep_file
    analysis = analyse(frame, response="val_loss", n_resamples=20, rng=0)
    fig, ax = plt.subplots()
    try:
        plots.plot_summary(analysis["summary"], ax)
        assert ax.get_ylabel() == "mean val_loss"
        assert not [line for line in ax.get_lines() if line.get_gid() == "zero"]
        low, high = ax.get_ylim()
        table = analysis["summary"].table
        assert low <= table["ci_low"].min() and high >= table["ci_high"].max()
        assert low > 0  # scaled to the response's range, not to zero
        with pytest.raises(ValueError, match="probability of decrease"):
            plots.plot_p_decrease(analysis["summary"], ax)
    finally:
        plt.close("all")


def test_report_by_level_draws_every_level(tmp_path):
    frame = simulate_sweep(replicates=4, epochs=3, batch_sizes=[32, 128], rng=5)
    analysis = analyse(
        frame, response="accuracy", goal="maximize", by="batch_size", n_resamples=30, rng=1
    )
    index = write_report(analysis, tmp_path / "r", formats=["png"])
    figures = {p.stem for p in (index.parent / "figures").glob("*.png")}
    assert {"curve-batch_size=32", "curve-batch_size=128"} <= figures
    selection = pd.read_csv(index.parent / "tables" / "selection.csv")
    assert selection.columns[0] == "batch_size"
    assert sorted(set(selection["batch_size"])) == [32, 128]
    text = (index.parent / "index.md").read_text(encoding="utf-8")
    assert "[batch_size = 128] Best mean at lr" in text
    # Across the levels: the paired comparison of batch sizes and the best-lr figure.
    assert {"level_comparison", "best_lr_by_batch_size"} <= figures
    levels = pd.read_csv(index.parent / "tables" / "level_comparison.csv")
    pd.testing.assert_frame_equal(
        levels, analysis["level_comparison"].to_frame(), check_dtype=False, rtol=1e-12
    )
    assert "batch_size = 128 against 32:" in text


def test_best_lr_by_batch_size_figure_draws_the_per_level_selections():
    import matplotlib.pyplot as plt

    from lrstats.presentation.report._content import report_figures

    frame = simulate_sweep(replicates=4, epochs=2, batch_sizes=[32, 64, 256], rng=11)
    analysis = analyse(
        frame, response="val_loss", by="batch_size", rules=["ucb", "mean"], n_resamples=30, rng=2
    )
    specs = {figure.name: (figure, draw) for figure, draw, _ in report_figures(analysis)}
    figure, draw = specs["best_lr_by_batch_size"]
    assert "ucb rule" in figure.caption  # the first rule asked for
    fig, ax = plt.subplots()
    try:
        draw(ax)
        (points,) = [line for line in ax.get_lines() if line.get_gid() == "best_lr"]
        table = analysis["selection_ucb"].to_frame()
        np.testing.assert_array_equal(points.get_xdata(), table["batch_size"])
        np.testing.assert_array_equal(points.get_ydata(), table["lr"])
    finally:
        plt.close("all")
    # Another factor gets the level comparison but not the batch-size figure.
    other = simulate_sweep(replicates=4, epochs=2, batch_sizes=[32, 64], rng=11).rename(
        columns={"batch_size": "momentum"}
    )
    names = {f.name for f, _, _ in report_figures(analyse(other, response="val_loss",
                                                          by="momentum", n_resamples=20))}  # fmt: skip
    assert "level_comparison" in names and "best_lr_by_batch_size" not in names


def test_schedule_report_tables_and_headline(tmp_path):
    frame = simulate_sweep(replicates=5, epochs=3, rng=4)
    # Three "schedules" of the same sweep plus noise (sd 0.005), the last one 0.05 lower.
    noise = np.random.default_rng(40).normal(scale=0.005, size=(3, len(frame)))
    schedules = pd.concat(
        [
            frame.assign(schedule=name, val_loss=frame["val_loss"] - shift + noise[i])
            for i, (name, shift) in enumerate(
                (("constant", 0.0), ("time_decay", 0.0), ("one_cycle", 0.05))
            )
        ],
        ignore_index=True,
    )
    schedules.attrs["factors"] = {"schedule": ["constant", "time_decay", "one_cycle"]}
    analysis = analyse(schedules, response="val_loss", by="schedule", n_resamples=20, rng=0)
    comparison = analysis["level_comparison"]
    assert comparison.baseline == "constant"
    assert comparison.table.loc[comparison.table.schedule == "one_cycle", "better"].all()
    index = write_report(analysis, tmp_path / "r", formats=["png"])
    text = (index.parent / "index.md").read_text(encoding="utf-8")
    assert "schedule = one_cycle against constant: lower val_loss at lr" in text
    assert "schedule = time_decay against constant: not lower at any lr" in text
    assert "Paired differences of the schedule levels" in text
    assert not (index.parent / "figures" / "best_lr_by_batch_size.png").exists()
