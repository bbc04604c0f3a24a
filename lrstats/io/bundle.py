"""Reading and writing tidy frames with their results and provenance.

One Parquet file holds everything about an analysis:

* the tidy frame itself (the row group data, exact float64 values, non-finite included);
* ``frame.attrs`` (sampler settings, seed, versions, …) as JSON in the file's key-value
  metadata under ``lrstats.attrs``, written by our own encoder so that tuples, numpy
  scalars and arrays, dicts with non-string keys and non-finite floats come back as they
  went in (pandas' own ``PANDAS_ATTRS`` turns tuples into lists and numpy scalars into
  Python numbers, and fails on arrays);
* the results' tables (``result.to_frame()``), each as an Arrow IPC stream under
  ``lrstats.table.<name>``, with the result's class and scalar fields under
  ``lrstats.results``;
* save-time provenance under ``lrstats.saved``: package versions and the command.

Why one file and not a directory bundle: the frame is the unit users pass around
(``lrstats report FRAME.parquet``), the results are small next to it, and Arrow IPC keeps
their dtypes and float bits exactly, which CSV or JSON would not. Any Parquet reader
still sees the plain frame.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib.metadata
import io
import json
import math
import platform
import shlex
import sys
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lrstats._validation import check_dataframe

__all__ = [
    "load_results",
    "load_tables",
    "read_provenance",
    "save_results",
]

_FORMAT_VERSION = 1
_KEY_ATTRS = b"lrstats.attrs"
_KEY_SAVED = b"lrstats.saved"
_KEY_RESULTS = b"lrstats.results"
_TABLE_PREFIX = "lrstats.table."
_TAG = "__lrstats_type__"
_VERSIONED = ("lrstats-inference", "numpy", "pandas", "scipy", "pyarrow", "matplotlib", "seaborn")


# --------------------------------------------------------------------------------------------
# Exact JSON encoding of provenance
# --------------------------------------------------------------------------------------------
def _encode(value: Any, where: str) -> Any:
    """Turn ``value`` into strict JSON, tagging whatever plain JSON would change."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and type(value) is int:
        return value
    if type(value) is float:
        if math.isfinite(value):
            return value
        return {_TAG: "float", "value": repr(value)}
    if isinstance(value, np.generic):
        if isinstance(value, (np.str_, np.bytes_, np.void)):
            raise TypeError(f"cannot store {where} of type {type(value).__name__} in provenance")
        return {
            _TAG: "numpy_scalar",
            "dtype": value.dtype.str,
            "value": _encode(value.item(), where),
        }
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise TypeError(
                f"cannot store {where}: numpy arrays of dtype {value.dtype} are not supported"
            )
        return {
            _TAG: "ndarray",
            "dtype": value.dtype.str,
            "shape": list(value.shape),
            "data": [_encode(item, where) for item in value.ravel().tolist()],
        }
    if isinstance(value, tuple):
        return {_TAG: "tuple", "items": [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        if all(type(k) is str for k in value) and _TAG not in value:
            return {k: _encode(v, f"{where}[{k!r}]") for k, v in value.items()}
        return {
            _TAG: "dict",
            "items": [
                [_encode(k, f"{where} key"), _encode(v, f"{where}[{k!r}]")]
                for k, v in value.items()
            ],
        }
    if isinstance(value, pd.Timestamp):
        return {_TAG: "timestamp", "value": value.isoformat()}
    raise TypeError(
        f"cannot store {where} of type {type(value).__name__} in provenance; use str, int, "
        "float, bool, None, lists, tuples, dicts, numpy scalars or numeric numpy arrays"
    )


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(_TAG)
    if tag is None:
        return {k: _decode(v) for k, v in value.items()}
    if tag == "float":
        return float(value["value"])
    if tag == "numpy_scalar":
        return np.dtype(value["dtype"]).type(_decode(value["value"]))
    if tag == "ndarray":
        data = [_decode(v) for v in value["data"]]
        return np.array(data, dtype=np.dtype(value["dtype"])).reshape(value["shape"])
    if tag == "tuple":
        return tuple(_decode(v) for v in value["items"])
    if tag == "dict":
        return {_hashable(_decode(k)): _decode(v) for k, v in value["items"]}
    if tag == "timestamp":
        return pd.Timestamp(value["value"])
    raise ValueError(f"unknown tagged value {tag!r} in lrstats provenance")


def _hashable(key: Any) -> Any:
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


def _dumps(value: Any, where: str) -> bytes:
    return json.dumps(_encode(value, where), allow_nan=False, sort_keys=False).encode("utf-8")


def _loads(raw: bytes) -> Any:
    return _decode(json.loads(raw.decode("utf-8")))


# --------------------------------------------------------------------------------------------
# Parquet
# --------------------------------------------------------------------------------------------
def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover
            continue
    return versions


def _table_bytes(frame: pd.DataFrame) -> bytes:
    import pyarrow as pa

    plain = frame.copy(deep=False)
    plain.attrs = {}
    table = pa.Table.from_pandas(plain, preserve_index=False)
    table = table.replace_schema_metadata(
        {k: v for k, v in (table.schema.metadata or {}).items() if k != b"PANDAS_ATTRS"}
    )
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return base64.b64encode(sink.getvalue())


def _table_from_bytes(raw: bytes) -> pd.DataFrame:
    import pyarrow as pa

    with pa.ipc.open_stream(base64.b64decode(raw)) as reader:
        return reader.read_all().to_pandas()


def _result_entry(name: str, result: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
    if isinstance(result, pd.DataFrame):
        return result, {"class": "DataFrame", "fields": {}}
    to_frame = getattr(result, "to_frame", None)
    if not callable(to_frame):
        raise TypeError(
            "`results` values must be lrstats result objects (with to_frame()) or DataFrames. "
            f"Received: results[{name!r}] of type {type(result).__name__}"
        )
    if not dataclasses.is_dataclass(result):
        raise TypeError(
            "`results` values must be lrstats result objects (dataclasses with to_frame()) or "
            f"DataFrames. Received: results[{name!r}] of type {type(result).__name__}"
        )
    fields: dict[str, Any] = {}
    for item in dataclasses.fields(result):
        key, value = item.name, getattr(result, item.name)
        if isinstance(value, (pd.DataFrame, pd.Series)):
            continue
        try:
            _encode(value, key)
        except TypeError:
            continue
        fields[key] = value
    cls = type(result)
    return to_frame(), {"class": f"{cls.__module__}.{cls.__qualname__}", "fields": fields}


def save_results(
    frame: pd.DataFrame,
    path: str | PathLike[str],
    *,
    results: Mapping[str, Any] | None = None,
    command: str | None = None,
) -> Path:
    """Write a tidy frame, its provenance and optionally its results to one Parquet file.

    Parameters
    ----------
    frame : pandas.DataFrame
        The tidy frame; its ``attrs`` are the provenance and are stored exactly.
    path : str or path-like
        Destination (conventionally ``*.parquet``); parent directories are created.
    results : mapping of str to result or DataFrame, optional
        Named results (``Summary``, ``Selection``, …, or plain DataFrames). Each is stored
        as its ``to_frame()`` table plus its class name and scalar fields; read them back
        with :func:`load_tables` and :func:`read_provenance`.
    command : str, optional
        The command that produced the frame. Default: this process's command line
        (``sys.argv``).

    Returns
    -------
    pathlib.Path
        The written file.

    Notes
    -----
    ``frame.attrs`` may hold str, int, float (non-finite too), bool, None, lists, tuples,
    dicts (any hashable keys), numpy scalars and numeric numpy arrays, nested freely; other
    types raise ``TypeError`` before anything is written. Save-time provenance (package
    versions, the command, the format version) is stored separately and does not change
    ``attrs``, so ``load_results(save_results(frame, p))`` equals ``frame`` including attrs.

    Examples
    --------
    >>> from lrstats.io import load_results, save_results
    >>> from lrstats.simulate import simulate_frame
    >>> frame = simulate_frame(replicates=5, rng=0)
    >>> path = save_results(frame, "frame.parquet")    # doctest: +SKIP
    >>> load_results(path).attrs == frame.attrs        # doctest: +SKIP
    True
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    check_dataframe(frame)
    if not isinstance(path, (str, PathLike)):
        raise TypeError(f"`path` must be a str or path-like. Received: path={path!r}")
    if command is not None and not isinstance(command, str):
        raise TypeError(f"`command` must be a str or None. Received: command={command!r}")
    if results is not None and not isinstance(results, Mapping):
        raise TypeError(
            f"`results` must be a mapping of names to results. Received: results of type {type(results).__name__}"
        )
    for name in results or {}:
        if not isinstance(name, str) or not name:
            raise ValueError(f"`results` names must be non-empty strings. Received: {name!r}")

    # Validate and encode everything before writing anything.
    metadata: dict[bytes, bytes] = {_KEY_ATTRS: _dumps(dict(frame.attrs), "frame.attrs")}
    entries: dict[str, Any] = {}
    for name, result in (results or {}).items():
        table, entry = _result_entry(name, result)
        metadata[(_TABLE_PREFIX + name).encode()] = _table_bytes(table)
        entries[name] = entry
    metadata[_KEY_RESULTS] = _dumps(entries, "results")
    saved = {
        "format": _FORMAT_VERSION,
        "versions": _versions(),
        "command": command if command is not None else shlex.join(sys.argv),
    }
    metadata[_KEY_SAVED] = _dumps(saved, "saved")

    plain = frame.copy(deep=False)
    plain.attrs = {}
    table = pa.Table.from_pandas(plain, preserve_index=None)
    existing = {k: v for k, v in (table.schema.metadata or {}).items() if k != b"PANDAS_ATTRS"}
    table = table.replace_schema_metadata({**existing, **metadata})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def _read_metadata(path: str | PathLike[str]) -> dict[bytes, bytes]:
    import pyarrow.parquet as pq

    if not isinstance(path, (str, PathLike)):
        raise TypeError(f"`path` must be a str or path-like. Received: path={path!r}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"`path` does not exist. Received: path={str(path)!r}")
    return dict(pq.read_schema(path).metadata or {})


def load_results(path: str | PathLike[str]) -> pd.DataFrame:
    """Read a frame written by :func:`save_results` (or any Parquet file of a tidy frame).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    pandas.DataFrame
        The frame with exactly the ``attrs`` it was saved with. A Parquet file written by
        ``DataFrame.to_parquet`` loads with the ``attrs`` pandas stored (as JSON, so tuples
        come back as lists); other files load with empty ``attrs``.

    Examples
    --------
    >>> from lrstats.io import load_results
    >>> frame = load_results("frame.parquet")     # doctest: +SKIP
    """
    import pyarrow.parquet as pq

    metadata = _read_metadata(path)
    frame = pq.read_table(Path(path)).to_pandas()
    if _KEY_ATTRS in metadata:
        frame.attrs = _loads(metadata[_KEY_ATTRS])
    elif b"PANDAS_ATTRS" in metadata:  # written by pandas' own to_parquet
        frame.attrs = json.loads(metadata[b"PANDAS_ATTRS"].decode("utf-8"))
    return frame


def load_tables(path: str | PathLike[str]) -> dict[str, pd.DataFrame]:
    """The result tables stored by :func:`save_results`, by name (empty if none).

    Examples
    --------
    >>> from lrstats.io import load_tables
    >>> load_tables("frame.parquet")["summary"]   # doctest: +SKIP
    """
    metadata = _read_metadata(path)
    prefix = _TABLE_PREFIX.encode()
    names = _loads(metadata[_KEY_RESULTS]) if _KEY_RESULTS in metadata else {}
    return {name: _table_from_bytes(metadata[prefix + name.encode()]) for name in names}


def read_provenance(path: str | PathLike[str]) -> dict[str, Any]:
    """Everything stored about a saved frame except the data.

    Returns
    -------
    dict
        ``attrs`` (the frame's attrs), ``saved`` (``format``, ``versions``, ``command`` at
        save time) and ``results`` (per name: ``class`` and scalar ``fields``).

    Examples
    --------
    >>> from lrstats.io import read_provenance
    >>> read_provenance("frame.parquet")["saved"]["command"]   # doctest: +SKIP
    """
    metadata = _read_metadata(path)
    return {
        "attrs": _loads(metadata[_KEY_ATTRS]) if _KEY_ATTRS in metadata else {},
        "saved": _loads(metadata[_KEY_SAVED]) if _KEY_SAVED in metadata else {},
        "results": _loads(metadata[_KEY_RESULTS]) if _KEY_RESULTS in metadata else {},
    }
