"""The durable store of a sweep: append as runs finish, resume, refuse foreign stores, SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from sweep_models import build_mlp, sweep_data

from lrstats.io.store import CONFIG_NAME, RunStore
from lrstats.keras import sensitivity

OPTIONS = dict(lrs=[0.01, 0.03, 0.1], seeds=2, epochs=2, batch_size=16, progress=False)


@pytest.fixture(scope="module")
def data():
    return sweep_data()


@pytest.fixture(scope="module")
def plain(data):
    x, y, validation = data
    return sensitivity(build_mlp, x, y, validation_data=validation, **OPTIONS)


def _runs(path: Path) -> list[Path]:
    return sorted(path.glob("run-*.parquet"))


def _listing(path: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in path.iterdir()}


def test_a_stored_sweep_equals_the_plain_one_and_resumes_without_rerunning(data, plain, tmp_path):
    x, y, validation = data
    store = tmp_path / "store"
    first = sensitivity(build_mlp, x, y, validation_data=validation, store=store, **OPTIONS)
    pd.testing.assert_frame_equal(first, plain)
    assert first.attrs == plain.attrs
    assert len(_runs(store)) == 6 and (store / CONFIG_NAME).is_file()

    # Lose two finished runs; the rerun trains exactly those two.
    for path in _runs(store)[:2]:
        path.unlink()
    calls = []

    def counting(lr, seed):
        calls.append((lr, seed))
        return build_mlp(lr, seed)

    again = sensitivity(counting, x, y, validation_data=validation, store=store, **OPTIONS)
    assert len(calls) == 1 + 2  # the up-front check of build_model, then the two lost runs
    pd.testing.assert_frame_equal(again, plain)

    # Everything finished: nothing is trained, the frame comes from the store.
    calls.clear()
    done = sensitivity(counting, x, y, validation_data=validation, store=store, **OPTIONS)
    assert len(calls) == 1
    pd.testing.assert_frame_equal(done, plain)


@pytest.mark.parametrize(
    ("changes", "difference"),
    [
        ({"lrs": [0.01, 0.1]}, "lrs"),
        ({"seeds": 3}, "seeds"),
        ({"epochs": 3}, "epochs"),
        ({"batch_size": 32}, "batch_size"),
        ({"factors": {"momentum": [0.0]}}, "factors"),
        ({"x_scale": 2.0}, "data"),
    ],
)
def test_a_store_of_another_configuration_is_refused_and_left_untouched(
    data, tmp_path, changes, difference
):
    x, y, validation = data
    store = tmp_path / "store"
    small = dict(OPTIONS, lrs=[0.01, 0.03], seeds=1, epochs=1)
    sensitivity(build_mlp, x, y, validation_data=validation, store=store, **small)
    before = _listing(store)
    arguments = dict(small)
    arguments.update(changes)
    scale = arguments.pop("x_scale", 1.0)
    if "factors" in changes:
        arguments["factors"] = changes["factors"]
    with pytest.raises(
        ValueError, match=rf"`store` holds runs of a different configuration(.|\n)*{difference}"
    ):
        sensitivity(build_mlp, x * scale, y, validation_data=validation, store=store, **arguments)
    assert _listing(store) == before


def test_a_store_path_that_is_a_file_or_a_foreign_directory_is_refused(data, tmp_path):
    x, y, _ = data
    file = tmp_path / "file.parquet"
    file.write_bytes(b"not a store")
    with pytest.raises(ValueError, match=r"`store` must be a directory .* which is a file"):
        sensitivity(build_mlp, x, y, store=file, **OPTIONS)
    assert file.read_bytes() == b"not a store"
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"`store` must be a new or empty directory"):
        sensitivity(build_mlp, x, y, store=foreign, **OPTIONS)
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]


def test_a_half_written_run_is_never_read_as_finished(tmp_path):
    store = RunStore(tmp_path / "s", {"a": 1})
    store.append("k1", pd.DataFrame({"v": [1.0]}))
    # What a writer killed mid-write leaves behind: a temporary file, possibly truncated.
    (tmp_path / "s" / ".tmp-abc.parquet").write_bytes(b"PAR1 trunc")
    assert store.finished() == {"k1"}
    pd.testing.assert_frame_equal(store.read(), pd.DataFrame({"v": [1.0]}))
    assert store.clean() == 1
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [CONFIG_NAME, "run-k1.parquet"]


SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from sweep_models import build_mlp, sweep_data
    from lrstats.keras import sensitivity
    x, y, validation = sweep_data()
    sensitivity(build_mlp, x, y, validation_data=validation, store={store!r},
                lrs=[0.01, 0.03, 0.1], seeds=2, epochs=2, batch_size=16, progress=False)
    """
)


@pytest.mark.slow
def test_a_sweep_killed_midway_resumes_to_the_uninterrupted_result(data, plain, tmp_path):
    x, y, validation = data
    store = tmp_path / "store"
    script = SCRIPT.format(tests=str(Path(__file__).parent), store=str(store))
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    process = subprocess.Popen([sys.executable, "-c", script], env=environment)
    try:
        deadline = time.monotonic() + 120
        while not (store.is_dir() and len(_runs(store)) >= 2):
            assert process.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    finished = len(_runs(store))
    assert 2 <= finished < 6, f"{finished} runs finished before the kill: not midway"
    resumed = sensitivity(build_mlp, x, y, validation_data=validation, store=store, **OPTIONS)
    pd.testing.assert_frame_equal(resumed, plain)
    assert resumed.attrs == plain.attrs
