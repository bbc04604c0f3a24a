"""Sweeps and sampler shards on a 2-process Dask LocalCluster equal their serial frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sweep_models import build_dropout_mlp, sweep_data

from lrstats.keras import sample_deltas, sample_deltas_sharded, sensitivity

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow


def test_a_sweep_on_dask_equals_the_serial_sweep(client, tmp_path):
    x, y, validation = sweep_data()
    options = dict(
        lrs=[0.01, 0.1],
        seeds=2,
        epochs=2,
        batch_size=16,
        validation_data=validation,
        progress=False,
    )
    serial = sensitivity(build_dropout_mlp, x, y, **options)
    distributed_frame = sensitivity(
        build_dropout_mlp, x, y, executor=client, store=tmp_path / "store", **options
    )
    pd.testing.assert_frame_equal(distributed_frame, serial)
    assert distributed_frame.attrs == serial.attrs
    assert len(list((tmp_path / "store").glob("run-*.parquet"))) == 4


@pytest.fixture(scope="module")
def sampler_setup(make_model, regression_data, small_grid):
    x, y = regression_data
    model = make_model(seed=0, optimizer="momentum")
    options = dict(lrs=small_grid, batch_size=16, seed=5, chunk_size=4)
    single = sample_deltas(model, x, y, replicates=10, progress=False, **options)
    return model, x, y, options, single


def test_sampler_shards_concatenate_to_the_single_machine_frame(sampler_setup, client):
    model, x, y, options, single = sampler_setup
    serial = sample_deltas_sharded(model, x, y, replicates=10, shards=3, **options)
    on_dask = sample_deltas_sharded(model, x, y, replicates=10, executor=client, **options)
    for frame, n_shards in ((serial, 3), (on_dask, 2)):
        pd.testing.assert_frame_equal(frame, single)
        assert len(frame.attrs.pop("shards")) == n_shards
        assert frame.attrs == single.attrs
    # The replicates really are drawn separately: a shard is not the first rows of another.
    assert not np.array_equal(single["post"][:7], single["post"][7:14])
