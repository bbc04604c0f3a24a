"""Importing autolrtuner runs as tidy ``lr, replicate, delta`` frames."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["from_autolrtuner"]


# --------------------------------------------------------------------------------------------
# autolrtuner
# --------------------------------------------------------------------------------------------
def _wide_from_tuner(tuner: Any) -> pd.DataFrame:
    results = tuner.results
    if not isinstance(results, Mapping) or not results:
        raise ValueError(
            f"`tuner` has no results; run its Tune() first. Received: tuner.results={results!r}"
        )
    lengths = {key: len(values) for key, values in results.items()}
    complete = min(lengths.values())
    if len(set(lengths.values())) > 1:
        warnings.warn(
            f"autolrtuner results have unequal lengths per lr ({min(lengths.values())} to "
            f"{max(lengths.values())} subsamples; an interrupted Tune()?); keeping the first "
            f"{complete} subsamples, which are complete.",
            UserWarning,
            stacklevel=3,
        )
    return pd.DataFrame({key: list(values)[:complete] for key, values in results.items()})


def from_autolrtuner(
    tuner_or_wide_frame: Any,
    *,
    pre: Any = None,
) -> pd.DataFrame:
    """Convert an autolrtuner run into the tidy ``lr, replicate, delta`` frame.

    Parameters
    ----------
    tuner_or_wide_frame : autolrtuner.AutoLRTuner or pandas.DataFrame
        The tuner after ``Tune()`` (its ``results``, a dict of lists keyed by ``str(lr)``),
        or the wide frame its ``GetResults()`` returns: one row per subsample, one column
        per learning rate (column names are the lrs, as strings or numbers), values the
        one-step loss change ``post - pre``.
    pre : float or array_like, optional
        The loss before the step, if you know it: a scalar, or one value per subsample.
        Then ``pre`` and ``post = pre + delta`` columns are added. autolrtuner does not
        record it.

    Returns
    -------
    pandas.DataFrame
        Columns ``lr`` (float64), ``replicate`` (int64: the subsample's row position),
        ``delta`` (float64), plus ``pre, post`` when ``pre`` is given; sorted by replicate
        then lr. ``attrs``: ``source="autolrtuner"``, ``grid="linear"``, ``n_subsamples``,
        ``dropped_lrs`` (non-positive lrs removed) and a ``note`` on autolrtuner's sampler.

    Notes
    -----
    A ``delta`` column is the response the inference layer's ``response="delta"`` uses
    when present, so every analysis runs on imported frames without ``pre``/``post``.

    autolrtuner reuses one optimizer across grid points without resetting its slots or
    iteration count, so with stateful optimizers (momentum, Adam) its ΔL values after the
    first grid point are not one-step changes from the same state. The import keeps the
    numbers as recorded; re-sample with :func:`lrstats.keras.sample_deltas` for a clean
    paired design. Each autolrtuner subsample is used at every lr, so its rows are one
    replicate each (the design is paired).

    A learning rate of 0 (``lr_space`` starting at 0) is no step and is dropped with a
    warning; negative or non-numeric column names raise ``ValueError``.

    Examples
    --------
    >>> import pandas as pd
    >>> from lrstats.io import from_autolrtuner
    >>> wide = pd.DataFrame({"0.01": [-0.2, -0.1], "0.02": [-0.3, 0.1]})
    >>> from_autolrtuner(wide)
         lr  replicate  delta
    0  0.01          0   -0.2
    1  0.02          0   -0.3
    2  0.01          1   -0.1
    3  0.02          1    0.1
    """
    if isinstance(tuner_or_wide_frame, pd.DataFrame):
        wide = tuner_or_wide_frame
        source = "GetResults() frame"
    elif hasattr(tuner_or_wide_frame, "results"):
        wide = _wide_from_tuner(tuner_or_wide_frame)
        source = "AutoLRTuner object"
    else:
        raise TypeError(
            "`tuner_or_wide_frame` must be an autolrtuner.AutoLRTuner (after Tune()) or the "
            "DataFrame its GetResults() returns. Received: tuner_or_wide_frame of type "
            f"{type(tuner_or_wide_frame).__name__}"
        )
    if wide.shape[0] == 0 or wide.shape[1] == 0:
        raise ValueError(
            f"`tuner_or_wide_frame` has no results. Received: a frame of shape {wide.shape}"
        )
    lrs = []
    for column in wide.columns:
        try:
            lrs.append(float(column))
        except (TypeError, ValueError):
            raise ValueError(
                "`tuner_or_wide_frame` columns must be learning rates. "
                f"Received: column {column!r}"
            ) from None
    lr_array = np.asarray(lrs, dtype=np.float64)
    if not np.isfinite(lr_array).all() or (lr_array < 0).any():
        bad = lr_array[~np.isfinite(lr_array) | (lr_array < 0)]
        raise ValueError(
            "`tuner_or_wide_frame` columns must be finite, non-negative learning rates. "
            f"Received: {bad[:5].tolist()}"
        )
    if len(np.unique(lr_array)) != lr_array.size:
        raise ValueError(
            "`tuner_or_wide_frame` columns must be distinct learning rates. "
            f"Received: {list(wide.columns)}"
        )
    try:
        values = wide.to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            "`tuner_or_wide_frame` values must be numeric loss changes. "
            f"Received: dtypes {sorted({str(t) for t in wide.dtypes})}"
        ) from None
    n_subsamples = values.shape[0]

    pre_values = None
    if pre is not None:
        pre_values = np.asarray(pre, dtype=np.float64)
        if pre_values.ndim == 0:
            pre_values = np.full(n_subsamples, float(pre_values))
        if pre_values.shape != (n_subsamples,):
            raise ValueError(
                f"`pre` must be a scalar or have one value per subsample ({n_subsamples}). "
                f"Received: pre with shape {pre_values.shape}"
            )

    dropped = lr_array[lr_array == 0].tolist()
    if dropped:
        warnings.warn(
            "autolrtuner grid contains lr = 0 (no step); dropped from the frame.",
            UserWarning,
            stacklevel=2,
        )
    order = np.argsort(lr_array, kind="stable")
    order = order[lr_array[order] > 0]
    grid = lr_array[order]
    deltas = values[:, order]

    data: dict[str, Any] = {
        "lr": np.tile(grid, n_subsamples),
        "replicate": np.repeat(np.arange(n_subsamples, dtype=np.int64), grid.size),
    }
    if pre_values is not None:
        data["pre"] = np.repeat(pre_values, grid.size)
        data["post"] = (pre_values[:, None] + deltas).ravel()
    data["delta"] = deltas.ravel()
    frame = pd.DataFrame(data)
    frame.attrs = {
        "source": "autolrtuner",
        "imported_from": source,
        "grid": "linear",
        "n_subsamples": int(n_subsamples),
        "dropped_lrs": dropped,
        "note": (
            "Imported autolrtuner results: delta = post - pre per subsample (replicate) and lr. "
            "autolrtuner does not reset optimizer state between grid points."
        ),
    }
    return frame
