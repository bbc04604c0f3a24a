"""Every private Keras attribute lrstats relies on, in one place.

Keras 3 has no public API for some of what the sampler needs (the optimizer's learning-rate
slot, the layers' seed generators, the compiled loss, the losses of a stateless forward
pass, the optimizer's gradient clipping). Each accessor below names the private attribute it
reads or writes and the Keras version its behaviour was checked against; when Keras changes,
this module is the one to re-check (the tests in ``tests/keras`` exercise every accessor).

Checked against Keras 3.15.1 (TensorFlow backend, TensorFlow 2.21).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import keras

KERAS_VERSION_CHECKED = "3.15.1"


def learning_rate_slot(optimizer: Any) -> Any:
    """The optimizer's learning rate as stored: a variable, a schedule or a callable.

    ``BaseOptimizer._learning_rate`` (Keras 3.15.1). ``optimizer.learning_rate`` evaluates
    a schedule at the current iteration; the slot is the object itself.
    """
    return optimizer._learning_rate


def replace_learning_rate_slot(optimizer: Any, value: Any) -> None:
    """Put ``value`` in ``optimizer._learning_rate`` without the tracker adopting it.

    ``object.__setattr__`` bypasses ``Optimizer.__setattr__``, which would track a new
    variable (Keras 3.15.1).
    """
    object.__setattr__(optimizer, "_learning_rate", value)


def inner_optimizer(optimizer: Any) -> Any:
    """The optimizer that takes the step: ``LossScaleOptimizer.inner_optimizer`` or itself.

    ``LossScaleOptimizer`` holds an unused learning rate of 0 of its own and delegates the
    step (and ``learning_rate``) to ``inner_optimizer`` (public attribute, Keras 3.15.1).
    """
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer.inner_optimizer
    return optimizer


def all_layers(model: Any) -> list[Any]:
    """The model and every nested layer: ``Layer._flatten_layers`` (Keras 3.15.1)."""
    return list(model._flatten_layers(include_self=True, recursive=True))


def seed_generators(layer: Any) -> list[Any]:
    """The ``SeedGenerator`` objects a layer owns: ``Layer._seed_generators`` (Keras 3.15.1).

    Each generator's ``state`` variable (``[seed, counter]``, int) sits among the model's
    non-trainable variables; stochastic layers (Dropout, GaussianNoise, random augmentation)
    draw their stateless random ops from it.
    """
    return list(getattr(layer, "_seed_generators", []))


def compiled_loss(model: Any) -> Any:
    """The loss container built by ``compile``: ``Trainer._compile_loss`` (Keras 3.15.1).

    ``None`` when compiled without a loss (a model whose ``compute_loss`` is overridden).
    A new object on every ``compile`` call, so its identity keys caches.
    """
    return getattr(model, "_compile_loss", None)


@contextlib.contextmanager
def losses_override(model: Any, losses: list[Any]) -> Iterator[None]:
    """Make ``model.losses`` return ``losses`` while computing the loss.

    ``Layer._losses_override`` (Keras 3.15.1): how Keras' own JAX trainer hands the losses
    collected by ``stateless_call(..., return_losses=True)`` (``add_loss``,
    ``activity_regularizer``, weight regularizers at the given weights) to ``compute_loss``.
    An empty list means "no override" to Keras, as here.
    """
    if not losses:
        yield
        return
    model._losses_override = list(losses)
    try:
        yield
    finally:
        model._losses_override = []


def replace_gradient_clipping(optimizer: Any, clip: Callable[[list[Any]], list[Any]]) -> None:
    """Replace ``BaseOptimizer._clip_gradients`` on one optimizer object (Keras 3.15.1).

    ``apply`` calls ``self._clip_gradients(grads)`` after gradient accumulation and before
    weight decay and ``update_step``; an instance attribute overrides the method for that
    object only (used on lrstats' own batched clone, never on the user's optimizer).
    """
    optimizer._clip_gradients = clip


def base_train_step() -> Any:
    """The ``train_step`` of Keras' TensorFlow trainer (``keras.Model`` inherits it, 3.15.1)."""
    return keras.Model.train_step


def overridden_train_step(model: Any) -> str | None:
    """The qualified name of a ``train_step`` that is not Keras' own, else ``None``."""
    method = getattr(type(model), "train_step", None)
    if method is None or method is base_train_step():
        return None
    return getattr(method, "__qualname__", repr(method))


def call_has_training_arg(model: Any) -> bool:
    """Whether ``model.call`` takes ``training``: ``Layer._call_has_training_arg`` (3.15.1)."""
    return bool(getattr(model, "_call_has_training_arg", True))


def applied_steps(optimizer: Any) -> int:
    """Calls of ``apply`` so far: ``BaseOptimizer._iterations`` (Keras 3.15.1).

    With ``gradient_accumulation_steps`` the public ``iterations`` counts updates
    (``_iterations // steps``); whether the next ``apply`` updates the weights depends on
    ``(_iterations + 1) % steps``.
    """
    return int(optimizer._iterations.numpy()) if optimizer.built else 0


def uses_weight_decay(optimizer: Any, variable: Any) -> bool:
    """Whether ``optimizer`` decays ``variable``: ``BaseOptimizer._use_weight_decay`` (3.15.1).

    Honours ``exclude_from_weight_decay`` (variables and name patterns); the lookahead
    engine asks it about the real variable behind each stacked copy.
    """
    return bool(optimizer._use_weight_decay(variable))


def replace_update_step(optimizer: Any, update_step: Callable[[Any, Any, Any], Any]) -> None:
    """Replace ``update_step(gradient, variable, learning_rate)`` on one optimizer object.

    ``BaseOptimizer.apply`` calls ``self.update_step`` per variable with the scalar lr
    (``_iterations``-dependent schedules already evaluated) (Keras 3.15.1). ``object.__setattr__``
    bypasses the tracker; used on lrstats' own batched clone only, never on the user's optimizer.
    """
    object.__setattr__(optimizer, "update_step", update_step)


def replace_weight_decay(optimizer: Any, apply_weight_decay: Callable[[list[Any]], None]) -> None:
    """Replace ``BaseOptimizer._apply_weight_decay(variables)`` on one optimizer object.

    ``apply`` calls it after clipping and before ``update_step``, with the scalar lr read
    inside (Keras 3.15.1); the lookahead engine's clone decays each member at its own lr.
    Never used on the user's optimizer.
    """
    object.__setattr__(optimizer, "_apply_weight_decay", apply_weight_decay)


def has_constraint(variable: Any) -> bool:
    """Whether ``optimizer.apply`` projects ``variable`` after the step (``Variable.constraint``,
    public; applied per variable by ``BaseOptimizer._apply_constraints``, Keras 3.15.1)."""
    return getattr(variable, "constraint", None) is not None
