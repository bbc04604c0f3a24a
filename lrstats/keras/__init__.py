"""Keras 3 layer of lrstats: the only package that imports TensorFlow.

``sample_deltas`` measures, for a compiled model, the loss before and after one step of
its own optimizer over a grid of learning rates and many paired random subsamples.
"""

from lrstats.keras._sampler import DivergenceWarning, sample_deltas
from lrstats.keras._sensitivity import learning_rate_schedule, sensitivity
from lrstats.keras.shards import sample_deltas_sharded

__all__ = [
    "DivergenceWarning",
    "learning_rate_schedule",
    "sample_deltas",
    "sample_deltas_sharded",
    "sensitivity",
]
