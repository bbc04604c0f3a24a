"""``lrstats range-test`` on the demo model and on a saved model with a CSV file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lrstats.cli import build_parser, main

SMALL = [
    "--num-steps",
    "12",
    "--start-lr",
    "1e-4",
    "--end-lr",
    "1",
    "--replicates",
    "2",
    "--batch-size",
    "16",
    "--n-resamples",
    "99",
]


def test_parser_defaults_follow_the_python_api():
    args = build_parser().parse_args(["range-test"])
    assert (args.start_lr, args.end_lr, args.num_steps, args.mode) == (1e-7, 10.0, 100, "exp")
    assert (args.smoothing, args.diverge_factor, args.model) == (0.98, 4.0, None)


@pytest.mark.slow
def test_demo_prints_suggestions_and_writes_bundle_and_report(tmp_path, capsys):
    pytest.importorskip("tensorflow")
    from lrstats.io import load_results

    assert main(["range-test", *SMALL, "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    for name in ("steep", "minimum", "valley"):
        assert name in text
    frame = load_results(tmp_path / "range_test.parquet")
    assert list(frame.columns) == ["replicate", "step", "lr", "loss", "smoothed_loss"]
    assert frame.attrs["replicates"] == 2 and frame["replicate"].nunique() == 2
    assert (tmp_path / "report" / "figures" / "range_test.png").stat().st_size > 1000
    assert "LR range test" in (tmp_path / "report" / "index.html").read_text()


def test_saved_model_and_csv_end_to_end(tmp_path, capsys):
    """range_test -> analyse -> print -> one bundle -> report, all showing the same numbers."""
    keras = pytest.importorskip("keras")
    import lrstats
    from lrstats.io import load_results, load_tables, read_provenance
    from lrstats.keras import range_test
    from lrstats.keras.models import demo_model

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]])).astype(np.float32)
    model = demo_model(3, hidden=(8,), seed=1)
    model.optimizer.build(model.trainable_variables)  # saved with its (zero) slots
    model.save(tmp_path / "model.keras")
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "t": y[:, 0]}).to_csv(
        tmp_path / "data.csv", index=False
    )
    out = tmp_path / "out"
    argv = [
        "range-test",
        str(tmp_path / "model.keras"),
        str(tmp_path / "data.csv"),
        "--target",
        "t",
        *SMALL,
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["range_test.parquet", "report"]

    # the frame is the Python API's, to float32 rounding
    frame = load_results(out / "range_test.parquet")
    expected = range_test(
        keras.saving.load_model(tmp_path / "model.keras"),
        x,
        y,
        start_lr=1e-4,
        end_lr=1.0,
        num_steps=12,
        replicates=2,
        batch_size=16,
        seed=0,
        n_resamples=99,
    )
    np.testing.assert_allclose(frame["loss"], expected.frame["loss"], rtol=1e-6)

    # the printed, stored and shown suggestions are one analysis: analyse(frame, rng=seed)
    analysis = lrstats.analyse(frame, n_resamples=99, rng=0)
    assert analysis.sections == ("range_test",)
    assert analysis.summary() in printed
    stored = load_tables(out / "range_test.parquet")
    assert list(stored) == ["range_test"]
    pd.testing.assert_frame_equal(stored["range_test"], analysis["range_test"].to_frame())
    provenance = read_provenance(out / "range_test.parquet")
    assert provenance["results"]["range_test"]["fields"]["n_resamples"] == 99
    # the medians do not depend on the bootstrap stream: the Python API gives the same
    np.testing.assert_allclose(
        stored["range_test"]["lr"], expected.suggestions["lr"].to_numpy(), rtol=1e-12
    )
    report = out / "report"
    assert (report / "figures" / "range_test.png").stat().st_size > 1000
    html = (report / "index.html").read_text()
    md = (report / "index.md").read_text()
    assert "range_test.parquet" in md  # the bundle is linked, not rewritten
    table = pd.read_csv(report / "tables" / "range_test.csv")
    np.testing.assert_allclose(table["lr"], stored["range_test"]["lr"], rtol=1e-12)
    for name in ("steep", "minimum", "valley"):
        assert name in html and name in md


def test_model_without_data_is_refused():
    with pytest.raises(SystemExit, match="give both MODEL and DATA"):
        main(["range-test", "model.keras"])
