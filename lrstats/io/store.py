"""A resumable store of finished runs: a directory of Parquet files, one per run.

A long experiment (a sensitivity sweep: hundreds of full trainings) must survive a killed
process, a lost worker or Ctrl-C without losing any finished run, and must never mix runs
of two different experiments. The store is a directory::

    PATH/
      lrstats-store.json         the experiment's configuration (written once, at creation)
      run-<key>.parquet          one finished run each (a Parquet dataset: read them together)

* **Atomic runs.** A run is written to a hidden temporary file in the same directory,
  flushed to disk, and renamed to ``run-<key>.parquet`` (``os.replace`` is atomic on POSIX
  and Windows). A process killed mid-write leaves at most a temporary file, which is never
  read and is removed the next time the store is written; a run either is finished and
  complete, or does not exist.
* **One experiment per store.** The configuration (grid, seeds, epochs, batch size,
  factors, a fingerprint of the data, …) is stored at creation. Opening the store with a
  different configuration raises a ``ValueError`` listing the differences, before
  anything is written; the store is left as it was.
* **Keys.** The caller names each run with a key (a short hash of the run's identity);
  :meth:`RunStore.finished` lists the keys already stored, so a rerun skips them.

The store knows nothing about TensorFlow; the frames it holds are plain tidy frames.
"""

from __future__ import annotations

import os
import tempfile
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd

from lrstats._validation import check_dataframe
from lrstats.io.bundle import _dumps, _loads

__all__ = ["RunStore"]

CONFIG_NAME = "lrstats-store.json"
_RUN_PREFIX = "run-"
_RUN_SUFFIX = ".parquet"
_TEMP_PREFIX = ".tmp-"


def _differences(stored: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    lines = []
    for key in sorted(set(stored) | set(wanted), key=str):
        if key not in stored:
            lines.append(f"{key}: not in the store, now {wanted[key]!r}")
        elif key not in wanted:
            lines.append(f"{key}: {stored[key]!r} in the store, not given now")
        elif _dumps(stored[key], key) != _dumps(wanted[key], key):
            lines.append(f"{key}: {_short(stored[key])} in the store, now {_short(wanted[key])}")
    return lines


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class RunStore:
    """A directory of finished runs of one experiment (see the module docstring).

    Opening never writes: the directory is created with the first :meth:`append`.

    Parameters
    ----------
    path : str or path-like
        The store's directory. It may not exist yet; it must not be a file, and an
        existing non-empty directory must be a store of the same configuration.
    config : dict
        The experiment's configuration (JSON-able in the sense of
        :func:`lrstats.io.save_results`' provenance).
    name : str, default "store"
        The parameter name used in error messages.

    Raises
    ------
    ValueError
        ``path`` is a file, a non-empty directory that is not a store, or a store of a
        different configuration.

    Examples
    --------
    >>> from lrstats.io.store import RunStore
    >>> store = RunStore("sweep-store", {"lrs": [0.01, 0.1], "seeds": [0, 1]})  # doctest: +SKIP
    >>> store.finished()                                                      # doctest: +SKIP
    set()
    """

    def __init__(
        self, path: str | PathLike[str], config: dict[str, Any], *, name: str = "store"
    ) -> None:
        if not isinstance(path, (str, PathLike)):
            raise TypeError(
                f"`{name}` must be a directory path (str or path-like). Received: {name}={path!r}"
            )
        if not isinstance(config, dict):
            raise TypeError(f"`config` must be a dict. Received: config={config!r}")
        self.path = Path(path)
        self.name = name
        self.config = dict(config)
        self._config_bytes = _dumps(self.config, "config")  # validates JSON-ability
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(
                f"`{name}` must be a directory (the run store), not a file. "
                f"Received: {name}={str(self.path)!r}, which is a file"
            )
        config_file = self.path / CONFIG_NAME
        if config_file.is_file():
            stored = _loads(config_file.read_bytes())
            differences = _differences(stored, self.config)
            if differences:
                raise ValueError(
                    f"`{name}` holds runs of a different configuration; it is left untouched. "
                    f"Use a new directory, or the configuration it was made with. "
                    f"Received: {name}={str(self.path)!r} with differences:\n  "
                    + "\n  ".join(differences)
                )
        elif self.path.is_dir() and any(
            not p.name.startswith(_TEMP_PREFIX) for p in self.path.iterdir()
        ):
            raise ValueError(
                f"`{name}` must be a new or empty directory, or a store made by lrstats. "
                f"Received: {name}={str(self.path)!r}, a non-empty directory without "
                f"{CONFIG_NAME}"
            )

    # ------------------------------------------------------------------------------ reading
    def _run_files(self) -> list[Path]:
        if not self.path.is_dir():
            return []
        return sorted(
            p
            for p in self.path.iterdir()
            if p.name.startswith(_RUN_PREFIX) and p.name.endswith(_RUN_SUFFIX)
        )

    def finished(self) -> set[str]:
        """Keys of the runs stored (complete by construction)."""
        return {p.name[len(_RUN_PREFIX) : -len(_RUN_SUFFIX)] for p in self._run_files()}

    def read(self) -> pd.DataFrame:
        """Every stored run, concatenated in key order (empty frame if none)."""
        files = self._run_files()
        if not files:
            return pd.DataFrame()
        frames = [pd.read_parquet(p) for p in files]
        return pd.concat(frames, ignore_index=True)

    # ------------------------------------------------------------------------------ writing
    def _write_atomically(self, target: Path, write: Any) -> None:
        handle, temporary = tempfile.mkstemp(
            prefix=_TEMP_PREFIX, suffix=target.suffix, dir=self.path
        )
        os.close(handle)
        try:
            write(temporary)
            with open(temporary, "rb") as stream:
                os.fsync(stream.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _ensure_created(self) -> None:
        config_file = self.path / CONFIG_NAME
        if config_file.is_file():
            return
        self.path.mkdir(parents=True, exist_ok=True)
        self._write_atomically(config_file, lambda p: Path(p).write_bytes(self._config_bytes))

    def clean(self) -> int:
        """Remove temporary files left by killed writers; returns how many."""
        if not self.path.is_dir():
            return 0
        removed = 0
        for p in self.path.iterdir():
            if p.name.startswith(_TEMP_PREFIX):
                p.unlink(missing_ok=True)
                removed += 1
        return removed

    def append(self, key: str, frame: pd.DataFrame) -> Path:
        """Store one finished run atomically under ``key`` (replacing a run of that key)."""
        if not isinstance(key, str) or not key or not all(c.isalnum() or c in "-_" for c in key):
            raise ValueError(f"`key` must be a non-empty [A-Za-z0-9_-] string. Received: {key!r}")
        check_dataframe(frame)
        self._ensure_created()
        plain = frame.copy(deep=False)
        plain.attrs = {}
        target = self.path / f"{_RUN_PREFIX}{key}{_RUN_SUFFIX}"
        self._write_atomically(target, lambda p: plain.to_parquet(p, index=False))
        return target
