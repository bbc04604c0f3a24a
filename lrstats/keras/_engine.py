"""The compiled, batched computation behind :func:`lrstats.keras.sample_deltas`.

For a chunk of ``C`` replicates the engine runs three compiled functions:

1. ``gradients``: per-replicate gradients in training mode, a ``tf.map_fn`` over the
   replicates of ``model.stateless_call`` under a gradient tape (every replicate with
   the same shapes whatever the chunk size). The same call returns ``pre``.
2. ``step``: one step of a *clone* of the model's optimizer (same class, same config)
   built on batched variables of shape ``(C, ...)``, its slots and iteration count
   copied from the real optimizer. Run at two learning rates it gives, per replicate,
   ``w(lr1)`` and the slope ``(w(lr2) - w(lr1)) / (lr2 - lr1)`` of the affine map
   ``lr -> w1(lr)``.
3. ``post``: the loss at ``w(lr1) + (lr - lr1) * slope`` for every lr of a chunk of the
   grid and every replicate: one batched forward pass (nested ``vectorized_map``, XLA).

The sampler checks the clone against a real step of the real optimizer before it
trusts the batched path (see ``_sampler.py``). On the first chunk of new shapes,
:meth:`BatchedEngine.first_gradients` compiles ``post`` on a worker thread while the
gradient pass and the steps run.
"""

from __future__ import annotations

import functools
import logging
import threading
import weakref
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from lrstats.keras._keras_private import (
    all_layers,
    call_has_training_arg,
    compiled_loss,
    has_constraint,
    learning_rate_slot,
    losses_override,
    replace_gradient_clipping,
    seed_generators,
)


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
    """The optimizer cannot be cloned onto batched (or stacked per-member) variables."""


def clone_optimizer(model: Any, variables: list) -> Any:
    """A fresh optimizer of ``model.optimizer``'s class and config, built on ``variables``.

    Its learning rate is 1.0 (the engines set theirs) and its ``loss_scale_factor`` None
    (Keras scales the loss by it and unscales the gradient in the step; the engines'
    gradients are unscaled already). Raises :class:`UnsupportedOptimizer` for what no
    clone can reproduce (a dynamic loss scale, variable constraints applied after the
    step) and when cloning or building fails: the callers then take the exact path.
    """
    optimizer = model.optimizer
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        raise UnsupportedOptimizer(
            "LossScaleOptimizer: the step depends on the dynamic loss scale "
            "(skipped on non-finite gradients)"
        )
    for variable in model.trainable_variables:
        if has_constraint(variable):
            raise UnsupportedOptimizer(
                f"variable {variable.path} has a constraint, applied after the step"
            )
    try:
        config = dict(optimizer.get_config())
        config["learning_rate"] = 1.0
        if "loss_scale_factor" in config:
            config["loss_scale_factor"] = None
        clone = type(optimizer).from_config(config)
        clone.build(variables)
    except Exception as error:  # any failure means: use the exact path
        raise UnsupportedOptimizer(f"cannot clone {type(optimizer).__name__}: {error}") from error
    return clone


def pair_slots(optimizer: Any, clone: Any, n_stacked: int) -> list[tuple[Any, Any, bool]]:
    """Pair the clone's variables with the real optimizer's, by position.

    The learning-rate slot is left out (it is set per step). Each pair is ``(clone's
    variable, real variable, stacked)``: ``stacked`` when the clone's variable holds one
    copy per replicate or member (leading axis ``n_stacked``), else a shared scalar such as
    the iteration count. Used by the one-step engine and the lookahead engine alike.
    """
    real = [v for v in optimizer.variables if v is not learning_rate_slot(optimizer)]
    cloned = [v for v in clone.variables if v is not learning_rate_slot(clone)]
    if len(real) != len(cloned):
        raise UnsupportedOptimizer("optimizer variables do not pair up")
    pairs = []
    for original, copy in zip(real, cloned, strict=True):
        if tuple(copy.shape) == tuple(original.shape):
            pairs.append((copy, original, False))
        elif tuple(copy.shape) == (n_stacked, *original.shape):
            pairs.append((copy, original, True))
        else:
            raise UnsupportedOptimizer(f"slot {original.path} has an unexpected shape")
    return pairs


