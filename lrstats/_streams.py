"""Keyed random streams: every consumer of the one ``seed`` gets its own namespace.

A user passes one integer ``seed`` (or ``rng``) to the sampler, to ``analyse``, to a
sweep or a range test, often the same integer to all of them. If each consumer built its
streams as ``SeedSequence(seed, spawn_key=(i,))`` they would share bits: the bootstrap of
an analysis would reuse replicate 0's subsample draws. Instead every stream is

    ``SeedSequence(seed, spawn_key=(NAMESPACES[consumer], *key))``

where ``NAMESPACES`` gives each consumer a fixed, distinct first key word, and ``key`` is
the consumer's own index (a replicate id, an (lr, seed) run, a resample block, ...).
Two streams differ whenever their namespaces or their keys differ, whatever the seed,
and a stream depends on nothing but ``(seed, consumer, key)``: the same run gives the same
numbers wherever and in whatever order it is computed.

The namespace numbers are part of the reproducibility contract: they never change, and a
new consumer takes a new number.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

__all__ = ["NAMESPACES", "check_seed", "generator", "seed_sequence"]

#: The first spawn-key word of each consumer. Never renumber: frames depend on them.
NAMESPACES: dict[str, int] = {
    "sampling": 0x5A4D,  # ΔL sampler: one stream per replicate
    "analysis": 0xA7A1,  # inference: bootstrap resamples, selection rules, figure jitter
    "sweep": 0x5EE9,  # sensitivity sweeps: one stream per (lr, seed) run
    "range_test": 0x4A7E,  # LR range test: one stream per replicate
    "lookahead": 0x100C,  # multi-step lookahead: one stream per replicate
}


def check_seed(seed: Any, name: str = "seed") -> int:
    """An integer seed in ``[0, 2**128)``, or fresh OS entropy when ``seed`` is None."""
    if seed is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"`{name}` must be None or an integer >= 0. Received: {name}={seed!r}")
    if not 0 <= seed < 2**128:
        raise ValueError(
            f"`{name}` must be None or an integer in [0, 2**128). Received: {name}={seed!r}"
        )
    return int(seed)


def seed_sequence(seed: int, consumer: str, *key: int) -> np.random.SeedSequence:
    """The stream of ``consumer`` keyed by ``key`` under the integer ``seed``."""
    if consumer not in NAMESPACES:
        raise ValueError(
            f"`consumer` must be one of {sorted(NAMESPACES)}. Received: consumer={consumer!r}"
        )
    return np.random.SeedSequence(
        int(seed), spawn_key=(NAMESPACES[consumer], *(int(k) for k in key))
    )


def generator(rng: Any, consumer: str, name: str = "rng") -> np.random.Generator:
    """A Generator for ``consumer`` from a user's ``rng`` argument.

    An integer is keyed into the consumer's namespace (so ``analyse(frame, rng=0)`` never
    reuses the draws of ``sample_deltas(..., seed=0)``); a ``SeedSequence`` is keyed the
    same way from its entropy and spawn key; None gives fresh entropy; a ``Generator`` is
    used as it is (the caller owns its stream).
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, np.random.SeedSequence):
        if consumer not in NAMESPACES:
            raise ValueError(
                f"`consumer` must be one of {sorted(NAMESPACES)}. Received: consumer={consumer!r}"
            )
        keyed = np.random.SeedSequence(
            rng.entropy, spawn_key=(*rng.spawn_key, NAMESPACES[consumer])
        )
        return np.random.default_rng(keyed)
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"`{name}` must be a non-negative integer. Received: {name}={rng!r}")
        return np.random.default_rng(seed_sequence(int(rng), consumer))
    raise TypeError(
        f"`{name}` must be None, an int, a SeedSequence or a Generator. Received: {name}={rng!r}"
    )
