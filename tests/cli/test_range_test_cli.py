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
def test_demo_prints_suggestions_and_writes_frame_figure_and_page(tmp_path, capsys):
    pytest.importorskip("tensorflow")
    from lrstats.io import load_results

    assert main(["range-test", *SMALL, "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    for name in ("steep", "minimum", "valley"):
        assert name in text
    frame = load_results(tmp_path / "range_test.parquet")
    assert list(frame.columns) == ["replicate", "step", "lr", "loss", "smoothed_loss"]
    assert frame.attrs["replicates"] == 2 and frame["replicate"].nunique() == 2
    assert (tmp_path / "range_test.png").stat().st_size > 1000
    assert "LR range test" in (tmp_path / "range_test.html").read_text()


def test_saved_model_and_csv_match_the_python_api(tmp_path, capsys):
    keras = pytest.importorskip("keras")
    from lrstats.io import load_results
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
    ).frame
    np.testing.assert_allclose(frame["loss"], expected["loss"], rtol=1e-6)


def test_model_without_data_is_refused():
    with pytest.raises(SystemExit, match="give both MODEL and DATA"):
        main(["range-test", "model.keras"])
