"""``sample_deltas_sharded``: the ΔL sampler's replicates, cut into shards, on an executor."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import pandas as pd

from lrstats._streams import check_seed
from lrstats._validation import check_int
from lrstats.execution import check_executor, map_runs, split_range

__all__ = ["sample_deltas_sharded"]


@dataclass(frozen=True)
class _Payload:
    """The model, data and options of every shard, sent to each worker once.

    A plain class, so Dask pickles it whole (the model through Keras' own pickling, which
    keeps the weights and the optimizer state exactly) instead of trying its outdated
    Keras-2 serializer on the model.
    """

    model: Any
    x: Any
    y: Any
    options: dict[str, Any]


def _sample_shard(replicates: range, payload: _Payload) -> pd.DataFrame:
    from lrstats.keras import sample_deltas

    return sample_deltas(
        payload.model,
        payload.x,
        payload.y,
        replicates=replicates,
        progress=False,
        **payload.options,
    )


def sample_deltas_sharded(
    model: Any,
    x: Any,
    y: Any = None,
    *,
    lrs: Any,
    replicates: int | range,
    batch_size: int,
    seed: int | None = None,
    shards: int | None = None,
    executor: Any = None,
    **options: Any,
) -> pd.DataFrame:
    """:func:`~lrstats.keras.sample_deltas` with its replicates cut into shards.

    Every shard is ``sample_deltas(model, x, y, replicates=range(a, b), seed=seed, ...)``;
    a replicate's draws depend only on ``(seed, replicate)``, so the concatenated shards
    are the frame of a single call.

    Parameters
    ----------
    model, x, y, lrs, batch_size
        As for :func:`~lrstats.keras.sample_deltas`. With Dask, the model (weights and
        optimizer state, pickled by Keras) and the data are scattered to every worker
        once; ``x`` and ``y`` must then be arrays or structures of arrays.
    replicates : int or range
        ``M`` (ids ``0 … M-1``) or a range of ids, cut into contiguous shards.
    seed : int, optional
        Seed of every draw. ``None`` draws fresh entropy once, here, so that every shard
        uses the same seed (stored in ``attrs["seed"]``).
    shards : int, optional
        Number of shards. Default: one per Dask worker thread, or 1 without Dask.
    executor : None or dask.distributed.Client, optional
        Where the shards run (:func:`lrstats.execution.map_runs`).
    **options
        Other keyword arguments of ``sample_deltas`` (``evaluate``, ``eval_mode``,
        ``sample_weight``, ``chunk_size``, ``max_rows``).

    Returns
    -------
    pandas.DataFrame
        The frame of ``sample_deltas`` over all replicates, sorted by replicate then lr,
        with the first shard's ``attrs``; ``attrs["path"]`` is ``"mixed"`` if shards took
        different paths, ``attrs["chunk_size"]`` is the largest shard's, and
        ``attrs["shards"]`` records the shard ranges.

    Examples
    --------
    >>> from dask.distributed import Client                         # doctest: +SKIP
    >>> frame = sample_deltas_sharded(model, x, y, lrs=grid, replicates=1000,
    ...                               batch_size=64, seed=0, executor=Client())  # doctest: +SKIP
    """
    executor = check_executor(executor)
    if isinstance(replicates, range):
        if len(replicates) < 1 or replicates.step != 1 or replicates.start < 0:
            raise ValueError(
                "`replicates` must be a non-empty range of ids >= 0 with step 1. "
                f"Received: replicates={replicates!r}"
            )
        ids = replicates
    elif isinstance(replicates, numbers.Integral) and not isinstance(replicates, bool):
        ids = range(check_int(replicates, "replicates", minimum=2))
    else:
        raise TypeError(
            "`replicates` must be an integer >= 2 or a range of replicate ids. "
            f"Received: replicates={replicates!r}"
        )
    if shards is None:
        if executor is None:
            shards = 1
        else:
            workers = executor.scheduler_info().get("workers", {})
            shards = max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
    ranges = split_range(ids, shards)
    entropy = check_seed(seed, "seed")
    if "progress" in options:
        raise TypeError("`progress` is not an option of sample_deltas_sharded (shards are silent)")
    shared = _Payload(
        model, x, y, {"lrs": lrs, "batch_size": batch_size, "seed": entropy, **options}
    )
    frames = map_runs(
        _sample_shard, ranges, shared=shared, executor=executor, key_prefix="lrstats-shard"
    )
    frame = pd.concat(frames, ignore_index=True)
    frame.attrs = dict(frames[0].attrs)
    paths = {f.attrs.get("path") for f in frames}
    if len(paths) > 1:
        frame.attrs["path"] = "mixed"
    # A shard smaller than the chunk size runs in one smaller chunk: record the largest.
    chunks = [f.attrs["chunk_size"] for f in frames if "chunk_size" in f.attrs]
    if chunks:
        frame.attrs["chunk_size"] = max(chunks)
    frame.attrs["shards"] = [(r.start, r.stop) for r in ranges]
    return frame
