"""Frame validation, responses and the replicates × lrs matrix (numpy/pandas only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lrstats._validation import check_dataframe

__all__ = [
    "DERIVED_RESPONSES",
    "ReplicateMatrix",
    "is_loss_change",
    "replicate_matrix",
    "response_values",
]

#: Responses computed from ``pre`` and ``post``; any other name is a column of the frame.
DERIVED_RESPONSES = ("delta", "relative", "log_ratio")
_KEYS = ("lr", "replicate")


def is_loss_change(response: str) -> bool:
    """True for the one-step loss changes (``delta``, ``relative``, ``log_ratio``).

    Only these have a meaningful sign (negative: the loss went down), so only they get
    ``p_decrease``, the sign rules, the ``local`` one-step fit and a zero line.

    Examples
    --------
    >>> is_loss_change("delta"), is_loss_change("log_ratio"), is_loss_change("val_loss")
    (True, True, False)
    """
    return response in DERIVED_RESPONSES


def _check_frame(frame: Any) -> pd.DataFrame:
    check_dataframe(frame)
    missing = [column for column in _KEYS if column not in frame.columns]
    if missing:
        raise ValueError(
            f"`frame` must have columns 'lr' and 'replicate'. Received: frame missing {missing} "
            f"(columns {list(frame.columns)})"
        )
    return frame


def _numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    series = frame[column]
    if not (pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)):
        raise TypeError(
            f"`frame` column {column!r} must be numeric. Received: dtype {series.dtype}"
        )
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def response_values(frame: pd.DataFrame, response: str = "delta") -> pd.Series:
    """The response of every row of a tidy frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        A tidy frame with columns ``lr`` and ``replicate`` and either ``pre``/``post``
        (for the derived responses) or the named response column.
    response : str, default "delta"
        ``"delta"``: ``post - pre`` (the one-step loss change ΔL), or the frame's own
        ``delta`` column when it has one (frames imported from autolrtuner record ΔL
        itself, and ``post - pre`` would only reproduce it up to rounding; the same holds
        for a ``relative`` or ``log_ratio`` column, e.g. of a reduced frame);
        ``"relative"``: ``post / pre - 1``;
        ``"log_ratio"``: ``log(post) - log(pre)``;
        any other string: that numeric column, e.g. ``"val_loss"`` of a sensitivity sweep.

    Returns
    -------
    pandas.Series
        Float64 values aligned with ``frame.index``, named after ``response``. Non-finite
        values (divergence) are kept; ``log_ratio`` of a non-positive loss is non-finite.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"lr": [0.1], "replicate": [0], "pre": [2.0], "post": [1.5]})
    >>> float(response_values(frame, "relative").iloc[0])
    -0.25
    """
    frame = _check_frame(frame)
    if not isinstance(response, str):
        raise TypeError(f"`response` must be a string. Received: response={response!r}")
    if response in DERIVED_RESPONSES and response in frame.columns:
        values = _numeric(frame, response)
    elif response in DERIVED_RESPONSES:
        missing = [column for column in ("pre", "post") if column not in frame.columns]
        if missing:
            raise ValueError(
                f"`response`={response!r} needs columns 'pre' and 'post'. Received: frame "
                f"missing {missing} (columns {list(frame.columns)})"
            )
        pre = _numeric(frame, "pre")
        post = _numeric(frame, "post")
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if response == "delta":
                values = post - pre
            elif response == "relative":
                values = post / pre - 1.0
            else:
                values = np.log(post) - np.log(pre)
    elif response in _KEYS or response not in frame.columns:
        options = ", ".join(repr(r) for r in DERIVED_RESPONSES)
        raise ValueError(
            f"`response` must be one of {options} or a numeric column of the frame other than "
            f"'lr' and 'replicate'. Received: response={response!r} (columns {list(frame.columns)})"
        )
    else:
        values = _numeric(frame, response)
    return pd.Series(values, index=frame.index, name=response, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class ReplicateMatrix:
    """The response as a replicates × lrs matrix (rows: replicates, columns: lrs ascending).

    ``present`` marks the cells the frame has (an unfinished sweep leaves some out); a
    missing cell holds NaN in ``values`` but is never counted as divergence.
    """

    values: np.ndarray  # (M, K) float64, non-finite kept, NaN where missing
    lrs: np.ndarray  # (K,) ascending
    replicates: np.ndarray  # (M,) sorted ids
    response: str
    present: np.ndarray | None = None  # (M, K) bool; None: complete grid

    @property
    def finite(self) -> np.ndarray:
        return np.isfinite(self.values)

    @property
    def observed(self) -> np.ndarray:
        """(M, K) bool: the cell is in the frame (finite or not)."""
        if self.present is None:
            return np.ones(self.values.shape, dtype=bool)
        return self.present

    @property
    def complete(self) -> bool:
        return self.present is None or bool(self.present.all())

    @property
    def n_replicates(self) -> int:
        return self.values.shape[0]

    @property
    def n_lrs(self) -> int:
        return self.values.shape[1]

    @property
    def n_observed(self) -> np.ndarray:
        """(K,) int: replicates the frame has at each lr."""
        return self.observed.sum(axis=0)

    @property
    def diverging(self) -> np.ndarray:
        """(K,) bool: the lr has at least one non-finite value among its observed cells."""
        return (self.observed & ~self.finite).any(axis=0)

    def complete_cases(self) -> tuple[ReplicateMatrix, int]:
        """The replicates observed at every lr, and how many were dropped.

        Paired methods that use every lr at once (selection rules, shape fits, the U
        test) run on these; nothing is imputed.
        """
        if self.complete:
            return self, 0
        keep = self.observed.all(axis=1)
        return (
            ReplicateMatrix(
                values=self.values[keep],
                lrs=self.lrs,
                replicates=self.replicates[keep],
                response=self.response,
            ),
            int((~keep).sum()),
        )

    def below_divergence(self) -> np.ndarray:
        """(K,) bool: lrs smaller than the smallest diverging lr."""
        diverging = self.diverging
        if not diverging.any():
            return np.ones(self.n_lrs, dtype=bool)
        return np.arange(self.n_lrs) < np.argmax(diverging)


def replicate_matrix(
    frame: pd.DataFrame, response: str = "delta", *, min_replicates: int = 2, min_lrs: int = 1
) -> ReplicateMatrix:
    """Validate a tidy frame (one row per run) and pivot its response to a replicates × lrs matrix.

    Cells the frame lacks (an incomplete grid) are marked in ``present``; nothing is imputed.

    Raises
    ------
    ValueError
        Missing columns, unknown response, non-positive or non-finite lrs, missing
        replicate ids, duplicated ``(lr, replicate)`` rows, fewer than ``min_replicates``
        replicates or fewer than ``min_lrs`` lrs.
    """
    values = response_values(frame, response).to_numpy()
    lr = _numeric(frame, "lr")
    if lr.size == 0:
        raise ValueError("`frame` must not be empty. Received: frame with 0 rows")
    bad = ~np.isfinite(lr) | (lr <= 0)
    if bad.any():
        raise ValueError(
            f"`frame` column 'lr' must be finite and > 0. Received: lr values {np.unique(lr[bad])[:5].tolist()}"
        )
    replicate = frame["replicate"]
    if replicate.isna().any():
        raise ValueError("`frame` column 'replicate' must not contain missing values.")
    lrs, lr_index = np.unique(lr, return_inverse=True)
    replicates, replicate_index = np.unique(replicate.to_numpy(), return_inverse=True)
    n_replicates, n_lrs = replicates.size, lrs.size
    cell = replicate_index * n_lrs + lr_index
    counts = np.bincount(cell, minlength=n_replicates * n_lrs)
    if (counts > 1).any():
        first = int(np.argmax(counts > 1))
        raise ValueError(
            "`frame` must have one row per (lr, replicate). Received: duplicated rows, e.g. "
            f"lr={lrs[first % n_lrs]!r}, replicate={replicates[first // n_lrs]!r}"
        )
    if n_replicates < min_replicates:
        raise ValueError(
            f"`frame` must have at least {min_replicates} replicates. Received: {n_replicates}"
        )
    if n_lrs < min_lrs:
        raise ValueError(f"`frame` must have at least {min_lrs} lrs. Received: {n_lrs}")
    matrix = np.full(n_replicates * n_lrs, np.nan, dtype=np.float64)
    matrix[cell] = values
    present = None if (counts > 0).all() else (counts > 0).reshape(n_replicates, n_lrs)
    return ReplicateMatrix(
        values=matrix.reshape(n_replicates, n_lrs),
        lrs=lrs,
        replicates=replicates,
        response=response,
        present=present,
    )
