"""lrstats: statistical inference for choosing a neural network's learning rate.

The package is layered, and the layout shows it:

``lrstats.keras``
    The sampler (TensorFlow/Keras 3). The only place TensorFlow is imported.
``lrstats.inference``
    Intervals, paired comparisons, selection rules and shape fits over tidy
    frames (numpy, scipy, statsmodels, pandas), and ``analyse``, which runs them all
    into one ``Analysis``.
``lrstats.presentation``
    Figures, tables and reports drawn from the inference results; computes nothing.
``lrstats.cli``
    The ``lrstats`` command line.

Top-level names are imported lazily, so ``import lrstats`` stays cheap and never
imports TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Any

from lrstats._version import __version__
from lrstats.grid import log_grid

# name -> module that defines it; resolved on first attribute access.
_LAZY = {
    "analyse": "lrstats.inference",
    "Analysis": "lrstats.inference",
    "reduce_frame": "lrstats.inference",
    "summarize": "lrstats.inference",
    "compare_to_best": "lrstats.inference",
    "compare_levels": "lrstats.inference",
    "select_lr": "lrstats.inference",
    "fit_shape": "lrstats.inference",
    "u_test": "lrstats.inference",
    "lowess": "lrstats.inference",
    "response_values": "lrstats.inference",
    "select_all": "lrstats.inference",
    "diagnose": "lrstats.inference.diagnostics",
    "save_results": "lrstats.io",
    "load_results": "lrstats.io",
    "from_autolrtuner": "lrstats.io",
    "write_report": "lrstats.presentation",
    "set_theme": "lrstats.presentation",
}

__all__ = ["__version__", "log_grid", *_LAZY]


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'lrstats' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
