"""Shared helpers for the inference tests: tidy frames built from matrices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def frame_from_matrix(values, lrs=None, *, column="val", replicates=None):
    """Tidy frame ``lr, replicate, <column>`` from a replicates × lrs matrix."""
    values = np.asarray(values, dtype=np.float64)
    m, k = values.shape
    lrs = np.logspace(-3, -1, k) if lrs is None else np.asarray(lrs, dtype=np.float64)
    replicates = np.arange(m) if replicates is None else np.asarray(replicates)
    return pd.DataFrame(
        {
            "lr": np.tile(lrs, m),
            "replicate": np.repeat(replicates, k).astype(np.int64),
            column: values.ravel(),
        }
    )


@pytest.fixture
def make_frame():
    return frame_from_matrix
