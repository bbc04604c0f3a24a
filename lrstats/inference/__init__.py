"""Framework-free statistics over tidy ``lr, replicate, <response>`` frames.

(The computing functions are being added; the result classes are final.)
"""

from lrstats.inference._results import Comparison, Selection, ShapeFit, Summary, UTestResult

RULES = ("mean", "median", "penalized", "ucb", "one_se", "max_safe", "variance", "max")
SHAPE_KINDS = ("isotonic", "unimodal", "quadratic", "local")

__all__ = [
    "RULES",
    "SHAPE_KINDS",
    "Comparison",
    "Selection",
    "ShapeFit",
    "Summary",
    "UTestResult",
]
