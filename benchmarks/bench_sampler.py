"""Time ``lrstats.keras.sample_deltas`` against autolrtuner and against the arithmetic floor.

Run: ``python benchmarks/bench_sampler.py [--quick] [--optimizer momentum|adam] [--repeats 5]``
and ``python benchmarks/bench_sampler.py --memory`` for the memory check.

One process, one model architecture and one data set, measured side by side:

- the model: an MLP 20 -> 64 -> 64 -> 1 (relu), compiled with ``SGD(momentum=0.9)`` (or Adam)
  and mean squared error, every model built from the same literal initializer seeds;
- the data: 10,000 x 20 synthetic regression rows; batch 64, M = 100 replicates, K = 100 lrs
  (log grid 1e-5 .. 1).

Timed:

1. autolrtuner's ``AutoLRTuner(model).Tune(X, Y, lr_space=(1e-5, 1), num_subsamples=100,
   num_evals=100, batch_size=64)`` (its own linear grid, timed as is). ``--quick`` runs 10
   subsamples and scales the time linearly (the loop is the same for every subsample), and says so;
2. ``sample_deltas``, first call on a fresh model (tracing and XLA compilation included), the
   first TensorFlow work of the process; then the first call on another fresh model, with
   TensorFlow warm (this model's tracing and compilation only, what a notebook that has
   already trained or sampled sees);
3. ``sample_deltas``, steady state: median of ``--repeats`` calls on the same model;
4. the arithmetic floor: one XLA-compiled batched forward pass over M·K·m rows (the same MLP
   with per-(replicate, lr) weights stacked as (M, K, ...) arrays, applied to each replicate's
   m rows) plus one gradient over M·m rows (per-replicate weights stacked as (M, ...), so each
   replicate's gradient comes out of one backward pass). The weights are
   inputs; forming them from ``a + lr * b`` is timed separately and reported, not included.

Timings are wall-clock (``time.perf_counter``); the table gives the median and the minimum of
the repeats, and the load average is printed, because the machine may be shared. Every timed
region starts on a collected heap (``gc.collect()`` first, for autolrtuner as for lrstats): a
full collection of the ~430,000 objects TensorFlow's import leaves takes ~0.2 s, and whether one
falls inside a call depends on what the process allocated before it. Full collections inside the
first call are counted in its notes, and the first call is also timed without the collection
before it, in a process of its own (``--first-call-only``), and printed beside it. The steady
state and the floor are timed interleaved (sampler, forward, gradient, sampler, ...) so that
both see the same load, and the paired ratio (median of per-repeat ratios) is printed too.

Memory: the resident set size (RSS, from ``/proc/self/statm``) is sampled every 2 ms by a
thread during one extra, untimed steady-state call and one untimed floor evaluation, and every
50 ms during autolrtuner's run; for the first call (timed, so without the thread, which slows
tracing) the peak is the process-lifetime peak (``ru_maxrss``), which before that call was
the imports'. The table shows the RSS at the start and the peak above it. ``tracemalloc`` does not see TensorFlow's allocator, so it
is not used. The process-wide peak (``resource.getrusage(...).ru_maxrss``) is printed at the end.

``--memory``: 1,000 lrs x 1,000 replicates (batch 64) in a process that does nothing else, on
the demo's model and data (``lrstats.keras.models.demo_model``, 9 -> 32 -> 32 -> 1, on RAND HIE)
or, with ``--memory-model bench``, on the benchmark MLP; passes if the peak RSS (process-wide,
imports included) stays within 4 GiB.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

N_ROWS = 10_000
N_FEATURES = 20
HIDDEN = 64
BATCH = 64
REPLICATES = 100
N_LRS = 100
LR_RANGE = (1e-5, 1.0)
DATA_SEED = 20261123
SAMPLER_SEED = 0
GIB = 1 << 30
PAGE = os.sysconf("SC_PAGE_SIZE")


# ----------------------------------------------------------------------------- memory
def current_rss() -> int:
    """Resident set size of this process in bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


