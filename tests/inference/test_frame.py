import numpy as np
import pandas as pd
import pytest

from lrstats.inference import response_values
from lrstats.inference._frame import replicate_matrix
from lrstats.simulate import simulate_frame


@pytest.fixture
def frame():
    return simulate_frame(lrs=[0.001, 0.01, 0.1], replicates=4, rng=0)


def test_derived_responses_closed_forms(frame):
    pre, post = frame["pre"], frame["post"]
    np.testing.assert_allclose(response_values(frame), post - pre)
    np.testing.assert_allclose(response_values(frame, "relative"), post / pre - 1)
    np.testing.assert_allclose(response_values(frame, "log_ratio"), np.log(post) - np.log(pre))
    assert response_values(frame, "relative").name == "relative"


def test_named_column_is_the_response(frame):
    frame = frame.assign(val_loss=np.arange(len(frame), dtype=float))
    np.testing.assert_array_equal(response_values(frame, "val_loss"), np.arange(len(frame)))


def test_divergence_is_kept_as_non_finite(frame):
    frame.loc[0, "post"] = np.inf
    frame.loc[1, "post"] = np.nan
    values = response_values(frame, "log_ratio")
    assert np.isposinf(values[0]) and np.isnan(values[1])


def test_pivot_matches_pandas(frame):
    matrix = replicate_matrix(frame)
    expected = frame.assign(d=frame.post - frame.pre).pivot(
        index="replicate", columns="lr", values="d"
    )
    np.testing.assert_array_equal(matrix.values, expected.to_numpy())
    np.testing.assert_array_equal(matrix.lrs, expected.columns.to_numpy())
    np.testing.assert_array_equal(matrix.replicates, expected.index.to_numpy())


def test_pivot_ignores_row_order(frame):
    shuffled = frame.sample(frac=1.0, random_state=3).reset_index(drop=True)
    np.testing.assert_array_equal(
        replicate_matrix(frame).values, replicate_matrix(shuffled).values
    )


def test_diverging_and_below_divergence(make_frame):
    values = np.array([[0.0, 1.0, np.inf, 2.0, np.nan], [0.0, 1.0, 2.0, 2.0, 3.0]])
    matrix = replicate_matrix(make_frame(values), "val")
    np.testing.assert_array_equal(matrix.diverging, [False, False, True, False, True])
    np.testing.assert_array_equal(matrix.below_divergence(), [True, True, False, False, False])


def test_not_a_frame():
    with pytest.raises(TypeError, match="`frame` must be a pandas DataFrame"):
        response_values({"lr": [1.0]})


def test_missing_key_columns(frame):
    with pytest.raises(
        ValueError, match=r"`frame` must have columns 'lr' and 'replicate'.*\['replicate'\]"
    ):
        replicate_matrix(frame.drop(columns="replicate"))


def test_missing_pre_post(frame):
    with pytest.raises(
        ValueError, match=r"`response`='delta' needs columns 'pre' and 'post'.*\['pre'\]"
    ):
        replicate_matrix(frame.drop(columns="pre"))


def test_unknown_response(frame):
    with pytest.raises(ValueError, match=r"`response` must be one of .*Received: response='loss'"):
        replicate_matrix(frame, "loss")


def test_key_column_is_not_a_response(frame):
    with pytest.raises(ValueError, match=r"Received: response='lr'"):
        response_values(frame, "lr")


def test_response_must_be_a_string(frame):
    with pytest.raises(TypeError, match=r"`response` must be a string. Received: response=3"):
        response_values(frame, 3)


def test_non_numeric_response(frame):
    with pytest.raises(TypeError, match=r"`frame` column 'tag' must be numeric"):
        response_values(frame.assign(tag="x"), "tag")


def test_duplicated_rows(frame):
    with pytest.raises(ValueError, match=r"one row per \(lr, replicate\).*duplicated"):
        replicate_matrix(pd.concat([frame, frame.iloc[:1]]))


def test_incomplete_grid_marks_missing_cells_not_divergence(frame):
    matrix = replicate_matrix(frame.iloc[1:])  # replicate 0 lacks lr 0.001
    assert not matrix.complete
    assert matrix.observed.sum() == len(frame) - 1
    assert not matrix.observed[0, 0] and np.isnan(matrix.values[0, 0])
    assert not matrix.diverging.any()  # a missing cell is not a divergence
    np.testing.assert_array_equal(matrix.n_observed, [3, 4, 4])
    complete, dropped = matrix.complete_cases()
    assert dropped == 1
    np.testing.assert_array_equal(complete.replicates, [1, 2, 3])
    assert complete.complete


def test_too_few_replicates(frame):
    with pytest.raises(ValueError, match=r"at least 2 replicates. Received: 1"):
        replicate_matrix(frame[frame.replicate == 0])


def test_bad_lr(frame):
    frame.loc[0, "lr"] = -1.0
    with pytest.raises(ValueError, match=r"column 'lr' must be finite and > 0.*-1.0"):
        replicate_matrix(frame)


def test_empty_frame(frame):
    with pytest.raises(ValueError, match="`frame` must not be empty"):
        replicate_matrix(frame.iloc[:0])


def test_missing_replicate_id(frame):
    frame["replicate"] = frame["replicate"].astype(float)
    frame.loc[0, "replicate"] = np.nan
    with pytest.raises(ValueError, match="column 'replicate' must not contain missing values"):
        replicate_matrix(frame)


def test_delta_column_is_used_when_the_frame_records_it():
    # autolrtuner imports record ΔL itself; with pre/post present too, the recorded value wins
    frame = pd.DataFrame({"lr": [0.1, 0.2], "replicate": [0, 0], "delta": [-0.5, 0.25]})
    np.testing.assert_array_equal(response_values(frame, "delta").to_numpy(), [-0.5, 0.25])
    frame = frame.assign(pre=[1.0, 1.0], post=[0.4, 1.3])  # post - pre disagrees on purpose
    np.testing.assert_array_equal(response_values(frame, "delta").to_numpy(), [-0.5, 0.25])
    with pytest.raises(ValueError, match="`response`='relative' needs columns 'pre' and 'post'"):
        response_values(frame.drop(columns=["pre"]), "relative")
