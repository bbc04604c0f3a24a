"""Real data that ships with a dependency, for the demo and the docs (no TensorFlow).

The machine lrstats is developed on is offline, and ``keras.datasets`` downloads; the
RAND Health Insurance Experiment data ships with statsmodels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Dataset:
    """Features and target as float32 arrays, with names and a description."""

    x: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    target_name: str
    description: str


def load_randhie(*, standardize: bool = True) -> Dataset:
    """The RAND Health Insurance Experiment (20,190 rows × 9 features), from statsmodels.

    The target is ``log1p(mdvis)``, the log of one plus the number of outpatient visits
    (the raw counts are heavily skewed).

    Parameters
    ----------
    standardize : bool, default True
        Centre and scale every feature and the target to mean 0, sd 1 (ddof 0).

    Returns
    -------
    Dataset
        ``x`` of shape (20190, 9) and ``y`` of shape (20190, 1), float32.

    References
    ----------
    Manning, W. G., et al. (1987). Health insurance and the demand for medical care:
    evidence from a randomized experiment. *American Economic Review*, 77(3), 251–277.

    Examples
    --------
    >>> from lrstats.datasets import load_randhie
    >>> data = load_randhie()
    >>> data.x.shape, data.y.shape
    ((20190, 9), (20190, 1))
    """
    from statsmodels.datasets import randhie

    data = randhie.load_pandas()
    x = data.exog.to_numpy(dtype=np.float64)
    y = np.log1p(data.endog.to_numpy(dtype=np.float64))[:, None]
    if standardize:
        x = (x - x.mean(axis=0)) / x.std(axis=0)
        y = (y - y.mean()) / y.std()
    return Dataset(
        x=x.astype(np.float32),
        y=y.astype(np.float32),
        feature_names=tuple(data.exog.columns),
        target_name="log1p(mdvis)",
        description="RAND Health Insurance Experiment (statsmodels.datasets.randhie)"
        + (", standardized" if standardize else ""),
    )
