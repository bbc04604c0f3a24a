"""The report's range-test and diagnosis sections: drawn from the analysis, computing nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd

import lrstats
from lrstats import inference
from lrstats.inference.range_test import smooth_losses
from lrstats.io import load_tables, save_results
from lrstats.presentation.report._render import fmt


def _range_frame():
    rng = np.random.default_rng(3)
    lrs = np.geomspace(1e-5, 1.0, 60)
    rows = []
    for r in range(4):
        loss = 2.0 - np.tanh(np.log10(lrs) + 3.0 + 0.3 * rng.normal()) + 5.0 * (lrs > 0.3)
        rows.append(
            pd.DataFrame(
                {"replicate": r, "step": range(60), "lr": lrs, "loss": loss,
                 "smoothed_loss": smooth_losses(loss, 0.9)}
            )
        )  # fmt: skip
    frame = pd.concat(rows, ignore_index=True)
    frame.attrs.update({"num_steps": 60, "smoothing": 0.9, "replicates": 4})
    return frame


def test_range_test_report_shows_the_analysis(tmp_path, monkeypatch):
    analysis = lrstats.analyse(_range_frame(), n_resamples=200, rng=0)
    import lrstats.inference.analysis as analysis_module

    def refuse(*args, **kwargs):
        raise AssertionError("the report called an inference function")

    for name in ("analyse_range_test", "diagnose"):
        monkeypatch.setattr(inference, name, refuse)
        monkeypatch.setattr(analysis_module, name, refuse)
    index = lrstats.write_report(analysis, tmp_path / "r")
    out = index.parent
    assert {p.name for p in (out / "figures").iterdir()} == {"range_test.png", "range_test.svg"}
    assert {p.stem for p in (out / "tables").glob("*.csv")} == {
        "range_test",
        "range_test_replicates",
    }
    table = pd.read_csv(out / "tables" / "range_test.csv")
    expected = analysis["range_test"].to_frame()
    np.testing.assert_allclose(
        table[["lr", "ci_low", "ci_high"]], expected[["lr", "ci_low", "ci_high"]]
    )
    html = index.read_text()
    md = (out / "index.md").read_text()
    assert html.count("data:image/png;base64,") == 1 and "LR range-test suggestions" in html
    suggestions = analysis["range_test"].suggestions
    for name in ("steep", "minimum", "valley"):
        assert f"Range test, {name}: lr = {fmt(suggestions.loc[name, 'lr'])}" in md
    assert "- experiment: `range test`" in md and "- replicates: `4`" in md
    assert "smoothing = 0.9" in md


def test_diagnosis_report_and_bundle(tmp_path):
    epochs = np.arange(20)
    history = pd.DataFrame({"epoch": epochs, "loss": 1.0 - 0.002 * epochs})
    analysis = lrstats.analyse(history)
    index = lrstats.write_report(analysis, tmp_path / "r")
    out = index.parent
    assert {p.stem for p in (out / "figures").glob("*.png")} == {"diagnosis"}
    verdicts = pd.read_csv(out / "tables" / "diagnosis.csv")
    assert list(verdicts.loc[verdicts["holds"], "verdict"]) == ["too_slow"]
    md = (out / "index.md").read_text()
    assert "Diagnosis: too_slow." in md and "raise the learning rate" in md
    assert "learning rates" not in md  # a history has no lr column
    assert "- experiment: `training curve`" in md and "replicate resamples" not in md
    path = save_results(history, tmp_path / "history.parquet", results=analysis.results)
    pd.testing.assert_frame_equal(
        load_tables(path)["diagnosis"], analysis["diagnosis"].to_frame(), check_dtype=False
    )
