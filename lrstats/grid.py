"""Learning-rate grids."""

from __future__ import annotations

import numpy as np

from lrstats._validation import check_int


def log_grid(start: float, stop: float, num: int = 41) -> np.ndarray:
    """Log-spaced grid of learning rates, both ends included.

    Parameters
    ----------
    start, stop : float
        Smallest and largest learning rate; finite and > 0, ``start < stop``.
    num : int, default 41
        Number of grid points, at least 2.

    Returns
    -------
    numpy.ndarray
        ``num`` float64 values, ``start * (stop / start) ** (i / (num - 1))``.

    Examples
    --------
    >>> import lrstats
    >>> lrstats.log_grid(1e-4, 1e-1, 4)
    array([0.0001, 0.001 , 0.01  , 0.1   ])
    """
    for name, value in (("start", start), ("stop", stop)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"`{name}` must be a real number. Received: {name}={value!r}")
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"`{name}` must be finite and > 0. Received: {name}={value!r}")
    if not start < stop:
        raise ValueError(
            f"`start` must be smaller than `stop`. Received: start={start!r}, stop={stop!r}"
        )
    num = check_int(num, "num", minimum=2)
    grid = np.logspace(np.log10(start), np.log10(stop), num)
    # Pin the ends exactly: logspace rounds them through log10.
    grid[0], grid[-1] = float(start), float(stop)
    return grid