def max_rss() -> int:
    """Process-lifetime peak RSS in bytes (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class PeakRSS:
    """Sample the RSS every ``interval`` seconds in a thread; ``start``/``peak`` in bytes."""

    def __init__(self, interval: float = 0.002) -> None:  # seconds
        self.interval = interval
        self.start = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, current_rss())
            time.sleep(self.interval)

    def __enter__(self) -> PeakRSS:
        self.start = self.peak = current_rss()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join()
        self.peak = max(self.peak, current_rss())

    @property
    def delta(self) -> int:
        return self.peak - self.start


class ProcessPeak:
    """``start`` (RSS now) and ``peak`` (the process-lifetime peak at exit), no thread.

    A valid peak of what runs inside only when nothing before it peaked higher (true for
    the first work after the imports).
    """

    def __enter__(self) -> ProcessPeak:
        self.start = current_rss()
        self.peak = self.start
        return self

    def __exit__(self, *exc: Any) -> None:
        self.peak = max(max_rss(), current_rss())

    @property
    def delta(self) -> int:
        return self.peak - self.start


def mib(n_bytes: float) -> str:
    return f"{n_bytes / (1 << 20):,.0f} MiB"


# ----------------------------------------------------------------------------- set-up
def make_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(DATA_SEED)
    x = rng.normal(size=(N_ROWS, N_FEATURES)).astype(np.float32)
    w = rng.normal(size=(N_FEATURES, 1)) / np.sqrt(N_FEATURES)
    y = np.tanh(x @ w) + 0.3 * np.sin(x[:, :1] * x[:, 1:2]) + 0.1 * rng.normal(size=(N_ROWS, 1))
    return x, y.astype(np.float32)


def make_model(optimizer: str, *, loss_object: bool = False):
    """The benchmark MLP with literal initializer seeds (every call: the same initial weights)."""
    import keras

    def dense(units: int, seed: int, activation: str | None = None):
        return keras.layers.Dense(
            units,
            activation=activation,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        )

    model = keras.Sequential(
        [
            keras.Input((N_FEATURES,)),
            dense(HIDDEN, 1, "relu"),
            dense(HIDDEN, 2, "relu"),
            dense(1, 3),
        ]
    )
    opt = (
        keras.optimizers.SGD(0.01, momentum=0.9)
        if optimizer == "momentum"
        else keras.optimizers.Adam(1e-3)
    )
    # autolrtuner calls model.loss(y, y_hat): it needs a callable loss, not the string "mse"
    model.compile(optimizer=opt, loss=keras.losses.MeanSquaredError() if loss_object else "mse")
    return model


def lr_grid() -> np.ndarray:
    return np.geomspace(*LR_RANGE, N_LRS)


def all_state(model) -> list[np.ndarray]:
    return [
        np.array(v.numpy(), copy=True)
        for v in [*model.variables, *model.optimizer.variables, *model.metrics_variables]
    ]


class FullCollections:
    """The full (generation 2) garbage collections Python runs inside a ``with`` block."""

    def __init__(self) -> None:
        self.count, self.seconds, self._start = 0, 0.0, 0.0

    def _callback(self, phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.count += 1
            self.seconds += time.perf_counter() - self._start

    def __enter__(self) -> FullCollections:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: Any) -> None:
        gc.callbacks.remove(self._callback)

    def note(self) -> str:
        return f"{self.count} full GC inside ({self.seconds:.2f} s)"


def timed(
    function: Callable[[], Any],
    *,
    collect: bool = True,
    collections: FullCollections | None = None,
) -> tuple[float, Any]:
    """Wall time of one call, started on a collected heap (``collect=True``; why: the
    module docstring). ``collections`` records the full collections inside the timed call
    (not the one before it)."""
    if collect:
        gc.collect()
    with collections if collections is not None else contextlib.nullcontext():
        start = time.perf_counter()
        value = function()
        seconds = time.perf_counter() - start
    return seconds, value


def repeat_times(function: Callable[[], Any], repeats: int) -> list[float]:
    return [timed(function)[0] for _ in range(repeats)]


# ----------------------------------------------------------------------------- the floor
def make_floor(model, x: np.ndarray, y: np.ndarray, lrs: np.ndarray):
    """Inputs and compiled functions of the arithmetic floor for M replicates x K lrs.

    Returns ``(forward, gradient, form_weights)``, each a zero-argument callable that runs the
    compiled computation once and blocks until its result is ready.
    """
    import tensorflow as tf

    rng = np.random.default_rng(SAMPLER_SEED)
    rows = np.stack([rng.choice(N_ROWS, size=BATCH, replace=False) for _ in range(REPLICATES)])
    xs = tf.constant(x[rows])  # (M, m, 20)
    ys = tf.constant(y[rows])  # (M, m, 1)
    weights = [v.numpy() for v in model.trainable_variables]  # W1, b1, W2, b2, W3, b3
    m_, k_ = REPLICATES, lrs.size
    # per-(replicate, lr) weights as the sampler would form them: a + lr * b, with a random b
    directions = [rng.normal(scale=1e-2, size=w.shape).astype(np.float32) for w in weights]
    stacked = [
        tf.constant(
            np.broadcast_to(w, (m_, k_, *w.shape))
            + lrs.astype(np.float32).reshape(1, k_, *([1] * w.ndim)) * d
        )
        for w, d in zip(weights, directions, strict=True)
    ]
    per_replicate = [tf.constant(np.broadcast_to(w, (m_, *w.shape)).copy()) for w in weights]
    lr_tensor = tf.constant(lrs.astype(np.float32))

    @tf.function(jit_compile=True)
    def forward(xs, ys, w1, b1, w2, b2, w3, b3):
        # xs (M, m, i); w (M, K, i, j); b (M, K, j)  ->  loss (M, K)
        h = tf.nn.relu(tf.einsum("rmi,rkij->rkmj", xs, w1) + b1[:, :, None, :])
        h = tf.nn.relu(tf.einsum("rkmi,rkij->rkmj", h, w2) + b2[:, :, None, :])
        out = tf.einsum("rkmi,rkij->rkmj", h, w3) + b3[:, :, None, :]
        return tf.reduce_mean(tf.square(out - ys[:, None]), axis=[2, 3])

    @tf.function(jit_compile=True)
    def gradient(xs, ys, w1, b1, w2, b2, w3, b3):
        params = [w1, b1, w2, b2, w3, b3]
        with tf.GradientTape() as tape:
            tape.watch(params)
            h = tf.nn.relu(tf.einsum("rmi,rij->rmj", xs, w1) + b1[:, None, :])
            h = tf.nn.relu(tf.einsum("rmi,rij->rmj", h, w2) + b2[:, None, :])
            out = tf.einsum("rmi,rij->rmj", h, w3) + b3[:, None, :]
            per_replicate_loss = tf.reduce_mean(tf.square(out - ys), axis=[1, 2])
            total = tf.reduce_sum(per_replicate_loss)
        return tape.gradient(total, params), per_replicate_loss

    @tf.function(jit_compile=True)
    def form(lrs, *pairs):
        half = len(pairs) // 2
        out = []
        for a, b in zip(pairs[:half], pairs[half:], strict=True):
            shape = tf.concat([[1, tf.size(lrs)], tf.ones([tf.rank(a) - 1], tf.int32)], 0)
            out.append(a[:, None] + tf.reshape(lrs, shape) * b[:, None])
        return out

    directions_t = [tf.constant(np.broadcast_to(d, (m_, *d.shape)).copy()) for d in directions]

    def run_forward():
        return forward(xs, ys, *stacked).numpy()

    def run_gradient():
        grads, losses = gradient(xs, ys, *per_replicate)
        return [g.numpy() for g in grads], losses.numpy()

    def run_form():
        return [w.numpy().shape for w in form(lr_tensor, *per_replicate, *directions_t)]

    return run_forward, run_gradient, run_form


def sample(model, x: np.ndarray, y: np.ndarray, lrs: np.ndarray):
    """The timed call: ``sample_deltas`` with the benchmark's settings."""
    from lrstats.keras import sample_deltas

    return sample_deltas(
        model,
        x,
        y,
        lrs=lrs,
        replicates=REPLICATES,
        batch_size=BATCH,
        seed=SAMPLER_SEED,
        progress=False,
    )


