"""Keras 3 layer of lrstats: the only package that imports TensorFlow.

``sample_deltas`` measures, for a compiled model, the loss before and after one step of
its own optimizer over a grid of learning rates and many paired random subsamples.
``recommend_lr`` recommends the lr to train with, by statistical successive halving.
"""

from lrstats.keras._sampler import DivergenceWarning, sample_deltas
from lrstats.keras.recommend import recommend_lr

__all__ = ["DivergenceWarning", "recommend_lr", "sample_deltas"]
