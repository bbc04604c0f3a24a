"""Synthetic ΔL frames with a known truth, for tests, docs and benchmarks (numpy/pandas only)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from lrstats._validation import as_rng, check_choice, check_int, check_lrs, check_real


def simulate_frame(
    lrs: Any = None,
    replicates: int = 50,
    *,
    optimum_lr: float = 0.01,
    depth: float = 0.1,
    slope_sd: float = 0.2,
    curvature_sd: float = 0.2,
    noise_sd: float = 0.005,
    noise: str = "normal",
    pre_loss: float = 1.0,
    pre_sd: float = 0.05,
    diverge_above: float | None = None,
    rng: Any = None,
) -> pd.DataFrame:
    """Draw a tidy ``lr, replicate, pre, post`` frame from the one-step quadratic model.

    Replicate ``r`` has its own slope and curvature, shared by every lr (the
    design is paired), and each cell adds independent measurement noise:

    .. math::

        \\Delta L_{rk} = -a_r \\eta_k + b_r \\eta_k^2 + \\varepsilon_{rk},\\quad
        a_r = a (1 + s_a z_r),\\quad b_r = b (1 + s_b w_r)

    with ``a = 2 * depth / optimum_lr`` and ``b = depth / optimum_lr**2``, so the
    expected curve ``-a η + b η²`` has its minimum ``-depth`` at ``optimum_lr``.

    Parameters
    ----------
    lrs : array_like, optional
        Grid; default ``log_grid(optimum_lr / 100, optimum_lr * 10, 31)``.
    replicates : int, default 50
        Number of replicates (ids ``0 … replicates-1``).
    optimum_lr, depth : float
        Location and depth of the expected minimum.
    slope_sd, curvature_sd : float
        Relative between-replicate spread of ``a_r`` and ``b_r``.
    noise_sd : float
        Standard deviation of the cell noise ``ε``.
    noise : {"normal", "skewed"}
        ``"skewed"`` draws ``ε`` from a centred exponential (skewness 2).
    pre_loss, pre_sd : float
        ``pre`` is ``pre_loss * exp(pre_sd * N(0, 1))`` per replicate.
    diverge_above : float, optional
        Learning rates above this give ``post = inf`` (divergence).
    rng : seed or Generator, optional
        Source of all randomness.

    Returns
    -------
    pandas.DataFrame
        Columns ``lr, replicate, pre, post``; ``attrs["truth"]`` holds ``a``, ``b``,
        ``optimum_lr``, ``break_even_lr`` (``a / b``) and ``depth``.

    Examples
    --------
    >>> from lrstats.simulate import simulate_frame
    >>> frame = simulate_frame(replicates=5, rng=0)
    >>> list(frame.columns)
    ['lr', 'replicate', 'pre', 'post']
    """
    optimum_lr = check_real(optimum_lr, "optimum_lr", low=0.0, low_inclusive=False)
    if lrs is None:
        lrs = np.logspace(np.log10(optimum_lr / 100), np.log10(optimum_lr * 10), 31)
    grid = np.sort(check_lrs(lrs))
    replicates = check_int(replicates, "replicates", minimum=1)
    depth = check_real(depth, "depth", low=0.0, low_inclusive=False)
    slope_sd = check_real(slope_sd, "slope_sd", low=0.0)
    curvature_sd = check_real(curvature_sd, "curvature_sd", low=0.0)
    noise_sd = check_real(noise_sd, "noise_sd", low=0.0)
    noise = check_choice(noise, "noise", ("normal", "skewed"))
    pre_loss = check_real(pre_loss, "pre_loss", low=0.0, low_inclusive=False)
    pre_sd = check_real(pre_sd, "pre_sd", low=0.0)
    if diverge_above is not None:
        diverge_above = check_real(diverge_above, "diverge_above", low=0.0, low_inclusive=False)
    generator = as_rng(rng)

    a = 2.0 * depth / optimum_lr
    b = depth / optimum_lr**2
    a_r = a * (1.0 + slope_sd * generator.standard_normal(replicates))
    b_r = b * (1.0 + curvature_sd * generator.standard_normal(replicates))
    pre = pre_loss * np.exp(pre_sd * generator.standard_normal(replicates))
    shape = (replicates, grid.size)
    if noise == "normal":
        eps = noise_sd * generator.standard_normal(shape)
    else:
        eps = noise_sd * (generator.standard_exponential(shape) - 1.0)
    delta = -a_r[:, None] * grid[None, :] + b_r[:, None] * grid[None, :] ** 2 + eps
    post = pre[:, None] + delta
    if diverge_above is not None:
        post[:, grid > diverge_above] = np.inf

    frame = pd.DataFrame(
        {
            "lr": np.tile(grid, replicates),
            "replicate": np.repeat(np.arange(replicates, dtype=np.int64), grid.size),
            "pre": np.repeat(pre, grid.size),
            "post": post.ravel(),
        }
    )
    frame.attrs["truth"] = {
        "a": a,
        "b": b,
        "optimum_lr": optimum_lr,
        "break_even_lr": a / b,
        "depth": depth,
    }
    frame.attrs["source"] = "lrstats.simulate.simulate_frame"
    return frame


def expected_delta(lr: Any, frame_or_truth: Any) -> np.ndarray:
    """The expected ΔL, ``-a η + b η²``, of a simulated frame (or its ``attrs["truth"]``)."""
    truth = frame_or_truth.attrs["truth"] if hasattr(frame_or_truth, "attrs") else frame_or_truth
    lr = np.asarray(lr, dtype=np.float64)
    return -truth["a"] * lr + truth["b"] * lr**2
