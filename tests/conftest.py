"""Fixtures shared by more than one test directory."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def client():
    """A Dask client on a 2-process LocalCluster (one per test module)."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client
