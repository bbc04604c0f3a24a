"""Input and output: result bundles with provenance, and imports from other tools.

``lrstats.io.bundle``
    One Parquet file holds a tidy frame, its provenance and every result table.
``lrstats.io.autolrtuner``
    autolrtuner runs as tidy frames.
"""

from lrstats.io.autolrtuner import from_autolrtuner
from lrstats.io.bundle import load_results, load_tables, read_provenance, save_results

__all__ = ["from_autolrtuner", "load_results", "load_tables", "read_provenance", "save_results"]
