"""Private helpers of ``benchmarks/selection_quality.py`` (cells, truth, methods, report)."""
