"""The command line: dispatch, the demo on the embedded data, and sampling a saved model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lrstats.cli import build_parser, main

SMALL = [
    "--replicates",
    "6",
    "--num-lrs",
    "5",
    "--batch-size",
    "16",
    "--n-resamples",
    "200",
    "--no-progress",
]


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    for command in ("demo", "sample", "report"):
        assert command in text


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: lrstats" in capsys.readouterr().out


def test_demo_parser_defaults():
    args = build_parser().parse_args(["demo"])
    assert (args.replicates, args.batch_size, args.num_lrs, args.seed) == (200, 64, 41, 0)
    assert (args.lr_min, args.lr_max) == (1e-4, 1.0)


def test_randhie_is_standardized():
    from lrstats.datasets import load_randhie

    data = load_randhie()
    assert data.x.shape == (20190, 9) and data.y.shape == (20190, 1)
    assert data.x.dtype == np.float32
    np.testing.assert_allclose(data.x.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(data.x.std(axis=0), 1.0, atol=1e-4)
    raw = load_randhie(standardize=False)
    assert raw.y.min() == 0.0  # log1p(0 visits)


@pytest.fixture(scope="module")
def keras_module():
    pytest.importorskip("tensorflow")
    import keras

    return keras


def test_demo_prints_summary_and_selections_and_writes_the_frame(keras_module, tmp_path, capsys):
    from lrstats.io import load_results, load_tables

    out = tmp_path / "demo"
    assert main(["demo", *SMALL, "--out", str(out), "--no-report", "--no-recommend"]) == 0
    text = capsys.readouterr().out
    assert "ΔL = post − pre" in text and "95% BCa interval" in text
    assert "Lowest mean ΔL: lr =" in text
    for rule in ("mean", "ucb", "one_se", "penalized", "max_safe"):
        assert f"  {rule} " in text
    assert "max_safe   no learning rate qualifies" in text  # 6 replicates cannot show q >= 0.9
    frame = load_results(out / "frame.parquet")
    assert list(frame.columns) == ["lr", "replicate", "pre", "post"]
    assert len(frame) == 6 * 5
    assert frame.attrs["seed"] == 0 and frame.attrs["batch_size"] == 16
    assert "RAND" in frame.attrs["dataset"]
    tables = load_tables(out / "frame.parquet")
    assert "summary" in tables
    # the printed lowest-mean lr is the argmin of the stored t summary
    summary = tables["summary"]
    best = summary.loc[summary["mean"].idxmin(), "lr"]
    assert f"Lowest mean ΔL: lr = {best:.4g}" in text


def test_demo_is_reproducible(keras_module, tmp_path, capsys):
    from lrstats.io import load_results

    for name in ("a", "b"):
        assert (
            main(
                [
                    "demo",
                    *SMALL,
                    "--seed",
                    "3",
                    "--out",
                    str(tmp_path / name),
                    "--no-report",
                    "--no-recommend",
                ]
            )  # fmt: skip
            == 0
        )
    capsys.readouterr()
    a = load_results(tmp_path / "a" / "frame.parquet")
    b = load_results(tmp_path / "b" / "frame.parquet")
    pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.fixture(scope="module")
def saved_model_and_data(keras_module, tmp_path_factory):
    from lrstats.keras.models import demo_model

    folder = tmp_path_factory.mktemp("sample")
    rng = np.random.default_rng(11)
    x = rng.standard_normal((300, 4)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0], dtype=np.float32))[:, None]
    model = demo_model(4, hidden=(8,), seed=2)
    model.optimizer.build(model.trainable_variables)
    model_path = folder / "model.keras"
    model.save(model_path)
    np.savez(folder / "data.npz", x=x, y=y)
    table = pd.DataFrame(x, columns=["a", "b", "c", "d"]).assign(target=y[:, 0])
    table.to_csv(folder / "data.csv", index=False)
    table.to_parquet(folder / "data.parquet")
    return folder, model, x, y


@pytest.mark.parametrize("suffix", ["npz", "csv", "parquet"])
def test_sample_command_matches_the_python_api(saved_model_and_data, suffix, capsys):
    import lrstats
    from lrstats.io import load_results
    from lrstats.keras import sample_deltas

    folder, model, x, y = saved_model_and_data
    out = folder / f"out-{suffix}"
    argv = [
        "sample",
        str(folder / "model.keras"),
        str(folder / f"data.{suffix}"),
        *SMALL,
        "--out",
        str(out),
    ]
    if suffix != "npz":
        argv += ["--target", "target"]
    assert main(argv) == 0
    assert "Selected learning rates" in capsys.readouterr().out
    got = load_results(out / "frame.parquet")
    expected = sample_deltas(
        model,
        x,
        y,
        lrs=lrstats.log_grid(1e-4, 1.0, 5),
        replicates=6,
        batch_size=16,
        seed=0,
        progress=False,
    )
    pd.testing.assert_frame_equal(got[["lr", "replicate", "pre", "post"]], expected, rtol=1e-6)
    assert got.attrs["data_file"].endswith(suffix)


def test_sample_command_rejects_a_missing_target(saved_model_and_data):
    folder, *_ = saved_model_and_data
    with pytest.raises(ValueError, match="`--target` must name a column"):
        main(["sample", str(folder / "model.keras"), str(folder / "data.csv"), *SMALL])


def test_sample_command_rejects_an_unknown_file_type(saved_model_and_data, tmp_path):
    folder, *_ = saved_model_and_data
    path = tmp_path / "data.txt"
    path.write_text("1,2\n")
    with pytest.raises(ValueError, match="`data` must be a .npz, .csv or .parquet file"):
        main(["sample", str(folder / "model.keras"), str(path), *SMALL])


def test_demo_prints_what_its_report_shows(keras_module, tmp_path, capsys):
    # one analysis serves the printout, frame.parquet and the report
    out = tmp_path / "demo-report"
    # a large batch keeps the recommendation's epochs short (32 steps)
    args = ["demo", *SMALL, "--replicates", "30", "--batch-size", "512", "--out", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    selection = pd.read_csv(out / "report" / "tables" / "selection.csv")
    for row in selection.itertuples():
        if np.isfinite(row.lr):
            assert (
                f"  {row.rule:<10} lr = {row.lr:<10.4g} [{row.ci_low:.4g}, {row.ci_high:.4g}]"
                in text
            )
        else:
            assert f"  {row.rule:<10} no learning rate qualifies" in text
    from lrstats.io import load_tables

    stored = load_tables(out / "frame.parquet")["selection_ucb"]
    assert stored["lr"].iloc[0] == selection.set_index("rule").loc["ucb", "lr"]
    # the recommendation printed is the one the report shows (headline, table, figure)
    rounds = pd.read_csv(out / "report" / "tables" / "recommendation.csv")
    index = (out / "report" / "index.md").read_text()
    line = next(s for s in index.splitlines() if s.startswith("- Recommendation"))
    lr = float(line.split("lr = ")[1].split(",")[0])
    assert f"Recommended lr to train 10 epochs with: lr = {lr:.3g}" in text
    assert set(rounds["lr"]) <= {float(10.0 ** (e / 2)) for e in range(-10, 1)}
    assert (out / "report" / "figures" / "recommendation.png").exists()
