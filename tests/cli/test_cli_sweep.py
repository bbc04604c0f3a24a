"""``lrstats sweep``: sweep → analyse → print → bundle → report, on a tiny grid, resumed from
its store, and with several batch sizes (analysed per batch size)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from lrstats.cli import build_parser, main

pytest.importorskip("tensorflow")

SMALL = ["--lrs", "0.01,0.1", "--seeds", "2", "--epochs", "1", "--rows", "256"]
SMALL += ["--validation-rows", "128", "--no-progress", "--n-resamples", "50"]


def test_sweep_is_listed_and_parses():
    args = build_parser().parse_args(
        ["sweep", "--lrs", "0.001,0.1", "--scheduler", "tcp://h:8786", "--batch-sizes", "32,64"]
    )
    assert args.lrs == [0.001, 0.1] and args.scheduler == "tcp://h:8786"
    assert args.batch_sizes == [32, 64] and args.at == "final" and args.analysis_seed == 0
    for bad in (["--lrs", "a,b"], ["--batch-sizes", "32,x"], ["--at", "last"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["sweep", *bad])


@pytest.mark.slow  # trains 4 tiny runs, analyses and draws the report (17 s under load 8)
def test_sweep_analyses_saves_once_reports_and_resumes(tmp_path, capsys):
    from lrstats.cli import sweep
    from lrstats.inference import analyse
    from lrstats.io import load_results, load_tables

    out_dir, store = tmp_path / "out", tmp_path / "store"
    assert main(["sweep", *SMALL, "--out", str(out_dir), "--store", str(store)]) == 0
    text = capsys.readouterr().out
    assert "2 learning rates × 2 seeds × 1 epochs, batch 64" in text
    assert "Mean val_loss per learning rate (goal: minimize, at: final)" in text
    assert "Selected learning rates" in text
    frame = load_results(out_dir / "sweep.parquet")
    assert len(frame) == 4 and set(frame["lr"]) == {0.01, 0.1}
    assert len(list(store.glob("run-*.parquet"))) == 4
    # What was printed and saved is one analysis of the frame: the same settings redo it.
    analysis = analyse(frame, response="val_loss", n_resamples=50, rng=0)
    assert analysis.summary() in text
    tables = load_tables(out_dir / "sweep.parquet")
    assert set(tables) == set(analysis.results)
    np.testing.assert_allclose(
        tables["summary"]["mean"].to_numpy(), frame.groupby("lr")["val_loss"].mean().to_numpy()
    )
    pd.testing.assert_frame_equal(
        tables["selection_mean"], analysis["selection_mean"].to_frame(), check_dtype=False
    )
    report = out_dir / "report"
    assert (report / "index.html").is_file() and (report / "figures" / "curve.png").is_file()
    assert "../sweep.parquet" in (report / "index.md").read_text(encoding="utf-8")

    # Again on the same store: nothing retrained, the same frame.
    args = build_parser().parse_args(
        ["sweep", *SMALL, "--out", str(out_dir), "--store", str(store), "--no-report"]
    )
    buffer = io.StringIO()
    assert sweep.run(args, out=buffer) == 0
    again = load_results(out_dir / "sweep.parquet")
    assert again.equals(frame)
    assert analysis.summary() in buffer.getvalue()


@pytest.mark.slow  # 8 runs and a two-level report (24 s under load 8)
def test_sweep_over_batch_sizes_is_analysed_per_batch_size(tmp_path, capsys):
    from lrstats.io import load_results, load_tables

    out_dir = tmp_path / "out"
    code = main(["sweep", *SMALL, "--batch-sizes", "32,128", "--at", "best",
                 "--out", str(out_dir)])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "batch sizes 32, 128" in text
    assert "== batch_size = 32 ==" in text and "== batch_size = 128 ==" in text
    assert "Paired differences of batch_size against 32" in text
    frame = load_results(out_dir / "sweep.parquet")
    assert sorted(frame["batch_size"].unique()) == [32, 128] and len(frame) == 8
    tables = load_tables(out_dir / "sweep.parquet")
    assert tables["selection_mean"]["batch_size"].tolist() == [32, 128]
    assert "level_comparison" in tables
    figures = {p.stem for p in (out_dir / "report" / "figures").glob("*.png")}
    assert {"best_lr_by_batch_size", "level_comparison", "curve-batch_size=32"} <= figures
