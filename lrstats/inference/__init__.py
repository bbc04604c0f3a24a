"""Framework-free statistics over tidy ``lr, replicate, <response>`` frames.

Everything here uses numpy, scipy, statsmodels and pandas only (never TensorFlow) and
works on any frame with columns ``lr``, ``replicate`` and a response: ``pre``/``post``
losses (ΔL frames from the sampler) or any numeric column (e.g. ``val_loss`` of a
sensitivity sweep), optionally with a trajectory index (``step``/``epoch``, reduced by
``at=``) and factor columns (analysed per level with ``by=``). ``goal=`` says whether
lower or higher is better. Every function reduces its frame with :func:`reduce_frame`.

Functions
---------
analyse
    Every analysis of a frame at once: a frozen :class:`Analysis`.
reduce_frame
    One row per run: ``at=`` applied to a trajectory, ``by=`` columns kept.
summarize
    Per-lr mean, sd, se, median, t or bootstrap interval, probability of decrease.
compare_to_best
    Paired comparison of every lr with the best one, Holm-adjusted.
compare_levels
    Paired differences of a factor's levels (schedules, batch sizes) against a baseline.
select_lr, select_all
    Selection rules (``RULES``) with a bootstrap interval for the selected lr.
fit_shape
    Isotonic, unimodal, quadratic and local shape fits (``SHAPE_KINDS``) with the optimum.
u_test
    Lind & Mehlum's test of a U shape with a Fieller interval for the extremum.
lowess
    A LOWESS smoother for display.
response_values
    The response of every row.

The bootstrap always resamples whole replicates, so comparisons between lrs stay paired.
"""

from lrstats.inference._bootstrap import DegenerateDataWarning
from lrstats.inference._frame import is_loss_change, response_values
from lrstats.inference._reduce import GOALS, IncompleteGridWarning, reduce_frame
from lrstats.inference._results import (
    ByLevel,
    Comparison,
    LevelComparison,
    Selection,
    Selections,
    ShapeFit,
    Summary,
    UTestResult,
)
from lrstats.inference.analysis import DEFAULT_RULES, DEFAULT_SHAPES, Analysis, analyse
from lrstats.inference.compare import compare_to_best
from lrstats.inference.diagnostics import Diagnosis, diagnose
from lrstats.inference.halving import GridEdgeWarning
from lrstats.inference.levels import compare_levels
from lrstats.inference.range_test import RangeTestResult, analyse_range_test
from lrstats.inference.select import RULES, NoSelectionWarning, select_all, select_lr
from lrstats.inference.shape import SHAPE_KINDS, ShapeWarning, fit_shape, lowess
from lrstats.inference.summary import METHODS, summarize
from lrstats.inference.utest import u_test

__all__ = [
    "DEFAULT_RULES",
    "DEFAULT_SHAPES",
    "GOALS",
    "METHODS",
    "RULES",
    "SHAPE_KINDS",
    "Analysis",
    "ByLevel",
    "Comparison",
    "Diagnosis",
    "DegenerateDataWarning",
    "GridEdgeWarning",
    "IncompleteGridWarning",
    "LevelComparison",
    "NoSelectionWarning",
    "RangeTestResult",
    "Selection",
    "Selections",
    "ShapeFit",
    "ShapeWarning",
    "Summary",
    "UTestResult",
    "analyse",
    "analyse_range_test",
    "compare_levels",
    "compare_to_best",
    "diagnose",
    "fit_shape",
    "is_loss_change",
    "lowess",
    "reduce_frame",
    "response_values",
    "select_all",
    "select_lr",
    "summarize",
    "u_test",
]