def seed_state_positions(model: Any) -> list[int]:
    """Positions, in ``model.non_trainable_variables``, of random-seed generator states."""
    seed_ids = set()
    for layer in all_layers(model):
        for generator in seed_generators(layer):
            seed_ids.add(id(generator.state))
    return [i for i, v in enumerate(model.non_trainable_variables) if id(v) in seed_ids]


def _per_replicate_clipping(clipnorm: Any, global_clipnorm: Any, clipvalue: Any):
    """Keras' gradient clipping (``BaseOptimizer._clip_gradients``) per replicate.

    The clone's variables are stacked replicates ``(C, ...)``; Keras' own clipping would
    take one norm over all of them and so mix replicates. The same formulas, with the
    norms taken over every axis but the first, clip each replicate as a real step would.
    """

    def clip(grads):
        if clipnorm and clipnorm > 0:
            out = []
            for g in grads:
                axes = list(range(1, len(g.shape)))
                l2sum = tf.reduce_sum(tf.square(g), axes, keepdims=True)
                positive = l2sum > 0
                l2norm = tf.where(positive, tf.sqrt(tf.where(positive, l2sum, 1.0)), l2sum)
                out.append(g * clipnorm / tf.maximum(l2norm, clipnorm))
            return out
        if global_clipnorm and global_clipnorm > 0:
            squared = [tf.reduce_sum(tf.square(g), list(range(1, len(g.shape)))) for g in grads]
            norm = tf.sqrt(tf.add_n(squared))  # (C,)
            scale = global_clipnorm * tf.minimum(1.0 / norm, 1.0 / global_clipnorm)
            scale = scale + (norm - norm)  # NaN for a non-finite norm, as in Keras
            return [
                g * tf.reshape(tf.cast(scale, g.dtype), [-1] + [1] * (len(g.shape) - 1))
                for g in grads
            ]
        if clipvalue and clipvalue > 0:
            return [tf.clip_by_value(g, -clipvalue, clipvalue) for g in grads]
        return grads

    return clip


def _broadcast(value: tf.Tensor, size: int) -> tf.Tensor:
    """``size`` copies of ``value`` along a new first axis (variables have static shapes)."""
    return tf.broadcast_to(tf.expand_dims(value, 0), (size, *value.shape))


#: What a call of the XLA-compiled post pass raises for an op XLA cannot compile; ``post``
#: and ``finish_warming`` then fall back to the plain graph for good.
XLA_FAILURES = (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError, NotImplementedError)

#: The largest post-loss pass (replicates x lrs x batch rows) a first call compiles on a
#: worker by running it once on zeros (see :meth:`BatchedEngine.first_gradients`).
WARM_UP_MAX_ROWS = 1 << 20


class _Worker(threading.Thread):
    """One call on a thread of its own; :meth:`wait` joins, re-raises, returns its result.

    TensorFlow's device scope belongs to the thread that opened it, so the call runs under
    ``device``: the device the caller's own calls are placed on (with ``tf.device("/GPU:1")``
    around ``sample_deltas``, the warm-up must compile for GPU:1 as well).
    """

    def __init__(self, function: Any, args: tuple, name: str, device: str) -> None:
        super().__init__(name=name, daemon=True)
        self.function, self.args, self.device = function, args, device
        self.error: BaseException | None = None
        self.result: Any = None
        self.start()

    def run(self) -> None:
        try:
            with tf.device(self.device):
                self.result = self.function(*self.args)
        except BaseException as error:  # handed to the caller by wait()
            self.error = error
        finally:
            self.args = None  # free the inputs (a warm-up's zeros) as soon as the call is done

    def wait(self) -> Any:
        self.join()
        if self.error is not None:
            raise self.error
        return self.result


