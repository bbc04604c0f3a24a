"""The compiled, batched training behind :func:`lrstats.keras.sample_trajectories`.

A *member* is one (replicate, learning rate) pair. For a chunk of ``C`` members the engine
keeps stacked copies of everything a training step changes:

- the trainable weights, as Keras variables of shape ``(C, ...)``;
- the non-trainable variables (BatchNormalization statistics, random-seed states), shape
  ``(C, ...)``;
- the optimizer's slots, held by a *clone* of the model's optimizer (same class, same
  config) built on the stacked weights, its slots and iteration count copied from the real
  optimizer; the clone's ``update_step`` (and weight decay) is given a per-member learning
  rate of shape ``(C, 1, ..., 1)`` instead of its scalar one.

The members form ``n_groups`` groups (one per replicate of the chunk) of ``group_size``
learning rates. One step is a ``tf.vectorized_map`` of ``model.stateless_call`` and
``model.stateless_compute_loss`` over all members (each on its replicate's minibatch), the
gradient of the summed losses (slice by slice, each member's own gradient), then one
``apply`` of the clone for all members. ``run`` repeats
this in a ``tf.while_loop`` (plain graph); ``evaluate`` gives every member's validation loss.

The batched clone is trusted only after :mod:`lrstats.keras.lookahead` has checked it
against real steps of the real optimizer
(:func:`lrstats.keras._verify.trajectory_matches_real`).

Keras private attributes are reached only through :mod:`lrstats.keras._keras_private`:
the lr slot (left out when pairing the clone's variables with the real ones), whether a
variable is weight-decayed, ``update_step`` / ``_apply_weight_decay`` replaced on the
clone instance (never on the real optimizer), ``_call_has_training_arg`` and the losses
of a stateless forward pass (``add_loss``, ``activity_regularizer``).
"""

from __future__ import annotations

import functools
import logging
import weakref
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from lrstats.keras._engine import clone_optimizer, pair_slots
from lrstats.keras._keras_private import (
    call_has_training_arg,
    compiled_loss,
    losses_override,
    replace_update_step,
    replace_weight_decay,
    uses_weight_decay,
)