# ----------------------------------------------------------------------------- modes
def benchmark(args: argparse.Namespace) -> int:
    import keras
    import tensorflow as tf

    import lrstats.keras  # noqa: F401  (imported outside every timed call)

    x, y = make_data()
    lrs = lr_grid()
    print(
        f"lrstats sampler benchmark: MLP {N_FEATURES}->{HIDDEN}->{HIDDEN}->1 (relu), "
        f"{args.optimizer}, MSE; data {N_ROWS}x{N_FEATURES}; batch {BATCH}; "
        f"M={REPLICATES} replicates x K={N_LRS} lrs (log grid {LR_RANGE[0]:g}..{LR_RANGE[1]:g})"
    )
    print(
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPU(s), "
        f"load average {os.getloadavg()[0]:.2f}; RSS after imports {mib(current_rss())}"
    )
    # (name, times, notes, rss)
    rows: list[tuple[str, list[float], str, PeakRSS | ProcessPeak | None]] = []

    def run_sampler(model):
        return sample(model, x, y, lrs)

    # 2. first call on a fresh model (tracing + XLA compilation), the first TensorFlow work
    # of this process. Timed without the RSS thread (polling every 2 ms takes the GIL from
    # the tracing, which is Python: it made the first call about 25% slower); its peak RSS
    # comes from the process-lifetime peak, which before the call was the import's.
    model = make_model(args.optimizer)
    before = all_state(model)
    first_rss = ProcessPeak()
    first_gc = FullCollections()
    with first_rss:
        first_time, frame = timed(lambda: run_sampler(model), collections=first_gc)
    rows.append(
        (
            "sample_deltas, first call (tracing incl.)",
            [first_time],
            f"cold process; {first_gc.note()}",
            first_rss,
        )
    )
    # 2a. the same first call in a process of its own, without the collection before it
    uncollected = first_call_uncollected(args.optimizer)
    rows.append(
        (
            "  the same, no gc.collect() before the call",
            [uncollected["seconds"]],
            f"own process; {uncollected['full_collections']} full GC inside "
            f"({uncollected['full_seconds']:.2f} s)",
            None,
        )
    )
    built_optimizer_state = all_state(model)  # the optimizer was built by the first call
    # 2b. the first call on another fresh model, TensorFlow now warm (what a notebook that
    # has trained or sampled before sees): this model's tracing and compilation only
    warm_time, _ = timed(lambda: run_sampler(make_model(args.optimizer)))
    rows.append(("sample_deltas, first call, another model", [warm_time], "TensorFlow warm", None))

    # 3. + 4. steady state and the arithmetic floor, interleaved (sampler, forward, gradient,
    # sampler, ...) so that both see the same machine load; timed without the RSS thread
    forward, gradient, form = make_floor(model, x, y, lrs)
    forward(), gradient(), form()  # compile
    run_sampler(model)
    steady_times, forward_times, gradient_times, paired_ratios = [], [], [], []
    for _ in range(args.repeats):
        steady_times.append(timed(lambda: run_sampler(model))[0])
        forward_times.append(timed(forward)[0])
        gradient_times.append(timed(gradient)[0])
        paired_ratios.append(steady_times[-1] / (forward_times[-1] + gradient_times[-1]))
    form_times = repeat_times(form, args.repeats)
    with PeakRSS() as steady_rss:
        run_sampler(model)
    with PeakRSS() as floor_rss:
        forward(), gradient()
    read_time, after = timed(lambda: all_state(model))
    n_model = len(model.variables)
    weights_same = all(
        np.array_equal(a, b) for a, b in zip(before[:n_model], after[:n_model], strict=True)
    )
    state_same = len(built_optimizer_state) == len(after) and all(
        np.array_equal(a, b) for a, b in zip(built_optimizer_state, after, strict=True)
    )
    same_frame = frame.equals(run_sampler(model))
    rows.append(("sample_deltas, steady state", steady_times, "", steady_rss))
    rows.append(("floor: batched forward over M*K*m rows", forward_times, "", floor_rss))
    rows.append(("floor: per-replicate gradient over M*m rows", gradient_times, "", None))
    floor = statistics.median(forward_times) + statistics.median(gradient_times)
    floor_min = min(forward_times) + min(gradient_times)
    rows.append(("floor total (forward + gradient)", [floor], "sum of medians", None))
    rows.append(("  (forming M*K weight sets a + lr*b: extra)", form_times, "not in floor", None))

    # 1. autolrtuner, last: it seeds NumPy and TensorFlow globally
    from autolrtuner import AutoLRTuner

    subsamples = 10 if args.quick else REPLICATES
    tuner_model = make_model(args.optimizer, loss_object=True)
    tuner = AutoLRTuner(tuner_model)
    with PeakRSS(interval=0.05) as tuner_rss:  # coarse: the thread must not slow its loop
        tuner_time, _ = timed(
            lambda: tuner.Tune(
                x,
                y,
                lr_space=LR_RANGE,
                num_subsamples=subsamples,
                num_evals=N_LRS,
                batch_size=BATCH,
            )
        )
    scale = REPLICATES / subsamples
    tuner_total = tuner_time * scale
    note = (
        f"--quick: {subsamples} subsamples took {tuner_time:.1f} s, scaled x{scale:g} (linear)"
        if scale != 1
        else f"{subsamples} subsamples x {N_LRS} lrs, measured"
    )
    rows.insert(0, ("autolrtuner Tune (its linear grid)", [tuner_total], note, tuner_rss))

    print()
    print(
        f"{'what':46s} {'median s':>9s} {'min s':>9s} {'n':>3s}  {'RSS start':>10s} "
        f"{'peak above':>11s}  notes"
    )
    for name, times, notes, rss in rows:
        memory = f"{mib(rss.start):>10s} {('+' + mib(rss.delta)):>11s}" if rss else " " * 22
        print(
            f"{name:46s} {statistics.median(times):9.3f} {min(times):9.3f} {len(times):3d}  "
            f"{memory}  {notes}"
        )

    steady = statistics.median(steady_times)
    t_form = statistics.median(form_times)
    print()
    # targets: steady state and floor from the sampler's first issue; the first call and the
    # kept steady state from the lookahead issue (first call >= 100x, steady >= 600x)
    checks = [
        ("autolrtuner / steady", tuner_total / steady, ">=", 600),
        ("steady / floor", steady / floor, "<=", 1.5),
        ("autolrtuner / first call", tuner_total / first_time, ">=", 100),
        ("autolrtuner / first, warm", tuner_total / warm_time, ">=", 100),
    ]
    for name, value, op, target in checks:
        ok = value >= target if op == ">=" else value <= target
        print(f"{name:28s} {value:10.2f}x   target {op} {target:g}x   {'met' if ok else 'MISSED'}")
    print(
        f"{'steady / floor, paired':28s} {statistics.median(paired_ratios):10.2f}x   (median of "
        f"per-repeat ratios, {min(paired_ratios):.2f}..{max(paired_ratios):.2f}; best times "
        f"{min(steady_times) / floor_min:.2f}x)"
    )
    print(f"{'steady / (floor + forming)':28s} {steady / (floor + t_form):10.2f}x   (information)")
    print(
        f"{'autolrtuner / first, no gc':28s} {tuner_total / uncollected['seconds']:10.2f}x   "
        "(information: the first call in a process of its own, no gc.collect() before it)"
    )
    print()
    print(
        "RSS: sampled every 2 ms by a thread in an untimed extra call (50 ms for autolrtuner; "
        "the first call: the process peak, ru_maxrss); "
        "'peak above' = peak RSS during the call minus RSS at its start (TensorFlow's allocator "
        "is invisible to tracemalloc)"
    )
    print(
        f"restore check: after {args.repeats + 4} sample_deltas calls, model weights identical to "
        f"before: {weights_same}; every model/optimizer/metric variable identical to after the "
        f"first call (which built the optimizer): {state_same}; same seed, same frame: "
        f"{same_frame}; reading the {len(after)} variables back took {read_time * 1e3:.1f} ms"
    )
    print(
        f"frame: {len(frame)} rows, path={frame.attrs.get('path')!r}, "
        f"chunk_size={frame.attrs.get('chunk_size')!r}; load average now {os.getloadavg()[0]:.2f}"
    )
    print(f"process peak RSS (ru_maxrss): {mib(max_rss())}")
    return 0 if weights_same and state_same and same_frame else 1


