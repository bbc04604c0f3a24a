"""Parquet round trips with exact provenance, result tables, and the autolrtuner import."""

from __future__ import annotations

import math
import shlex
import sys
import warnings
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

from lrstats import inference
from lrstats.io import from_autolrtuner, load_results, load_tables, read_provenance, save_results
from lrstats.simulate import simulate_frame


def assert_identical(left, right, where="attrs"):
    """Deep equality that also requires identical types (tuple vs list, np.float32 vs float)."""
    assert type(left) is type(right), f"{where}: {type(left).__name__} != {type(right).__name__}"
    if isinstance(left, dict):
        assert list(left) == list(right), f"{where}: keys {list(left)} != {list(right)}"
        for key in left:
            assert_identical(left[key], right[key], f"{where}[{key!r}]")
    elif isinstance(left, (list, tuple)):
        assert len(left) == len(right), where
        for i, (a, b) in enumerate(zip(left, right, strict=True)):
            assert_identical(a, b, f"{where}[{i}]")
    elif isinstance(left, np.ndarray):
        assert left.dtype == right.dtype and left.shape == right.shape, where
        np.testing.assert_array_equal(left, right)
    elif isinstance(left, (float, np.floating)) and math.isnan(left):
        assert math.isnan(right), where
    else:
        assert left == right, f"{where}: {left!r} != {right!r}"


@pytest.fixture
def rich_frame():
    frame = simulate_frame(np.logspace(-4, -1, 7), 5, diverge_above=0.05, rng=11)
    frame.loc[3, "post"] = np.nan
    frame.attrs.update(
        {
            "seed": 123456789012345678901234567890,
            "batch_size": 64,
            "evaluate": "same",
            "optimizer_config": {
                "name": "SGD",
                "momentum": 0.9,
                "nesterov": False,
                "clipnorm": None,
                "schedule": {"class": "ExponentialDecay", "config": {"decay_rate": 0.96}},
            },
            "versions": {"keras": "3.15.0", "tensorflow": "2.21.0"},
            "shape": (20, 64, 1),
            "numpy_scalars": [np.float32(0.1), np.int64(-3), np.bool_(True), np.float64(np.inf)],
            "array": np.array([[1.0, np.nan], [np.inf, -0.0]]),
            "int_array": np.arange(4, dtype=np.int32),
            "keys": {1: "one", (2, 3): "pair", "__lrstats_type__": "not a tag"},
            "non_finite": [math.inf, -math.inf, math.nan],
            "text": "ΔL — ünïcode",
            "empty": {},
            "timestamp": pd.Timestamp("2026-11-23 17:00:00"),
        }
    )
    return frame


def test_round_trip_is_identical(rich_frame, tmp_path):
    path = save_results(rich_frame, tmp_path / "sub" / "frame.parquet", command="lrstats sample x")
    loaded = load_results(path)
    pd.testing.assert_frame_equal(loaded, rich_frame, check_exact=True)
    assert_identical(loaded.attrs, rich_frame.attrs)
    assert loaded["post"].isna().sum() == 1
    assert np.isinf(loaded["post"]).sum() == rich_frame["post"].pipe(np.isinf).sum() > 0


def test_round_trip_keeps_a_non_default_index_and_empty_attrs(tmp_path):
    frame = simulate_frame(np.logspace(-3, -1, 4), 3, rng=0).iloc[::2]
    frame.attrs = {}
    loaded = load_results(save_results(frame, tmp_path / "f.parquet"))
    pd.testing.assert_frame_equal(loaded, frame, check_exact=True)
    assert loaded.attrs == {}


def test_save_does_not_change_the_frame(rich_frame, tmp_path):
    before = rich_frame.copy()
    attrs_before = dict(rich_frame.attrs)
    save_results(rich_frame, tmp_path / "f.parquet")
    pd.testing.assert_frame_equal(rich_frame, before, check_exact=True)
    assert list(rich_frame.attrs) == list(attrs_before)


