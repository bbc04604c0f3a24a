"""``lrstats sweep``: the demo sweep end to end, small, and resumed from its store."""

from __future__ import annotations

import io

import numpy as np
import pytest

from lrstats.cli import build_parser, main

pytest.importorskip("tensorflow")

SMALL = ["--lrs", "0.01,0.1", "--seeds", "2", "--epochs", "1", "--rows", "256"]
SMALL += ["--validation-rows", "128", "--batch-size", "64", "--no-progress"]


def test_sweep_is_listed_and_parses():
    args = build_parser().parse_args(
        ["sweep", "--lrs", "0.001,0.1", "--scheduler", "tcp://h:8786"]
    )
    assert args.lrs == [0.001, 0.1] and args.scheduler == "tcp://h:8786"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sweep", "--lrs", "a,b"])


def test_sweep_prints_per_lr_intervals_writes_the_frame_and_resumes(tmp_path, capsys):
    from lrstats.cli import sweep
    from lrstats.io import load_results, load_tables

    out_dir, store = tmp_path / "out", tmp_path / "store"
    assert main(["sweep", *SMALL, "--out", str(out_dir), "--store", str(store)]) == 0
    text = capsys.readouterr().out
    assert "2 learning rates × 2 seeds × 1 epochs" in text
    assert "95% t interval" in text and "Lowest mean final val_loss" in text
    frame = load_results(out_dir / "sweep.parquet")
    assert len(frame) == 4 and set(frame["lr"]) == {0.01, 0.1}
    summary = load_tables(out_dir / "sweep.parquet")["summary"]
    final = frame.groupby("lr")["val_loss"].mean().to_numpy()
    np.testing.assert_allclose(summary["mean"].to_numpy(), final)
    assert len(list(store.glob("run-*.parquet"))) == 4

    # Again on the same store: nothing retrained, the same frame.
    args = build_parser().parse_args(
        ["sweep", *SMALL, "--out", str(out_dir), "--store", str(store)]
    )
    buffer = io.StringIO()
    assert sweep.run(args, out=buffer) == 0
    again = load_results(out_dir / "sweep.parquet")
    assert again.equals(frame)