def first_call_only(args: argparse.Namespace) -> int:
    """``--first-call-only``: one first call, no collection before it; JSON on stdout."""
    import lrstats.keras  # noqa: F401  (imports TensorFlow outside the timed call)

    x, y = make_data()
    model = make_model(args.optimizer)
    collections = FullCollections()
    seconds, _ = timed(
        lambda: sample(model, x, y, lr_grid()), collect=False, collections=collections
    )
    result = {
        "seconds": seconds,
        "full_collections": collections.count,
        "full_seconds": collections.seconds,
    }
    print(json.dumps(result))
    return 0


def first_call_uncollected(optimizer: str) -> dict:
    """The first call of :func:`first_call_only`, run in a new process."""
    command = [sys.executable, __file__, "--first-call-only", "--optimizer", optimizer]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def memory_check(args: argparse.Namespace) -> int:
    import tensorflow as tf  # noqa: F401  (import cost outside the measured window)

    from lrstats.keras import sample_deltas

    if args.memory_model == "demo":
        # the demo's model and data: lrstats.keras.models.demo_model on RAND HIE (20,190 x 9)
        from lrstats.datasets import load_randhie
        from lrstats.keras.models import demo_model

        data = load_randhie()
        x, y = data.x, data.y
        model = demo_model(x.shape[1], seed=0)
        what = f"demo_model {x.shape[1]}->32->32->1 (SGD momentum 0.9) on RAND HIE {x.shape[0]}x{x.shape[1]}"
    else:
        x, y = make_data()
        model = make_model(args.optimizer)
        what = (
            f"MLP {N_FEATURES}->{HIDDEN}->{HIDDEN}->1 ({args.optimizer}) on {N_ROWS}x{N_FEATURES}"
        )
    n_lrs = n_replicates = 1000
    lrs = np.geomspace(*LR_RANGE, n_lrs)
    model.optimizer.build(model.trainable_variables)
    before = all_state(model)
    baseline = current_rss()
    print(
        f"memory check: {n_lrs} lrs x {n_replicates} replicates, batch {BATCH}, {what}; "
        f"{model.count_params()} parameters; RSS before the call {mib(baseline)}"
    )
    with PeakRSS() as rss:
        seconds, frame = timed(
            lambda: sample_deltas(
                model,
                x,
                y,
                lrs=lrs,
                replicates=n_replicates,
                batch_size=BATCH,
                seed=SAMPLER_SEED,
                progress=False,
            )
        )
    peak = max(rss.peak, max_rss())
    same = all(np.array_equal(a, b) for a, b in zip(before, all_state(model), strict=True))
    ok = peak <= 4 * GIB and len(frame) == n_lrs * n_replicates
    print(
        f"{len(frame):,} rows in {seconds:.1f} s; peak RSS {mib(peak)} (sampled peak "
        f"{mib(rss.peak)}, ru_maxrss {mib(max_rss())}); above the pre-call RSS: "
        f"{mib(rss.peak - baseline)}; chunk_size={frame.attrs.get('chunk_size')!r}"
    )
    print(f"state identical after the call: {same}")
    print(f"within 4 GiB: {'yes' if ok else 'NO'}")
    return 0 if ok and same else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="10 autolrtuner subsamples, time scaled x10"
    )
    parser.add_argument(
        "--memory", action="store_true", help="1,000 lrs x 1,000 replicates within 4 GiB"
    )
    parser.add_argument("--optimizer", choices=["momentum", "adam"], default="momentum")
    parser.add_argument(
        "--memory-model",
        choices=["demo", "bench"],
        default="demo",
        help="--memory on the demo's model and data (default) or on the benchmark MLP",
    )
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--first-call-only",
        action="store_true",
        help="time one first call without gc.collect() before it (used by the benchmark)",
    )
    args = parser.parse_args()
    if args.first_call_only:
        return first_call_only(args)
    return memory_check(args) if args.memory else benchmark(args)


if __name__ == "__main__":
    sys.exit(main())
