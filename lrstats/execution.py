"""Serial or Dask execution of independent runs (no TensorFlow at import).

Sweeps, sampler shards and range-test replicates are independent runs: a function of
its own small task (an lr, a seed, a replicate range, ...) and of large data that every
run shares. :func:`map_runs` runs such a function over a list of tasks, either in this
process, one after the other, or on a ``dask.distributed`` cluster:

* the shared data is sent to the workers **once** (``Client.scatter(..., broadcast=True)``)
  and every task receives a reference to it, so it is not serialized with each task;
* every task is submitted at once and results are handed back **as they complete**
  (``on_result`` is called in this process, e.g. to append a finished run to a store);
* the returned list is in task order, whatever the completion order, so the output is
  the same as the serial one.

A run must not depend on where or when it runs (its randomness keyed by the task through
:mod:`lrstats._streams`); then the serial and the distributed results are identical.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["describe_executor", "is_dask_client", "map_runs"]


def is_dask_client(executor: Any) -> bool:
    """True when ``executor`` is a ``dask.distributed.Client`` (without importing dask)."""
    cls = type(executor)
    return cls.__name__ == "Client" and cls.__module__.startswith("distributed")


def check_executor(executor: Any, name: str = "executor") -> Any:
    """``None`` (serial) or a ``dask.distributed.Client``; anything else is a TypeError."""
    if executor is None or is_dask_client(executor):
        return executor
    raise TypeError(
        f"`{name}` must be None (run serially in this process) or a dask.distributed.Client. "
        f"Received: {name} of type {type(executor).__name__}"
    )


def describe_executor(executor: Any) -> str:
    """A short human description: ``"serial"`` or the scheduler address and worker count."""
    if executor is None:
        return "serial"
    info = executor.scheduler_info()
    workers = info.get("workers", {})
    threads = sum(int(w.get("nthreads", 0)) for w in workers.values())
    return f"dask {executor.scheduler.address} ({len(workers)} workers, {threads} threads)"


def map_runs(
    function: Callable[[Any, Any], Any],
    tasks: Sequence[Any],
    *,
    shared: Any = None,
    executor: Any = None,
    on_result: Callable[[int, Any], None] | None = None,
    key_prefix: str = "lrstats-run",
) -> list[Any]:
    """Run ``function(task, shared)`` for every task, serially or on a Dask cluster.

    Parameters
    ----------
    function : callable
        ``function(task, shared) -> result``. With Dask it must be importable or
        picklable by cloudpickle on the workers (a module-level function is both).
    tasks : sequence
        Small, picklable task descriptions (one per run).
    shared : object, optional
        Data every run needs (arrays, a model, ...). Serially it is passed as it is; with
        Dask it is scattered to every worker once and tasks receive it from there.
    executor : None or dask.distributed.Client, optional
        ``None`` runs in this process, in task order. A ``Client`` submits every task at
        once and collects the results as they complete.
    on_result : callable, optional
        ``on_result(index, result)``, called in this process as each run completes (in
        completion order). An exception raised here, or by a run, cancels the runs not
        yet finished and propagates.
    key_prefix : str, default "lrstats-run"
        Prefix of the Dask task keys (shown in the dashboard).

    Returns
    -------
    list
        ``results[i]`` is ``function(tasks[i], shared)``, in task order.

    Examples
    --------
    >>> from lrstats.execution import map_runs
    >>> map_runs(lambda task, shared: task * shared, [1, 2, 3], shared=10)
    [10, 20, 30]
    """
    executor = check_executor(executor)
    if not callable(function):
        raise TypeError(f"`function` must be callable. Received: function={function!r}")
    tasks = list(tasks)
    if on_result is not None and not callable(on_result):
        raise TypeError(f"`on_result` must be callable or None. Received: on_result={on_result!r}")
    if executor is None:
        results = []
        for index, task in enumerate(tasks):
            result = function(task, shared)
            if on_result is not None:
                on_result(index, result)
            results.append(result)
        return results
    return _map_dask(function, tasks, shared, executor, on_result, key_prefix)


def _map_dask(function, tasks, shared, client, on_result, key_prefix) -> list[Any]:
    from uuid import uuid4

    from distributed import as_completed

    if not tasks:
        return []
    token = uuid4().hex[:12]
    # One copy of the data per worker, shipped once; tasks carry a reference to it.
    # (In a list: scatter would split a dict or a list into one future per item.)
    shared_future = (
        client.scatter([shared], broadcast=True, hash=False)[0] if shared is not None else None
    )
    futures = [
        client.submit(function, task, shared_future, key=f"{key_prefix}-{token}-{i}", pure=False)
        for i, task in enumerate(tasks)
    ]
    index_of = {future.key: i for i, future in enumerate(futures)}
    results: list[Any] = [None] * len(tasks)
    try:
        for future in as_completed(futures):
            index = index_of[future.key]
            result = future.result()  # re-raises the run's exception here
            if on_result is not None:
                on_result(index, result)
            results[index] = result
            future.release()
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        if shared_future is not None:
            shared_future.release()
    return results


def split_range(ids: range, n_shards: int) -> list[range]:
    """``ids`` cut into ``n_shards`` contiguous, nearly equal, non-empty ranges."""
    if isinstance(n_shards, bool) or not isinstance(n_shards, numbers.Integral) or n_shards < 1:
        raise ValueError(f"`shards` must be an integer >= 1. Received: shards={n_shards!r}")
    n_shards = min(int(n_shards), len(ids))
    bounds = [len(ids) * k // n_shards for k in range(n_shards + 1)]
    return [ids[bounds[k] : bounds[k + 1]] for k in range(n_shards)]