class BatchedEngine:
    """Compiled batched gradients, optimizer steps and losses for one model and chunk size.

    The engine also owns the verification state of its optimizer clone: ``verified`` is
    ``None`` until the sampler has compared the clone with a real training step in the
    current call (:meth:`begin_call` resets it), then ``True`` or ``False``.
    """

    def __init__(
        self, model: Any, chunk_size: int, *, eval_training: bool, jit_compile: bool
    ) -> None:
        self.model = model
        self.optimizer = model.optimizer
        self.chunk_size = chunk_size
        self.eval_training = eval_training
        self.seed_positions = seed_state_positions(model)
        # In training-mode evaluation with stochastic layers, every lr of a replicate must
        # draw the same random numbers as ``pre``. Under XLA the stateless random ops draw
        # other numbers than the same ops in the plain graph (measured on a CNN with Dropout:
        # post at lr = 1e-12 off pre by 16 %), so the post pass then runs without XLA; under
        # ``vectorized_map`` they draw the same numbers (post == pre exactly at lr = 1e-12;
        # tests/keras/test_sample_deltas_keras_matrix.py checks it).
        self.same_randomness = eval_training and bool(self.seed_positions)
        self.clone = None  # stays None when the optimizer cannot be cloned: exact path
        self.unsupported_reason: str | None = None
        self.verified: bool | None = None
        self.verified_reason: str | None = None
        self.verdict_key = None
        try:
            self._build_clone()
        except UnsupportedOptimizer as error:
            self.unsupported_reason = str(error)
        # No AutoGraph: Keras 3 layers branch with ops.cond (JAX has no AutoGraph) and Keras'
        # own train step does not convert layer code either, so converting our functions
        # only costs tracing time (first call 0.7 s instead of 1.0 s on the benchmark MLP).
        # XLA for the batched forward pass over all lrs (on this CPU: steady state and first
        # call a few percent faster than the plain graph); the gradient pass traces faster
        # without it (0.25 s against 0.6 s) and runs about as fast.
        compiled = functools.partial(tf.function, autograph=False)
        self.gradients = compiled(self._gradients)
        self.step = compiled(self._step)
        use_jit = jit_compile and not self.same_randomness
        self._post_jit = compiled(self._post, jit_compile=True) if use_jit else None
        self._post_plain = compiled(self._post)
        self.loss_now = compiled(self._loss_now)
        self._warmed: set = set()  # shapes first_gradients has compiled for
        self._post_warming: _Worker | None = None

    def begin_call(self) -> None:
        """Forget the previous call's verification unless it cannot have changed.

        A verdict is kept only for an optimizer without gradient clipping whose iteration
        count is the one it was reached at: whether clipping acts depends on the
        gradients of the call, and EMA overwrites, accumulation and loss scales on the
        iteration. Everything else the check looks at (the optimizer's config and
        variables, the model's variables and compiled loss) keys the engine itself.
        """
        key = self._verdict_key()
        if key is None or key != self.verdict_key:
            self.verified = None
            self.verified_reason = None
        self.verdict_key = key

    def _verdict_key(self):
        optimizer = self.optimizer
        if any(
            getattr(optimizer, name, None) for name in ("clipnorm", "global_clipnorm", "clipvalue")
        ):
            return None
        return int(optimizer.iterations.numpy())

    # -- optimizer clone -------------------------------------------------------------
    def _build_clone(self) -> None:
        optimizer = self.optimizer
        self.batched_variables = [
            keras.Variable(
                np.zeros((self.chunk_size, *v.shape), dtype=v.dtype),
                trainable=True,
                name=f"lrstats_batched_{i}",
            )
            for i, v in enumerate(self.model.trainable_variables)
        ]
        clone = clone_optimizer(self.model, self.batched_variables)
        replace_gradient_clipping(
            clone,
            _per_replicate_clipping(
                getattr(optimizer, "clipnorm", None),
                getattr(optimizer, "global_clipnorm", None),
                getattr(optimizer, "clipvalue", None),
            ),
        )
        # The learning rate is set per step; pair every other variable by position.
        # Pair first: an optimizer whose slots do not pair up leaves no clone behind.
        self.slot_pairs = pair_slots(optimizer, clone, self.chunk_size)
        self.clone = clone

    # -- per-replicate loss ------------------------------------------------------------
    def _loss(self, weights, non_trainable, metric_values, seeds, x, y, sample_weight, training):
        """The compiled loss, as ``compute_loss`` gives it, and the non-trainable state after.

        Losses added during the forward pass (``add_loss``, ``activity_regularizer``) are
        collected by ``stateless_call`` and handed to ``compute_loss``, as Keras' own
        stateless (JAX) trainer does.
        """
        model = self.model
        non_trainable = list(non_trainable)
        for j, position in enumerate(self.seed_positions):
            non_trainable[position] = tf.cast(seeds[j], non_trainable[position].dtype)
        kwargs = {"training": training} if call_has_training_arg(model) else {}
        y_pred, non_trainable, losses = model.stateless_call(
            weights, non_trainable, x, return_losses=True, **kwargs
        )
        with losses_override(model, losses):
            loss, (_, non_trainable, _) = model.stateless_compute_loss(
                weights,
                non_trainable,
                metric_values,
                x,
                y,
                y_pred,
                sample_weight,
                training=training,
            )
        return tf.cast(loss, tf.float32), list(non_trainable)

    def _state(self):
        model = self.model
        return (
            [v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables],
            [v.value for v in model.metrics_variables],
        )

    def _batch(self, pool, index):
        return tf.nest.map_structure(lambda t: tf.gather(t, index), pool)

    def _rows(self, pool, index, prefix=""):
        """The rows ``index`` of the pool, keyed ``{prefix}x``, ``{prefix}y``, ``{prefix}w``."""
        pool_x, pool_y, pool_w = pool
        rows = {f"{prefix}x": self._batch(pool_x, index)}
        if pool_y is not None:
            rows[f"{prefix}y"] = self._batch(pool_y, index)
        if pool_w is not None:
            rows[f"{prefix}w"] = tf.gather(pool_w, index)
        return rows

    def _loss_on(self, weights, non_trainable, metric_values, e, prefix, training):
        """``_loss`` on the rows of a map element (see ``_rows``)."""
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
    def _gradients(self, pool, grad_index, eval_index, seeds):
        """Per-replicate gradients (training mode), ``pre`` losses and the state after.

        A ``map_fn`` over the replicates of the chunk: every replicate is computed with
        the same shapes whatever the chunk size, so results do not depend on chunking.
        The third output is, per replicate, the non-trainable state after the training
        forward pass (BatchNormalization moving statistics, power-iteration vectors): the
        state a real training step leaves, which ``post`` is evaluated with.
        """
        weights, non_trainable, metric_values = self._state()
        elems = {
            "seeds": seeds,
            **self._rows(pool, grad_index),
            **self._rows(pool, eval_index, prefix="eval_"),
        }

        def one(e):
            with tf.GradientTape() as tape:
                tape.watch(weights)
                loss, after = self._loss_on(weights, non_trainable, metric_values, e, "", True)
            grads = tape.gradient(loss, weights)
            grads = [
                tf.zeros_like(w) if g is None else tf.convert_to_tensor(g)
                for g, w in zip(grads, weights, strict=True)
            ]
            pre, _ = self._loss_on(
                weights, non_trainable, metric_values, e, "eval_", self.eval_training
            )
            return grads, pre, after

        signature = (
            [tf.TensorSpec(w.shape, w.dtype) for w in weights],
            tf.TensorSpec((), tf.float32),
            [tf.TensorSpec(v.shape, v.dtype) for v in non_trainable],
        )
        return tf.map_fn(one, elems, fn_output_signature=signature)

    # -- the first call: compilation off the calling thread -----------------------------
    def first_gradients(self, pool, grad_index, eval_index, seeds, *, lr_chunk: int):
        """The gradient pass of a first chunk, with the forward pass compiled meanwhile.

        On a first call the forward pass over all lrs costs more to trace and compile
        than to run (benchmark MLP, TensorFlow warm: 0.6 s for its first call, of which
        tracing 0.15 s; 0.1 s for later calls). Tracing reads and sets attributes of the
        user's model, so it stays on this thread; compiling (XLA, graph optimization) is
        C++ and releases the GIL. So the forward pass is traced here and run once on
        zeros of the real call's shapes on a worker thread (the real call then finds its
        compiled program in the cache; the run reads the model's variables and changes
        nothing), while this thread traces and runs the gradient pass and the optimizer
        steps. Measured there, the real call waited 0.03-0.06 s for the worker and the
        first call took 0.84-0.95 s instead of 1.02-1.16 s.

        The warm-up runs the pass once more than needed, so it is done only where that
        run is cheap next to compiling: at most :data:`WARM_UP_MAX_ROWS` forward rows
        (replicates x lrs x batch rows). On the sampler benchmark (640,000 rows) it saves
        the compilation; on a million losses at once (16 million rows a call) the extra
        run raised the peak memory by 19 MiB and slowed the call, so there it is not done.

        Later chunks and calls with the same shapes call :attr:`gradients` directly.
        :meth:`post` and :meth:`finish_warming` wait for the worker.
        """
        batch_size = int(grad_index.shape[1])
        pool_shapes = tuple(None if t is None else tuple(t.shape) for t in tf.nest.flatten(pool))
        key = (lr_chunk, batch_size, pool_shapes)
        rows = self.chunk_size * lr_chunk * batch_size
        if key not in self._warmed and self.clone is not None and rows <= WARM_UP_MAX_ROWS:
            self._warmed.add(key)
            self._warm_post(pool, batch_size, lr_chunk, seeds.shape[1])
        return self.gradients(pool, grad_index, eval_index, seeds)

    def _warm_post(self, pool, batch_size: int, lr_chunk: int, n_seed_streams: int) -> None:
        """Trace the forward pass over all lrs here, and compile it on a worker."""
        size = self.chunk_size
        stacked = lambda v: tf.zeros((size, *v.shape), v.dtype)  # noqa: E731
        weights = [stacked(v) for v in self.model.trainable_variables]
        args = (
            weights,
            weights,
            tf.constant(0.0, tf.float32),
            tf.zeros((lr_chunk,), tf.float32),
            [stacked(v) for v in self.model.non_trainable_variables],
            pool,
            tf.zeros((size, batch_size), tf.int32),
            tf.zeros((size, n_seed_streams, 2), tf.int64),
        )
        function = self._post_jit if self._post_jit is not None else self._post_plain
        try:
            function.get_concrete_function(*args)
        except Exception:  # the real call traces again and reports the error
            return
        # the zeros were placed by this thread's device scope: the worker uses the same
        self._post_warming = _Worker(function, args, "lrstats-warm-post", args[3].device)

    def finish_warming(self) -> None:
        """Wait for the worker :meth:`first_gradients` started; none is left running."""
        worker = self._post_warming
        if worker is None:
            return
        try:
            worker.wait()
        except XLA_FAILURES:
            if worker.function is self._post_jit:  # as in post
                self._post_jit = None
        except Exception:  # the real call meets it again and reports it
            pass
        self._post_warming = None

    def post(self, *args):
        """Compiled ``_post``: XLA when it compiles for this model, plain graph otherwise."""
        self.finish_warming()
        if self._post_jit is not None:
            try:
                return self._post_jit(*args)
            except XLA_FAILURES:
                self._post_jit = None  # an op XLA cannot compile: use the plain graph from now on
        return self._post_plain(*args)

    def _loss_now(self, x, y, sample_weight, seeds):
        """Loss of one evaluation batch at the model's live state (for the exact path)."""
        weights, non_trainable, metric_values = self._state()
        loss, _ = self._loss(
            weights, non_trainable, metric_values, seeds, x, y, sample_weight, self.eval_training
        )
        return loss

    def _step(self, grads, learning_rate):
        """One step of the cloned optimizer from the real optimizer's current state."""
        size = self.chunk_size
        for batched, variable in zip(
            self.batched_variables, self.model.trainable_variables, strict=True
        ):
            batched.assign(_broadcast(variable.value, size))
        for copy, original, is_batched in self.slot_pairs:
            copy.assign(_broadcast(original.value, size) if is_batched else original.value)
        rate = learning_rate_slot(self.clone)
        rate.assign(tf.cast(learning_rate, rate.dtype))
        self.clone.apply(grads, self.batched_variables)
        return [tf.identity(v.value) for v in self.batched_variables]

    def _post(self, base, slope, base_lr, lrs, non_trainable, pool, eval_index, seeds):
        """Losses at ``base + (lr - base_lr) * slope`` for every (replicate, lr): shape (C, K).

        A ``map_fn`` over replicates, each with its own non-trainable state (the one its
        training step left); inside, one ``vectorized_map`` over the learning rates
        evaluates all weight sets on the replicate's batch (the batch is shared, so it is
        never copied K times).
        """
        _, _, metric_values = self._state()
        elems = {
            "base": base,
            "slope": slope,
            "state": non_trainable,
            "seeds": seeds,
            **self._rows(pool, eval_index),
        }
        steps = tf.cast(lrs - base_lr, tf.float32)

        def one_replicate(e):
            def one_lr(step):
                weights = [
                    b + tf.cast(step, b.dtype) * s
                    for b, s in zip(e["base"], e["slope"], strict=True)
                ]
                loss, _ = self._loss_on(
                    weights, e["state"], metric_values, e, "", self.eval_training
                )
                return loss

            return tf.vectorized_map(one_lr, steps)

        return tf.map_fn(one_replicate, elems, fn_output_signature=tf.TensorSpec(None, tf.float32))


