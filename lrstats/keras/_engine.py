"""The compiled, batched computation behind :func:`lrstats.keras.sample_deltas`.

For a chunk of ``C`` replicates the engine runs three compiled functions:

1. ``gradients``: per-replicate gradients in training mode. The weights are broadcast
   to shape ``(C, ...)`` and ``model.stateless_call`` runs under ``tf.vectorized_map``;
   the gradient of the summed losses with respect to the broadcast weights is, slice
   by slice, each replicate's own gradient. The same call returns ``pre``.
2. ``step``: one step of a *clone* of the model's optimizer (same class, same config)
   built on batched variables of shape ``(C, ...)``, its slots and iteration count
   copied from the real optimizer. Run at two learning rates it gives, per replicate,
   ``w(lr1)`` and the slope ``(w(lr2) - w(lr1)) / (lr2 - lr1)`` of the affine map
   ``lr -> w1(lr)``.
3. ``post``: the loss at ``w(lr1) + (lr - lr1) * slope`` for every lr of a chunk of the
   grid and every replicate: one batched forward pass (nested ``vectorized_map``, XLA).

The sampler checks the clone against a real step of the real optimizer before it
trusts the batched path (see ``_sampler.py``).
"""

from __future__ import annotations

import functools
import logging
import weakref
from typing import Any

import keras
import numpy as np
import tensorflow as tf


