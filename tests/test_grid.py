import numpy as np
import pytest

import lrstats


def test_log_grid_is_geometric_with_exact_ends():
    grid = lrstats.log_grid(1e-5, 1.0, 41)
    assert grid.shape == (41,)
    assert grid.dtype == np.float64
    assert grid[0] == 1e-5 and grid[-1] == 1.0
    ratios = grid[1:] / grid[:-1]
    np.testing.assert_allclose(ratios, 10 ** (5 / 40), rtol=1e-12)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((0, 1, 5), ValueError, "`start` must be finite and > 0. Received: start=0"),
        ((1e-3, float("inf"), 5), ValueError, "`stop` must be finite and > 0"),
        ((1.0, 0.1, 5), ValueError, "`start` must be smaller than `stop`"),
        ((1e-3, 1.0, 1), ValueError, "`num` must be an integer >= 2. Received: num=1"),
        ((1e-3, 1.0, 2.5), TypeError, "`num` must be an integer"),
        (("a", 1.0, 5), TypeError, "`start` must be a real number"),
    ],
)
def test_log_grid_rejects_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        lrstats.log_grid(*args)