class _QuietRetracing(logging.Filter):
    """Drop TensorFlow's "excessive retracing" notices about the trajectory engine."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "TrajectoryEngine" not in record.getMessage()


tf.get_logger().addFilter(_QuietRetracing())


def _gather(structure: Any, index: tf.Tensor) -> Any:
    return tf.nest.map_structure(lambda t: tf.gather(t, index), structure)


class TrajectoryEngine:
    """Stacked weights, non-trainable state and optimizer slots of ``n_members`` members."""

    def __init__(self, model: Any, n_groups: int, group_size: int) -> None:
        self.model = model
        self.optimizer = model.optimizer
        self.n_groups = n_groups
        self.group_size = group_size
        n_members = self.n_members = n_groups * group_size
        # Was the clone checked against real steps of the real optimizer? (None: not yet.)
        # Structural, so checked once per engine and check data (``verified_key``: see
        # lrstats.keras.lookahead._verified).
        self.verified: bool | None = None
        self.verified_reason: str | None = None
        self.verified_key: tuple | None = None
        floatx = keras.config.floatx()
        self.weights = [
            keras.Variable(
                np.zeros((n_members, *v.shape), dtype=v.dtype),
                trainable=True,
                name=f"lrstats_member_{i}",
            )
            for i, v in enumerate(model.trainable_variables)
        ]
        self.states = [
            tf.Variable(
                tf.zeros((n_members, *v.shape), dtype=v.dtype),
                trainable=False,
                name=f"lrstats_member_state_{i}",
            )
            for i, v in enumerate(model.non_trainable_variables)
        ]
        self.member_lr = tf.Variable(tf.zeros((n_members,), floatx), trainable=False)
        self._build_clone()
        # Plain graphs, no XLA: on the 2-core CPU the XLA build of this loop ran about 3x
        # slower than the plain graph (the per-member matmuls), and compiled slowly.
        compiled = functools.partial(tf.function, autograph=False)
        self._run_compiled = compiled(self._run)
        self._evaluate_compiled = compiled(self._evaluate)

    # -- the optimizer clone -----------------------------------------------------------
    def _build_clone(self) -> None:
        optimizer = self.optimizer
        clone = clone_optimizer(self.model, self.weights)
        self.slot_pairs = pair_slots(optimizer, clone, self.n_members)

        # Per-member learning rates: the clone's update_step receives, for each stacked
        # variable, the member lrs shaped to broadcast against it.
        update_step = clone.update_step
        member_lr = self.member_lr

        def member_rate(variable):
            rank = len(variable.shape)
            return tf.reshape(member_lr, [self.n_members] + [1] * (rank - 1))

        def per_member_update_step(gradient, variable, learning_rate):
            return update_step(gradient, variable, member_rate(variable))

        originals = {
            id(batched): original
            for batched, original in zip(self.weights, self.model.trainable_variables, strict=True)
        }

        def per_member_weight_decay(variables):
            if clone.weight_decay is None:
                return
            for variable in variables:
                original = originals.get(id(variable))
                if original is None or not uses_weight_decay(optimizer, original):
                    continue
                rate = tf.cast(member_rate(variable), variable.dtype)
                decay = tf.cast(clone.weight_decay, variable.dtype)
                variable.assign(variable - variable * decay * rate)

        # Instance attributes on the clone we own; the real optimizer is never patched.
        replace_update_step(clone, per_member_update_step)
        replace_weight_decay(clone, per_member_weight_decay)
        self.clone = clone

    # -- loading and reading member state (eager) ----------------------------------------
    def load(self, member_lrs: np.ndarray) -> None:
        """Every member starts from the model's and optimizer's current state."""
        size = self.n_members
        for stacked, variable in zip(self.weights, self.model.trainable_variables, strict=True):
            stacked.assign(tf.broadcast_to(variable.value[None], (size, *variable.shape)))
        for stacked, variable in zip(self.states, self.model.non_trainable_variables, strict=True):
            stacked.assign(tf.broadcast_to(variable.value[None], (size, *variable.shape)))
        for copy, original, is_stacked in self.slot_pairs:
            value = original.value
            copy.assign(
                tf.broadcast_to(value[None], (size, *value.shape)) if is_stacked else value
            )
        self.member_lr.assign(np.asarray(member_lrs, dtype=self.member_lr.dtype.as_numpy_dtype))

    def member_weights(self, member: int) -> list[np.ndarray]:
        return [v.numpy()[member] for v in self.weights]

    # -- compiled functions ------------------------------------------------------------
    def _member_losses(self, weights, states, rows, training, per_member_rows):
        """Losses (G,) and updated states of G members on ``rows = (x, y, sample_weight)``:
        with ``per_member_rows`` each member's own (a leading member axis), else one copy
        shared by all (the validation rows, never copied per member)."""
        model = self.model
        metric_values = [v.value for v in model.metrics_variables]
        kwargs = {"training": training} if call_has_training_arg(model) else {}

        def one(e):
            x, y, w = (e["rows"].get(k) for k in "xyw") if per_member_rows else rows
            # losses added in the forward pass (add_loss, activity_regularizer) reach
            # compute_loss as in Keras' own stateless trainer
            y_pred, new_states, added = model.stateless_call(
                e["weights"], e["states"], x, return_losses=True, **kwargs
            )
            with losses_override(model, added):
                loss, _ = model.stateless_compute_loss(
                    e["weights"], new_states, metric_values, x, y, y_pred, w, training=training
                )
            return tf.cast(loss, tf.float32), list(new_states)

        elems = {"weights": weights, "states": states}
        if per_member_rows:  # vectorized_map takes no None
            elems["rows"] = {k: v for k, v in zip("xyw", rows, strict=True) if v is not None}
        return tf.vectorized_map(one, elems)

    def _grouped(self, values):
        """(C, ...) -> (n_groups, group_size, ...): one group per replicate of the chunk."""
        return [
            tf.reshape(v, tf.concat([[self.n_groups, self.group_size], tf.shape(v)[1:]], 0))
            for v in values
        ]

    def _step(self, x, y, sample_weight):
        """One training step of every member; ``x``/``y``/``sample_weight`` have a leading
        group axis (each replicate's minibatch).

        One ``vectorized_map`` over all members, each on its replicate's rows (repeated once
        per learning rate of the group), and one gradient of the summed losses: every
        member's own gradient, since members share no weights.
        """

        def per_member(structure):
            return tf.nest.map_structure(
                lambda t: tf.repeat(t, self.group_size, axis=0), structure
            )

        weights = [v.value for v in self.weights]
        states = [v.read_value() for v in self.states]
        rows = tuple(None if t is None else per_member(t) for t in (x, y, sample_weight))
        with tf.GradientTape() as tape:
            tape.watch(weights)
            losses, new_states = self._member_losses(
                weights, states, rows, True, per_member_rows=True
            )
            total = tf.reduce_sum(losses)
        grads = tape.gradient(total, weights)
        grads = [tf.zeros_like(w) if g is None else g for g, w in zip(grads, weights, strict=True)]
        for variable, value in zip(self.states, new_states, strict=True):
            variable.assign(tf.cast(value, variable.dtype))
        self.clone.apply(grads, self.weights)
        return losses

    def _run(self, pool_x, pool_y, pool_w, index, start, stop):
        """Steps ``start .. stop-1`` for all members; losses (n_steps, C), zero outside.

        ``index`` (n_steps, n_groups, batch_size) holds each replicate's rows per step.
        """
        n_steps = tf.shape(index)[0]
        buffer = tf.zeros((n_steps, self.n_members), tf.float32)

        def body(t, buffer):
            rows = index[t]  # (n_groups, batch)
            x = _gather(pool_x, rows)
            y = None if pool_y is None else _gather(pool_y, rows)
            w = None if pool_w is None else tf.gather(pool_w, rows)
            losses = self._step(x, y, w)
            buffer = tf.tensor_scatter_nd_update(buffer, [[t]], losses[None])
            return t + 1, buffer

        _, buffer = tf.while_loop(lambda t, _: t < stop, body, (start, buffer))
        return buffer

    def _evaluate(self, val_x, val_y, val_w):
        """Validation loss (inference mode) of every member, one replicate group at a time."""
        weights = self._grouped([v.value for v in self.weights])
        states = self._grouped([v.read_value() for v in self.states])

        def one_group(e):
            losses, _ = self._member_losses(
                e["weights"], e["states"], (val_x, val_y, val_w), False, per_member_rows=False
            )
            return losses

        losses = tf.map_fn(
            one_group,
            {"weights": weights, "states": states},
            fn_output_signature=tf.TensorSpec((self.group_size,), tf.float32),
        )
        return tf.reshape(losses, [self.n_members])

    def run(self, *args):
        return self._run_compiled(*args)

    def evaluate(self, *args):
        return self._evaluate_compiled(*args)


_ENGINES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def get_engine(model: Any, n_groups: int, group_size: int) -> TrajectoryEngine:
    """A cached engine per (model, optimizer and its config, chunk size): later calls skip
    tracing. Raises :class:`UnsupportedOptimizer` when the optimizer cannot be cloned."""
    cache = _ENGINES.setdefault(model, {})
    config = {k: v for k, v in model.optimizer.get_config().items() if k != "learning_rate"}
    # keyed on everything the traced program depends on (issue 12): the compiled loss (a
    # new object on every compile), the optimizer and its config, and every variable's
    # identity, shape and dtype (freezing a layer changes the trainable set)
    variables = tuple(
        (id(v), tuple(v.shape), str(v.dtype), v.trainable)
        for v in [*model.trainable_variables, *model.non_trainable_variables]
    )
    key = (
        id(compiled_loss(model)),
        id(model.optimizer),
        repr(sorted(config.items())),
        variables,
        n_groups,
        group_size,
    )
    engine = cache.get(key)
    if engine is None or engine.optimizer is not model.optimizer:
        engine = TrajectoryEngine(model, n_groups, group_size)
        cache[key] = engine
    return engine


# ----------------------------------------------------------------------------- live loss
def live_loss(model: Any, x: Any, y: Any, sample_weight: Any) -> tf.Tensor:
    """The compiled loss at the live weights in inference mode (as ``evaluate`` gives it)."""
    kwargs = {"training": False} if call_has_training_arg(model) else {}
    y_pred = model(x, **kwargs)
    loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False)
    return tf.cast(loss, tf.float32)