def model_signature(model: Any) -> tuple:
    """Everything a traced engine depends on, besides the chunk size and modes.

    The compiled loss object (new on every ``compile``), the optimizer object, its config
    (without the lr, which is set per step) and its variables, and the identity, shape and
    dtype of every model variable (freezing a layer changes the trainable set).
    """
    optimizer = model.optimizer
    config = {k: v for k, v in optimizer.get_config().items() if k != "learning_rate"}
    return (
        id(compiled_loss(model)),
        type(model).compute_loss,
        id(optimizer),
        repr(sorted(config.items())),
        tuple(id(v) for v in optimizer.variables),
        tuple((id(v), tuple(v.shape), str(v.dtype)) for v in model.trainable_variables),
        tuple((id(v), tuple(v.shape), str(v.dtype)) for v in model.non_trainable_variables),
        tuple(id(v) for v in model.metrics_variables),
        keras.config.floatx(),
        str(model.dtype_policy.name) if hasattr(model, "dtype_policy") else None,
    )


_ENGINES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def get_engine(
    model: Any, chunk_size: int, *, eval_training: bool, jit_compile: bool
) -> BatchedEngine:
    """A cached engine per (model state signature, chunk size, mode): later calls skip tracing.

    When anything the traces depend on changes (see :func:`model_signature`: a recompile,
    another optimizer, a frozen layer), the model's cached engines are all dropped.
    """
    signature = model_signature(model)
    cached = _ENGINES.get(model)
    if cached is None or cached[0] != signature:
        cached = (signature, {})
        _ENGINES[model] = cached
    engines = cached[1]
    key = (chunk_size, eval_training, jit_compile)
    engine = engines.get(key)
    if engine is None:
        engine = BatchedEngine(
            model, chunk_size, eval_training=eval_training, jit_compile=jit_compile
        )
        engines[key] = engine
    engine.begin_call()
    return engine
