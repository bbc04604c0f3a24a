"""The benchmark's cells: a dataset shipped with scikit-learn or statsmodels × an optimizer.

Every dataset is split once (a fixed permutation from a literal seed) into a training part
of at most ``MAX_TRAIN`` rows and a validation part of at most ``MAX_VAL`` rows; features
are standardized with the training part's mean and sd; regression targets too. Nothing
here is tuned to a cell: one architecture (an MLP 64-64, ReLU), one batch size, one
number of epochs and one grid serve every cell.

The held-out cells (``HELD_OUT``) use other datasets and one other optimizer; the
benchmark evaluates methods on them only with ``--held-out``, after the default method of
``recommend_lr`` was chosen on the development cells (``DEVELOPMENT``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

#: Half-decade grid of the truth: 1e-5 ... 1 (11 lrs).
GRID = tuple(float(10.0 ** (e / 2)) for e in range(-10, 1))
SEEDS = (0, 1, 2)
EPOCHS = 20
BATCH_SIZE = 32
MAX_TRAIN = 2000
MAX_VAL = 1000
SPLIT_SEED = 20261130
HIDDEN = (64, 64)


@dataclass(frozen=True)
class Data:
    name: str
    kind: str  # "image" or "tabular"
    task: str  # "regression", "binary" or "multiclass"
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    n_classes: int


@dataclass(frozen=True)
class Cell:
    dataset: str
    optimizer: str  # "sgd" (momentum 0.9), "adam", "rmsprop"
    held_out: bool = False

    @property
    def name(self) -> str:
        return f"{self.dataset}/{self.optimizer}"


_DEV_DATASETS = ("digits", "breast_cancer", "diabetes", "fair", "randhie")
DEVELOPMENT = tuple(Cell(d, o) for d in _DEV_DATASETS for o in ("sgd", "adam"))
HELD_OUT = (
    Cell("anes96", "sgd", True),
    Cell("wine", "adam", True),
    Cell("modechoice", "rmsprop", True),
)
ALL_CELLS = DEVELOPMENT + HELD_OUT
DEFAULT_LR = {"sgd": 1e-2, "adam": 1e-3, "rmsprop": 1e-3}


def _raw(name: str) -> tuple[np.ndarray, np.ndarray, str, str]:
    """Features, target, kind, task of a bundled dataset (no downloads)."""
    if name in ("digits", "breast_cancer", "diabetes", "wine"):
        from sklearn import datasets

        bunch = getattr(datasets, f"load_{name}")()
        task = {
            "digits": "multiclass",
            "wine": "multiclass",
            "breast_cancer": "binary",
            "diabetes": "regression",
        }[name]
        kind = "image" if name == "digits" else "tabular"
        return np.asarray(bunch.data, float), np.asarray(bunch.target), kind, task
    import statsmodels.datasets as smd

    if name == "fair":  # binary: any extramarital affair
        d = smd.fair.load_pandas()
        return d.exog.to_numpy(float), (d.endog.to_numpy() > 0).astype(int), "tabular", "binary"
    if name == "randhie":  # regression: log1p(outpatient visits)
        d = smd.randhie.load_pandas()
        return d.exog.to_numpy(float), np.log1p(d.endog.to_numpy(float)), "tabular", "regression"
    if name == "anes96":  # 7-class party identification
        frame = smd.anes96.load_pandas().data
        y = frame["PID"].to_numpy().astype(int)
        x = frame.drop(columns=["PID"]).to_numpy(float)
        return x, y, "tabular", "multiclass"
    if name == "modechoice":  # binary: was this mode chosen
        d = smd.modechoice.load_pandas()
        return d.exog.to_numpy(float), d.endog.to_numpy().astype(int), "tabular", "binary"
    raise ValueError(f"unknown dataset {name!r}")


@cache
def load(name: str) -> Data:
    x, y, kind, task = _raw(name)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(x))
    n_val = min(MAX_VAL, int(round(0.3 * len(x))))
    n_train = min(MAX_TRAIN, len(x) - n_val)
    val, train = order[:n_val], order[n_val : n_val + n_train]
    mean, sd = x[train].mean(0), x[train].std(0)
    sd[sd == 0] = 1.0
    x = ((x - mean) / sd).astype(np.float32)
    if task == "regression":
        y = ((y - y[train].mean()) / y[train].std()).astype(np.float32)[:, None]
        n_classes = 0
    else:
        classes, y = np.unique(y, return_inverse=True)
        n_classes = len(classes)
        y = y.astype(np.int32) if task == "multiclass" else y.astype(np.float32)[:, None]
    return Data(name, kind, task, x[train], y[train], x[val], y[val], n_classes)


def build_model(cell: Cell, lr: float, seed: int):
    """A compiled MLP for ``cell`` at ``lr``; weights drawn from ``seed``."""
    import keras

    data = load(cell.dataset)
    keras.utils.set_random_seed(seed)
    layers = [keras.Input((data.x_train.shape[1],))]
    layers += [keras.layers.Dense(h, activation="relu") for h in HIDDEN]
    if data.task == "regression":
        layers.append(keras.layers.Dense(1))
        loss = keras.losses.MeanSquaredError()
    elif data.task == "binary":
        layers.append(keras.layers.Dense(1))
        loss = keras.losses.BinaryCrossentropy(from_logits=True)
    else:
        layers.append(keras.layers.Dense(data.n_classes))
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model = keras.Sequential(layers)
    model.compile(optimizer=make_optimizer(cell.optimizer, lr), loss=loss, steps_per_execution=8)
    return model


def make_optimizer(name: str, lr: float):
    import keras

    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=lr, momentum=0.9)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=lr)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=lr)
    raise ValueError(f"unknown optimizer {name!r}")


def configure_threads() -> None:
    """One intra-op and one inter-op thread: the machine's cores are shared."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
