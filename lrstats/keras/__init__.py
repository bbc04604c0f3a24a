"""Keras 3 layer of lrstats: the only package that imports TensorFlow.

``sample_deltas`` measures, for a compiled model, the loss before and after one step of
its own optimizer over a grid of learning rates and many paired random subsamples.
"""

from lrstats.keras._sampler import DivergenceWarning, sample_deltas
from lrstats.keras.lookahead import sample_trajectories

__all__ = ["DivergenceWarning", "sample_deltas", "sample_trajectories"]