def test_pandas_own_attrs_would_not_survive_but_ours_do(tmp_path):
    """Why provenance is encoded by lrstats: pandas' JSON turns tuples into lists and numpy
    scalars into Python numbers, and refuses float32."""
    frame = simulate_frame(np.logspace(-3, -1, 3), 2, rng=0)
    frame.attrs = {"shape": (20, 64), "momentum": np.float64(0.9)}
    frame.to_parquet(tmp_path / "pandas.parquet")
    by_pandas = pd.read_parquet(tmp_path / "pandas.parquet").attrs
    assert by_pandas == {"shape": [20, 64], "momentum": 0.9}
    assert type(by_pandas["momentum"]) is float
    ours = load_results(save_results(frame, tmp_path / "ours.parquet")).attrs
    assert_identical(ours, frame.attrs)
    frame.attrs["learning_rate"] = np.float32(0.01)
    with warnings.catch_warnings(), pytest.raises(TypeError, match="float32"):
        warnings.simplefilter("ignore")  # pandas warns, then raises
        frame.to_parquet(tmp_path / "pandas32.parquet")
    assert_identical(
        load_results(save_results(frame, tmp_path / "ours32.parquet")).attrs, frame.attrs
    )


def test_load_a_parquet_file_written_by_pandas(tmp_path):
    frame = simulate_frame(np.logspace(-3, -1, 3), 2, rng=0)
    frame.attrs = {"seed": 5, "nested": {"a": [1, 2.5]}}
    frame.to_parquet(tmp_path / "plain.parquet")
    loaded = load_results(tmp_path / "plain.parquet")
    pd.testing.assert_frame_equal(loaded, frame, check_exact=True)
    assert loaded.attrs == {"seed": 5, "nested": {"a": [1, 2.5]}}
    assert load_tables(tmp_path / "plain.parquet") == {}


def test_results_are_stored_as_exact_tables(tmp_path):
    frame = simulate_frame(np.logspace(-4, -1, 9), 12, rng=4)
    summary = inference.summarize(frame)
    selection = inference.select_lr(frame, rule="ucb", n_resamples=100, rng=0)
    extra = pd.DataFrame({"x": [1 / 3, np.inf], "label": ["a", "b"]})
    path = save_results(
        frame,
        tmp_path / "f.parquet",
        results={"summary": summary, "ucb": selection, "extra": extra},
    )
    stored = load_tables(path)
    assert list(stored) == ["summary", "ucb", "extra"]
    pd.testing.assert_frame_equal(stored["summary"], summary.to_frame(), check_exact=True)
    pd.testing.assert_frame_equal(stored["ucb"], selection.to_frame(), check_exact=True)
    pd.testing.assert_frame_equal(stored["extra"], extra, check_exact=True)
    provenance = read_provenance(path)
    assert provenance["results"]["summary"]["class"] == "lrstats.inference._results.Summary"
    fields = provenance["results"]["ucb"]["fields"]
    assert fields["rule"] == "ucb" and fields["lr"] == selection.lr
    assert fields["params"] == selection.params
    assert "frequencies" not in fields  # Series live in the tables, not in the fields
    assert provenance["results"]["extra"]["class"] == "DataFrame"
    # The frame itself is untouched by the stored results.
    pd.testing.assert_frame_equal(load_results(path), frame, check_exact=True)


def test_save_time_provenance(tmp_path):
    frame = simulate_frame(np.logspace(-3, -1, 3), 2, rng=0)
    saved = read_provenance(save_results(frame, tmp_path / "a.parquet", command="lrstats demo"))
    assert saved["saved"]["command"] == "lrstats demo"
    assert saved["saved"]["format"] == 1
    assert saved["saved"]["versions"]["numpy"] == np.__version__
    assert saved["saved"]["versions"]["pandas"] == pd.__version__
    assert_identical(saved["attrs"], frame.attrs)
    default = read_provenance(save_results(frame, tmp_path / "b.parquet"))
    assert default["saved"]["command"] == shlex.join(sys.argv)