class _QuietEngineRetracing(logging.Filter):
    """Drop TensorFlow's retracing notices about the engine.

    Each (model, chunk size) has its own engine and so its own traces; TensorFlow
    counts traces per Python function and, after a few models in one session, warns
    about "excessive retracing" that is in fact one trace per engine.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "BatchedEngine" not in record.getMessage()


tf.get_logger().addFilter(_QuietEngineRetracing())


class UnsupportedOptimizer(Exception):
    """The optimizer cannot be cloned onto batched variables."""


def seed_state_positions(model: Any) -> list[int]:
    """Positions, in ``model.non_trainable_variables``, of random-seed generator states."""
    seed_ids = set()
    for layer in model._flatten_layers(include_self=True):
        for generator in getattr(layer, "_seed_generators", []):
            seed_ids.add(id(generator.state))
    return [i for i, v in enumerate(model.non_trainable_variables) if id(v) in seed_ids]


def _broadcast(value: tf.Tensor, size: int) -> tf.Tensor:
    return tf.broadcast_to(value[None], tf.concat([[size], tf.shape(value)], axis=0))


class BatchedEngine:
    """Compiled batched gradients, optimizer steps and losses for one model and chunk size."""

    def __init__(
        self, model: Any, chunk_size: int, *, eval_training: bool, jit_compile: bool
    ) -> None:
        self.model = model
        self.optimizer = model.optimizer
        self.chunk_size = chunk_size
        self.eval_training = eval_training
        self.seed_positions = seed_state_positions(model)
        self.clone = None  # stays None when the optimizer cannot be cloned: exact path
        # Does the clone reproduce a real step of the real optimizer? (None: not checked
        # yet.) Structural, so checked once per engine; affinity is checked per chunk.
        self.verified: bool | None = None
        try:
            self._build_clone()
        except UnsupportedOptimizer:
            pass
        # No AutoGraph: Keras 3 layers branch with ops.cond (JAX has no AutoGraph) and Keras'
        # own train step does not convert layer code either, so converting our functions
        # only costs tracing time (first call 0.7 s instead of 1.0 s on the benchmark MLP).
        # XLA for the batched forward pass over all lrs (on this CPU: steady state and first
        # call a few percent faster than the plain graph); the gradient pass traces faster
        # without it (0.25 s against 0.6 s) and runs about as fast.
        compiled = functools.partial(tf.function, autograph=False)
        self.gradients = compiled(self._gradients)
        self.step = compiled(self._step)
        self._post_jit = compiled(self._post, jit_compile=True) if jit_compile else None
        self._post_plain = compiled(self._post)
        self.loss_now = compiled(self._loss_now)

    # -- optimizer clone -------------------------------------------------------------
    def _build_clone(self) -> None:
        optimizer = self.optimizer
        try:
            config = dict(optimizer.get_config())
            config["learning_rate"] = 1.0
            clone = type(optimizer).from_config(config)
            self.batched_variables = [
                keras.Variable(
                    np.zeros((self.chunk_size, *v.shape), dtype=v.dtype),
                    trainable=True,
                    name=f"lrstats_batched_{i}",
                )
                for i, v in enumerate(self.model.trainable_variables)
            ]
            clone.build(self.batched_variables)
        except Exception as error:  # any failure means: use the exact path
            raise UnsupportedOptimizer(
                f"cannot clone {type(optimizer).__name__}: {error}"
            ) from error
        # The learning rate is set per step; pair every other variable by position.
        real = [v for v in optimizer.variables if v is not optimizer._learning_rate]
        cloned = [v for v in clone.variables if v is not clone._learning_rate]
        if len(real) != len(cloned):
            raise UnsupportedOptimizer("optimizer variables do not pair up")
        pairs = []
        for original, copy in zip(real, cloned, strict=True):
            if tuple(copy.shape) == tuple(original.shape):
                pairs.append((copy, original, False))
            elif tuple(copy.shape) == (self.chunk_size, *original.shape):
                pairs.append((copy, original, True))
            else:
                raise UnsupportedOptimizer(f"slot {original.path} has an unexpected shape")
        self.clone = clone
        self.slot_pairs = pairs

    # -- per-replicate loss ------------------------------------------------------------
    def _loss(self, weights, non_trainable, metric_values, seeds, x, y, sample_weight, training):
        model = self.model
        non_trainable = list(non_trainable)
        for j, position in enumerate(self.seed_positions):
            non_trainable[position] = tf.cast(seeds[j], non_trainable[position].dtype)
        y_pred, _ = model.stateless_call(weights, non_trainable, x, training=training)
        loss, _ = model.stateless_compute_loss(
            weights, non_trainable, metric_values, x, y, y_pred, sample_weight, training=training
        )
        return tf.cast(loss, tf.float32)

    def _state(self):
        model = self.model
        return (
            [v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables],
            [v.value for v in model.metrics_variables],
        )

    def _batch(self, pool, index):
        return tf.nest.map_structure(lambda t: tf.gather(t, index), pool)

    def _rows(self, pool_x, pool_y, pool_w, index, prefix=""):
        """The rows ``index`` of the pool, keyed ``{prefix}x``, ``{prefix}y``, ``{prefix}w``."""
        rows = {f"{prefix}x": self._batch(pool_x, index)}
        if pool_y is not None:
            rows[f"{prefix}y"] = self._batch(pool_y, index)
        if pool_w is not None:
            rows[f"{prefix}w"] = tf.gather(pool_w, index)
        return rows

    def _loss_on(self, weights, state, e, prefix, training):
        """``_loss`` on the rows of a map element (see ``_rows``)."""
        _, non_trainable, metric_values = state
        return self._loss(
            weights,
            non_trainable,
            metric_values,
            e["seeds"],
            e[f"{prefix}x"],
            e.get(f"{prefix}y"),
            e.get(f"{prefix}w"),
            training,
        )

    # -- compiled functions ------------------------------------------------------------
    def _gradients(self, pool_x, pool_y, pool_w, grad_index, eval_index, seeds):
        """Per-replicate gradients (training mode) and ``pre`` losses (evaluation mode).

        A ``map_fn`` over the replicates of the chunk: every replicate is computed with
        the same shapes whatever the chunk size, so results do not depend on chunking.
        """
        state = self._state()
        weights = state[0]
        elems = {
            "seeds": seeds,
            **self._rows(pool_x, pool_y, pool_w, grad_index),
            **self._rows(pool_x, pool_y, pool_w, eval_index, prefix="eval_"),
        }

        def one(e):
            with tf.GradientTape() as tape:
                tape.watch(weights)
                loss = self._loss_on(weights, state, e, "", True)
            grads = tape.gradient(loss, weights)
            grads = [
                tf.zeros_like(w) if g is None else g for g, w in zip(grads, weights, strict=True)
            ]
            pre = self._loss_on(weights, state, e, "eval_", self.eval_training)
            return grads, pre

        signature = (
            [tf.TensorSpec(w.shape, w.dtype) for w in weights],
            tf.TensorSpec((), tf.float32),
        )
        return tf.map_fn(one, elems, fn_output_signature=signature)

    def post(self, *args):
        """Compiled ``_post``: XLA when it compiles for this model, plain graph otherwise."""
        if self._post_jit is not None:
            try:
                return self._post_jit(*args)
            except (
                tf.errors.InvalidArgumentError,
                tf.errors.UnimplementedError,
                NotImplementedError,
            ):
                self._post_jit = None  # an op XLA cannot compile: use the plain graph from now on
        return self._post_plain(*args)

    def _loss_now(self, x, y, sample_weight, seeds):
        """Loss of one evaluation batch at the model's live weights (for the exact path)."""
        weights, non_trainable, metric_values = self._state()
        return self._loss(
            weights, non_trainable, metric_values, seeds, x, y, sample_weight, self.eval_training
        )

    def _step(self, grads, learning_rate):
        """One step of the cloned optimizer from the real optimizer's current state."""
        size = self.chunk_size
        for batched, variable in zip(
            self.batched_variables, self.model.trainable_variables, strict=True
        ):
            batched.assign(_broadcast(variable.value, size))
        for copy, original, is_batched in self.slot_pairs:
            copy.assign(_broadcast(original.value, size) if is_batched else original.value)
        self.clone._learning_rate.assign(tf.cast(learning_rate, self.clone._learning_rate.dtype))
        self.clone.apply(grads, self.batched_variables)
        return [tf.identity(v.value) for v in self.batched_variables]

    def _post(self, base, slope, base_lr, lrs, pool_x, pool_y, pool_w, eval_index, seeds):
        """Losses at ``base + (lr - base_lr) * slope`` for every (replicate, lr): shape (C, K).

        A ``map_fn`` over replicates; inside, one ``vectorized_map`` over the learning
        rates evaluates all weight sets on the replicate's batch (the batch is shared, so
        it is never copied K times).
        """
        state = self._state()
        elems = {
            "base": base,
            "slope": slope,
            "seeds": seeds,
            **self._rows(pool_x, pool_y, pool_w, eval_index),
        }
        steps = tf.cast(lrs - base_lr, tf.float32)

        def one_replicate(e):
            def one_lr(step):
                weights = [
                    b + tf.cast(step, b.dtype) * s
                    for b, s in zip(e["base"], e["slope"], strict=True)
                ]
                return self._loss_on(weights, state, e, "", self.eval_training)

            return tf.vectorized_map(one_lr, steps)

        return tf.map_fn(one_replicate, elems, fn_output_signature=tf.TensorSpec(None, tf.float32))


_ENGINES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def get_engine(
    model: Any, chunk_size: int, *, eval_training: bool, jit_compile: bool
) -> BatchedEngine:
    """A cached engine per (model, optimizer, chunk size, mode): later calls skip tracing."""
    cache = _ENGINES.setdefault(model, {})
    config = {k: v for k, v in model.optimizer.get_config().items() if k != "learning_rate"}
    key = (
        id(model.optimizer),
        repr(sorted(config.items())),
        chunk_size,
        eval_training,
        jit_compile,
    )
    engine = cache.get(key)
    if engine is None or engine.optimizer is not model.optimizer:
        engine = BatchedEngine(
            model, chunk_size, eval_training=eval_training, jit_compile=jit_compile
        )
        cache[key] = engine
    return engine
