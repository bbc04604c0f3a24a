"""Keras 3 layer of lrstats: the only package that imports TensorFlow.

``sample_deltas`` measures, for a compiled model, the loss before and after one step of
its own optimizer over a grid of learning rates and many paired random subsamples.
``recommend_lr`` recommends the lr to train with, by successive halving over short trainings
carried to the planned training length.
"""

from lrstats.keras._range_test import LRRangeTest, range_test
from lrstats.keras._sampler import (
    DivergenceWarning,
    StepWarning,
    TrainStepWarning,
    sample_deltas,
)
from lrstats.keras._sensitivity import learning_rate_schedule, sensitivity
from lrstats.keras.lookahead import sample_trajectories
from lrstats.keras.recommend import recommend_lr
from lrstats.keras.schedules import (
    CycleMomentum,
    OneCycle,
    cosine_restarts_from_selection,
    one_cycle_from_range_test,
    one_cycle_from_selection,
    time_based_decay_schedule,
)
from lrstats.keras.shards import sample_deltas_sharded

__all__ = [
    "CycleMomentum",
    "DivergenceWarning",
    "LRRangeTest",
    "OneCycle",
    "cosine_restarts_from_selection",
    "learning_rate_schedule",
    "one_cycle_from_range_test",
    "one_cycle_from_selection",
    "range_test",
    "recommend_lr",
    "sample_deltas",
    "sample_deltas_sharded",
    "sample_trajectories",
    "sensitivity",
    "StepWarning",
    "TrainStepWarning",
    "time_based_decay_schedule",
]