def test_unsupported_attrs_raise_before_writing(tmp_path):
    frame = simulate_frame(np.logspace(-3, -1, 3), 2, rng=0)
    frame.attrs["model"] = {"layers": [object()]}
    path = tmp_path / "f.parquet"
    with pytest.raises(TypeError, match=r"frame.attrs\['model'\]\['layers'\]\[0\] of type object"):
        save_results(frame, path)
    assert not path.exists()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"frame": [1, 2]}, TypeError, "`frame` must be a pandas DataFrame"),
        ({"path": 3}, TypeError, "`path` must be a str or path-like"),
        ({"command": ["lrstats"]}, TypeError, "`command` must be a str or None"),
        ({"results": [1]}, TypeError, "`results` must be a mapping"),
        ({"results": {"": pd.DataFrame()}}, ValueError, "`results` names must be non-empty"),
        ({"results": {"x": 3}}, TypeError, r"results\['x'\] of type int"),
    ],
)
def test_save_validation(tmp_path, kwargs, error, match):
    arguments = {
        "frame": simulate_frame(np.logspace(-3, -1, 3), 2, rng=0),
        "path": tmp_path / "f.parquet",
    }
    arguments.update(kwargs)
    frame, path = arguments.pop("frame"), arguments.pop("path")
    with pytest.raises(error, match=match):
        save_results(frame, path, **arguments)


def test_load_validation(tmp_path):
    with pytest.raises(FileNotFoundError, match="`path` does not exist"):
        load_results(tmp_path / "missing.parquet")
    with pytest.raises(TypeError, match="`path` must be a str or path-like"):
        load_results(None)


# --------------------------------------------------------------------------------------------
# autolrtuner
# --------------------------------------------------------------------------------------------
def autolrtuner_results(n_subsamples=6, lr_space=(1e-8, 1.0), num_evals=5, seed=0):
    """What AutoLRTuner.Tune() accumulates: {str(lr): [float32 ΔL per subsample]} over a
    linear grid (``np.linspace``), built without TensorFlow."""
    rng = np.random.default_rng(seed)
    results = defaultdict(list)
    grid = np.linspace(lr_space[0], lr_space[1], num=num_evals)
    for _ in range(n_subsamples):
        a, b = rng.normal(2.0, 0.3), rng.normal(3.0, 0.5)
        for lr in grid:
            results[str(lr)].append(np.float32(-a * lr + b * lr**2 + rng.normal(0, 0.01)))
    return results, grid


class FakeTuner:
    """Stand-in with the two members of AutoLRTuner that the import reads."""

    def __init__(self, results):
        self.results = results

    def GetResults(self):
        return pd.DataFrame(self.results)


def test_wide_frame_to_tidy():
    results, grid = autolrtuner_results()
    wide = pd.DataFrame(results)  # exactly what GetResults() returns
    tidy = from_autolrtuner(wide)
    assert list(tidy.columns) == ["lr", "replicate", "delta"]
    assert tidy.dtypes.to_dict() == {
        "lr": np.dtype("float64"),
        "replicate": np.dtype("int64"),
        "delta": np.dtype("float64"),
    }
    assert len(tidy) == wide.size
    np.testing.assert_array_equal(np.unique(tidy["lr"]), grid)  # str(lr) round-trips exactly
    for (lr, replicate), value in tidy.set_index(["lr", "replicate"])["delta"].items():
        assert value == float(wide.loc[replicate, str(np.float64(lr))])
    # Sorted by replicate then lr, like the sampler's frames.
    assert tidy.equals(tidy.sort_values(["replicate", "lr"], kind="stable").reset_index(drop=True))
    assert tidy.attrs["source"] == "autolrtuner"
    assert tidy.attrs["n_subsamples"] == 6
    assert tidy.attrs["grid"] == "linear"


def test_tuner_object_and_wide_frame_agree_and_columns_may_be_unordered():
    results, _ = autolrtuner_results()
    tuner = FakeTuner(results)
    from_object = from_autolrtuner(tuner)
    from_wide = from_autolrtuner(tuner.GetResults())
    pd.testing.assert_frame_equal(from_object, from_wide, check_exact=True)
    shuffled = tuner.GetResults().iloc[:, ::-1]
    pd.testing.assert_frame_equal(from_autolrtuner(shuffled), from_wide, check_exact=True)
    numeric_columns = tuner.GetResults().rename(columns=float)
    pd.testing.assert_frame_equal(from_autolrtuner(numeric_columns), from_wide, check_exact=True)


