"""Keras 3 layer of lrstats: the only package that imports TensorFlow.

``sample_deltas`` measures, for a compiled model, the loss before and after one step of
its own optimizer over a grid of learning rates and many paired random subsamples.
``recommend_lr`` recommends the lr to train with, by statistical successive halving.
"""

from lrstats.keras._sampler import DivergenceWarning, sample_deltas
from lrstats.keras.recommend import recommend_lr
from lrstats.keras.sensitivity import learning_rate_schedule, sensitivity
from lrstats.keras.shards import sample_deltas_sharded

__all__ = [
    "DivergenceWarning",
    "learning_rate_schedule",
    "recommend_lr",
    "sample_deltas",
    "sample_deltas_sharded",
    "sensitivity",
]
