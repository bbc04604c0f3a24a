"""lrstats.execution.map_runs: serial, and on a 2-process Dask LocalCluster (no TensorFlow)."""

from __future__ import annotations

import os

import pytest

from lrstats.execution import map_runs, split_range

distributed = pytest.importorskip("distributed")


def _scaled(task, shared):
    return task * shared["factor"]


_KEPT = []


def _where(task, shared):
    # Which process ran the task, and which copy of the shared data it saw (kept alive, so
    # that two copies can never share an id).
    _KEPT.append(shared)
    return os.getpid(), id(shared), task


def _fails_on_three(task, shared):
    if task == 3:
        raise RuntimeError("task three failed")
    return task


def test_serial_runs_in_task_order_and_reports_each_result():
    seen = []
    results = map_runs(
        _scaled, [3, 1, 2], shared={"factor": 10}, on_result=lambda i, r: seen.append((i, r))
    )
    assert results == [30, 10, 20]
    assert seen == [(0, 30), (1, 10), (2, 20)]


def test_dask_results_equal_serial_ones_in_task_order(client):
    tasks = list(range(12))[::-1]
    seen = {}
    results = map_runs(
        _scaled,
        tasks,
        shared={"factor": 7},
        executor=client,
        on_result=lambda i, r: seen.__setitem__(i, r),
    )
    assert results == map_runs(_scaled, tasks, shared={"factor": 7})
    assert seen == dict(enumerate(results))


def test_shared_data_is_sent_once_per_worker_not_with_every_task(client):
    results = map_runs(_where, range(16), shared={"big": bytes(1 << 20)}, executor=client)
    copies = {}
    for pid, identity, _ in results:
        copies.setdefault(pid, set()).add(identity)
    assert all(pid != os.getpid() for pid in copies)  # ran on the workers
    # Every task on a worker saw the same object: one deserialized copy per worker.
    assert all(len(identities) == 1 for identities in copies.values())
    assert [task for *_, task in results] == list(range(16))


def test_a_failing_run_raises_here(client):
    with pytest.raises(RuntimeError, match="task three failed"):
        map_runs(_fails_on_three, range(6), shared=None, executor=client)
    with pytest.raises(RuntimeError, match="task three failed"):
        map_runs(_fails_on_three, range(6))


def test_bad_executor_is_refused():
    with pytest.raises(
        TypeError, match=r"`executor` must be None .* Received: executor of type str"
    ):
        map_runs(_scaled, [1], executor="localhost:8786")


def test_split_range_is_contiguous_and_balanced():
    parts = split_range(range(3, 13), 3)
    assert parts == [range(3, 6), range(6, 9), range(9, 13)]
    assert split_range(range(2), 5) == [range(0, 1), range(1, 2)]
    with pytest.raises(ValueError, match=r"`shards` must be an integer >= 1"):
        split_range(range(4), 0)


def test_describe_executor(client):
    from lrstats.execution import describe_executor

    assert describe_executor(None) == "serial"
    assert describe_executor(client).endswith("(2 workers, 2 threads)")