def test_pre_adds_pre_and_post():
    results, _ = autolrtuner_results(n_subsamples=3)
    wide = pd.DataFrame(results)
    tidy = from_autolrtuner(wide, pre=2.0)
    assert list(tidy.columns) == ["lr", "replicate", "pre", "post", "delta"]
    np.testing.assert_array_equal(tidy["post"] - tidy["pre"], tidy["delta"])
    per_subsample = from_autolrtuner(wide, pre=[1.0, 2.0, 4.0])
    np.testing.assert_array_equal(
        per_subsample.groupby("replicate")["pre"].first().to_numpy(), [1.0, 2.0, 4.0]
    )
    np.testing.assert_allclose(
        per_subsample["post"] - per_subsample["pre"], per_subsample["delta"], rtol=0, atol=1e-15
    )
    with pytest.raises(
        ValueError, match=r"`pre` must be a scalar or have one value per subsample \(3\)"
    ):
        from_autolrtuner(wide, pre=[1.0, 2.0])


def test_zero_lr_is_dropped_with_a_warning():
    results, grid = autolrtuner_results(lr_space=(0.0, 0.5), num_evals=3)
    with pytest.warns(UserWarning, match="lr = 0"):
        tidy = from_autolrtuner(pd.DataFrame(results))
    np.testing.assert_array_equal(np.unique(tidy["lr"]), grid[1:])
    assert tidy.attrs["dropped_lrs"] == [0.0]


def test_interrupted_tune_keeps_complete_subsamples():
    results, grid = autolrtuner_results(n_subsamples=4)
    results[str(grid[0])].append(np.float32(0.5))  # a fifth subsample started, not finished
    with pytest.warns(UserWarning, match="keeping the first 4 subsamples"):
        tidy = from_autolrtuner(FakeTuner(results))
    assert tidy["replicate"].max() == 3


@pytest.mark.parametrize(
    ("wide", "error", "match"),
    [
        (
            pd.DataFrame({"0.1": [0.1], "-0.2": [0.2]}),
            ValueError,
            r"non-negative learning rates. Received: \[-0.2\]",
        ),
        (
            pd.DataFrame({"0.1": [0.1], "lr": [0.2]}),
            ValueError,
            "columns must be learning rates. Received: column 'lr'",
        ),
        (pd.DataFrame({"0.1": [0.1], "0.10": [0.2]}), ValueError, "columns must be distinct"),
        (pd.DataFrame({"0.1": ["a"]}), ValueError, "values must be numeric"),
        (pd.DataFrame(), ValueError, "has no results"),
        (FakeTuner(defaultdict(list)), ValueError, "run its Tune\\(\\) first"),
        ([1, 2], TypeError, "must be an autolrtuner.AutoLRTuner"),
    ],
)
def test_from_autolrtuner_validation(wide, error, match):
    with pytest.raises(error, match=match):
        from_autolrtuner(wide)


def test_imported_runs_can_be_reanalysed():
    """The imported frame feeds the inference layer: ``response="delta"`` reads its ``delta``."""
    results, grid = autolrtuner_results(
        n_subsamples=30, lr_space=(0.05, 1.0), num_evals=12, seed=3
    )
    wide = pd.DataFrame(results)
    tidy = from_autolrtuner(wide)
    summary = inference.summarize(tidy)
    # autolrtuner stores float32 ΔL; lrstats averages in float64
    expected_means = wide.astype(np.float64).mean(axis=0).to_numpy()
    np.testing.assert_allclose(summary.table["mean"], expected_means, rtol=1e-12)
    # autolrtuner's own "mean" rule is the column with the smallest mean.
    selection = inference.select_lr(tidy, rule="mean", n_resamples=50, rng=0)
    assert selection.lr == float(wide.mean(axis=0).idxmin())


def test_saved_import_round_trips(tmp_path):
    results, _ = autolrtuner_results()
    tidy = from_autolrtuner(FakeTuner(results), pre=1.0)
    loaded = load_results(save_results(tidy, tmp_path / "old-run.parquet"))
    pd.testing.assert_frame_equal(loaded, tidy, check_exact=True)
    assert_identical(loaded.attrs, tidy.attrs)
