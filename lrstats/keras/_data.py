"""Turning the user's inputs into a validated pool of numpy rows.

The sampler accepts NumPy arrays, pandas objects, dicts (or lists) of arrays for
models with several inputs or outputs, and a ``tf.data.Dataset`` of ``(x, y)`` or
``(x, y, sample_weight)`` batches. Everything becomes a nested structure of numpy
arrays with one common number of rows, checked for finiteness, before any model
state is touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class DataPool:
    """Rows the sampler draws subsamples from.

    Attributes
    ----------
    x, y : nested structure of numpy arrays
        Leading axis = rows. ``y`` may be ``None`` for models whose loss needs no target.
    sample_weight : numpy.ndarray or None
        One weight per row.
    n_rows : int
        Number of rows in the pool.
    reshuffles : bool
        The pool came from a ``tf.data.Dataset`` whose order changes from one iteration
        to the next (``shuffle(..., reshuffle_each_iteration=True)``): another call draws
        from other rows.
    """

    x: Any
    y: Any
    sample_weight: np.ndarray | None
    n_rows: int
    reshuffles: bool = False


def _to_numpy(value: Any, name: str) -> Any:
    """Recursively convert pandas objects, tensors, lists of arrays and dicts to numpy."""
    if value is None:
        return None
    if isinstance(value, dict):
        if not value:
            raise ValueError(f"`{name}` must not be an empty dict. Received: {name}={value!r}")
        return {key: _to_numpy(item, f"{name}[{key!r}]") for key, item in value.items()}
    if isinstance(value, (list, tuple)) and value and all(_is_array_like(v) for v in value):
        return [_to_numpy(item, f"{name}[{i}]") for i, item in enumerate(value)]
    if hasattr(value, "to_numpy"):  # pandas DataFrame / Series
        value = value.to_numpy()
    elif hasattr(value, "numpy") and not isinstance(value, np.ndarray):  # eager tensor
        value = value.numpy()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"`{name}` must be array-like (NumPy, pandas, a dict or list of arrays). "
            f"Received: {name} of type {type(value).__name__}"
        ) from None
    if array.dtype == object:
        raise TypeError(
            f"`{name}` must hold numbers, not Python objects. Received: {name} with dtype object"
        )
    if array.ndim == 0:
        raise ValueError(
            f"`{name}` must have a leading axis of rows. Received: a scalar {name}={value!r}"
        )
    return array


def _is_array_like(value: Any) -> bool:
    return isinstance(value, np.ndarray) or hasattr(value, "to_numpy") or hasattr(value, "shape")


def leaves(structure: Any, name: str = "x") -> list[tuple[str, np.ndarray]]:
    if structure is None:
        return []
    if isinstance(structure, dict):
        return [
            leaf for key, item in structure.items() for leaf in leaves(item, f"{name}[{key!r}]")
        ]
    if isinstance(structure, (list, tuple)):
        return [leaf for i, item in enumerate(structure) for leaf in leaves(item, f"{name}[{i}]")]
    return [(name, structure)]


def take(structure: Any, rows: np.ndarray) -> Any:
    """Rows ``rows`` of every array of a nested structure (dicts and lists of arrays)."""
    if structure is None:
        return None
    if isinstance(structure, dict):
        return {key: take(value, rows) for key, value in structure.items()}
    if isinstance(structure, list):
        return [take(value, rows) for value in structure]
    return structure[rows]


def epoch_orders(rng: np.random.Generator, n_rows: int, min_rows: int) -> np.ndarray:
    """Whole epochs of row order: permutations of ``n_rows`` rows drawn from ``rng``.

    As many permutations as cover ``min_rows`` rows (none when ``min_rows <= 0``) are
    drawn one after another and concatenated, so that callers drawing them in pieces get
    the same stream as one call.
    """
    parts = [rng.permutation(n_rows) for _ in range(max(0, -(-min_rows // n_rows)))]
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def _check_finite(structure: Any, name: str) -> None:
    for leaf_name, array in leaves(structure, name):
        if np.issubdtype(array.dtype, np.inexact):
            bad = ~np.isfinite(array)
            if bad.any():
                raise ValueError(
                    f"`{leaf_name}` must contain only finite values. Received: {leaf_name} with "
                    f"{int(bad.sum())} NaN or inf value(s) among {array.size}"
                )


def _n_rows(structure: Any, name: str) -> int:
    lengths = {leaf_name: array.shape[0] for leaf_name, array in leaves(structure, name)}
    distinct = set(lengths.values())
    if len(distinct) > 1:
        raise ValueError(
            f"All arrays in `{name}` must have the same number of rows. Received: {lengths}"
        )
    return distinct.pop()


def _materialize_dataset(dataset: Any, max_rows: int) -> tuple[Any, Any, Any]:
    """Concatenate the first ``max_rows`` rows of a batched ``tf.data.Dataset``."""
    import tensorflow as tf

    xs, ys, ws = [], [], []
    rows = 0
    for element in dataset:
        if not isinstance(element, (tuple, list)) or not 1 <= len(element) <= 3:
            raise TypeError(
                "`x` as a tf.data.Dataset must yield (x, y) or (x, y, sample_weight) batches. "
                f"Received: elements of type {type(element).__name__}"
            )
        parts = list(element) + [None] * (3 - len(element))
        batch_x, batch_y, batch_w = (
            None if part is None else tf.nest.map_structure(np.asarray, part) for part in parts
        )
        sizes = {
            f"{name}": array.shape[0] if array.ndim else None
            for part, part_name in ((batch_x, "x"), (batch_y, "y"), (batch_w, "sample_weight"))
            for name, array in leaves(part, part_name)
        }
        if None in sizes.values() or len(set(sizes.values())) > 1:
            shapes = {
                name: array.shape
                for part, part_name in ((batch_x, "x"), (batch_y, "y"))
                for name, array in leaves(part, part_name)
            }
            raise ValueError(
                "`x` must be a batched tf.data.Dataset (call dataset.batch(n)): its elements "
                "do not share a leading axis of rows, as single examples would not. "
                f"Received: an element with shapes {shapes}"
            )
        size = _n_rows(_to_numpy(batch_x, "x"), "x")
        xs.append(batch_x)
        ys.append(batch_y)
        ws.append(batch_w)
        rows += size
        if rows >= max_rows:
            break
    if not xs:
        raise ValueError("`x` is an empty tf.data.Dataset. Received: a dataset with no elements")

    def concat(parts: list[Any]) -> Any:
        if parts[0] is None:
            return None
        return tf.nest.map_structure(lambda *arrays: np.concatenate(arrays)[:max_rows], *parts)

    return concat(xs), concat(ys), concat(ws)


def _reshuffles(dataset: Any) -> bool:
    """Whether two iterations of ``dataset`` start with different first elements."""
    import tensorflow as tf

    try:
        first = [tf.nest.flatten(next(iter(dataset))) for _ in range(2)]
    except (StopIteration, tf.errors.OutOfRangeError):
        return False  # empty: refused when materialized
    return not all(
        np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(*first, strict=True)
    )


def prepare_data(x: Any, y: Any, sample_weight: Any, *, max_rows: int) -> DataPool:
    """Validate and convert the sampler's inputs; raises before any state changes."""
    if x is None:
        raise TypeError("`x` must be array-like or a tf.data.Dataset. Received: x=None")
    reshuffles = False
    if type(x).__module__.startswith("tensorflow") and hasattr(x, "element_spec"):
        if y is not None:
            raise ValueError(
                "`y` must be None when `x` is a tf.data.Dataset (targets come from the dataset). "
                f"Received: y of type {type(y).__name__}"
            )
        reshuffles = _reshuffles(x)
        x, y, dataset_weight = _materialize_dataset(x, max_rows)
        if sample_weight is None:
            sample_weight = dataset_weight
    x = _to_numpy(x, "x")
    y = _to_numpy(y, "y")
    n_rows = _n_rows(x, "x")
    if y is not None:
        n_y = _n_rows(y, "y")
        if n_y != n_rows:
            raise ValueError(
                f"`x` and `y` must have the same number of rows. Received: x with {n_rows} rows, "
                f"y with {n_y} rows"
            )
    if sample_weight is not None:
        sample_weight = _to_numpy(sample_weight, "sample_weight")
        if isinstance(sample_weight, (dict, list)) or sample_weight.dtype.kind not in "biuf":
            raise TypeError(
                "`sample_weight` must be an array of numbers, one weight per row. Received: "
                f"sample_weight of type {type(sample_weight).__name__}"
                + (
                    ""
                    if isinstance(sample_weight, (dict, list))
                    else f" and dtype {sample_weight.dtype}"
                )
            )
        sample_weight = sample_weight.astype(np.float64)
        if sample_weight.ndim == 2 and sample_weight.shape[1] == 1:
            sample_weight = sample_weight[:, 0]
        if sample_weight.ndim != 1 or sample_weight.shape[0] != n_rows:
            raise ValueError(
                f"`sample_weight` must be 1-D with one weight per row ({n_rows}). "
                f"Received: sample_weight with shape {sample_weight.shape}"
            )
        if (~np.isfinite(sample_weight)).any() or (sample_weight < 0).any():
            raise ValueError(
                "`sample_weight` must be finite and >= 0. Received: sample_weight with "
                f"{int((~np.isfinite(sample_weight) | (sample_weight < 0)).sum())} bad value(s)"
            )
    _check_finite(x, "x")
    _check_finite(y, "y")
    return DataPool(x=x, y=y, sample_weight=sample_weight, n_rows=n_rows, reshuffles=reshuffles)
