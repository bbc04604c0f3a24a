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


def simulate_sweep(
    lrs: Any = None,
    replicates: int = 5,
    epochs: int = 10,
    *,
    optimum_lr: float = 0.01,
    batch_sizes: Any = None,
    floor: float = 0.3,
    start: float = 2.0,
    width: float = 0.25,
    rate: float = 0.5,
    seed_sd: float = 0.03,
    noise_sd: float = 0.01,
    diverge_above: float | None = None,
    rng: Any = None,
) -> pd.DataFrame:
    """Draw a long sensitivity-sweep frame ``lr, replicate, epoch, loss, val_loss, accuracy``.

    Run ``(lr, replicate)`` trains for ``epochs`` epochs; its validation loss decays from
    ``start`` toward the final level ``f(lr) = floor + width · (log10 lr − log10 lr*)²``:

    .. math::

        \\mathrm{val\\_loss}_{r}(\\eta, e) = f(\\eta) + (\\mathrm{start} - f(\\eta))
        e^{-\\mathrm{rate} \\cdot e} + s_r + \\varepsilon

    with a seed effect ``s_r ~ N(0, seed_sd²)`` shared by every lr and epoch of replicate
    ``r`` (the design is paired) and cell noise ``ε ~ N(0, noise_sd²)``. ``loss`` (training)
    is ``0.9 · val_loss`` and ``accuracy`` is ``exp(-val_loss)``, so the best final
    accuracy is at ``lr*`` too.

    Parameters
    ----------
    lrs : array_like, optional
        Grid; default ``log_grid(optimum_lr / 100, optimum_lr * 100, 9)``.
    replicates, epochs : int
        Seeds per lr, and epochs per run (``epoch`` is ``1 … epochs``).
    optimum_lr : float, default 0.01
        ``lr*`` (for the first batch size).
    batch_sizes : sequence of int, optional
        Adds a ``batch_size`` factor column; batch size ``B`` has its optimum at
        ``lr* · B / batch_sizes[0]`` (the linear scaling rule).
    floor, start, width, rate, seed_sd, noise_sd : float
        See the formula.
    diverge_above : float, optional
        Runs with a larger lr have ``inf`` losses from epoch 2 on (divergence).
    rng : seed or Generator, optional

    Returns
    -------
    pandas.DataFrame
        One row per ``(batch_size), lr, replicate, epoch``; ``attrs["truth"]`` holds the
        optimum lr per batch size.

    Examples
    --------
    >>> frame = simulate_sweep(replicates=2, epochs=3, rng=0)
    >>> list(frame.columns)
    ['lr', 'replicate', 'epoch', 'loss', 'val_loss', 'accuracy']
    """
    optimum_lr = check_real(optimum_lr, "optimum_lr", low=0.0, low_inclusive=False)
    if lrs is None:
        lrs = np.logspace(np.log10(optimum_lr / 100), np.log10(optimum_lr * 100), 9)
    grid = np.sort(check_lrs(lrs))
    replicates = check_int(replicates, "replicates", minimum=1)
    epochs = check_int(epochs, "epochs", minimum=1)
    for name, value in (("floor", floor), ("start", start), ("width", width), ("rate", rate)):
        check_real(value, name)
    seed_sd = check_real(seed_sd, "seed_sd", low=0.0)
    noise_sd = check_real(noise_sd, "noise_sd", low=0.0)
    if diverge_above is not None:
        diverge_above = check_real(diverge_above, "diverge_above", low=0.0, low_inclusive=False)
    sizes = (
        [None]
        if batch_sizes is None
        else [check_int(b, "batch_sizes", minimum=1) for b in batch_sizes]
    )
    generator = as_rng(rng)

    parts = []
    truth = {}
    epoch = np.arange(1, epochs + 1)
    for size in sizes:
        best = optimum_lr if size is None else optimum_lr * size / sizes[0]
        truth[size] = best
        final = floor + width * (np.log10(grid) - np.log10(best)) ** 2  # (K,)
        seed_effect = seed_sd * generator.standard_normal(replicates)  # (M,)
        curve = final[None, :, None] + (start - final)[None, :, None] * np.exp(
            -rate * epoch[None, None, :]
        )
        val = (
            curve
            + seed_effect[:, None, None]
            + noise_sd * generator.standard_normal((replicates, grid.size, epochs))
        )
        if diverge_above is not None:
            val[:, grid > diverge_above, 1:] = np.inf
        shape = val.shape
        part = pd.DataFrame(
            {
                "lr": np.broadcast_to(grid[None, :, None], shape).ravel(),
                "replicate": np.broadcast_to(
                    np.arange(replicates, dtype=np.int64)[:, None, None], shape
                ).ravel(),
                "epoch": np.broadcast_to(epoch[None, None, :], shape).ravel().astype(np.int64),
                "loss": 0.9 * val.ravel(),
                "val_loss": val.ravel(),
                "accuracy": np.exp(-val.ravel()),
            }
        )
        if size is not None:
            part.insert(0, "batch_size", np.int64(size))
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    frame.attrs["truth"] = (
        {"optimum_lr": optimum_lr}
        if batch_sizes is None
        else {"optimum_lr": {int(k): v for k, v in truth.items()}}
    )
    frame.attrs["source"] = "lrstats.simulate.simulate_sweep"
    return frame
