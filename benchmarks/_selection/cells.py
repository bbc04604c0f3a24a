"""The benchmark's cells: a dataset shipped with scikit-learn or statsmodels × an optimizer.

Every dataset is split once (a fixed permutation from a literal seed) into a training part
of at most ``MAX_TRAIN`` rows and a validation part of at most ``MAX_VAL`` rows; features
are standardized with the training part's mean and sd; regression targets too. Nothing
here is tuned to a cell: one architecture (an MLP 64-64, ReLU), one batch size, one
number of epochs and one grid serve every cell.

The held-out cells (``HELD_OUT``) use other datasets and other optimizers; the benchmark
evaluates methods on them only with ``--held-out``. They came in eight batches, each named
before any of its runs: ``HELD_OUT_FIRST`` with the first defaults of ``recommend_lr``
(chosen on the development cells, ``DEVELOPMENT``), ``HELD_OUT_SECOND`` a later stop,
``HELD_OUT_THIRD`` to choose between the ``horizon_slope`` variants, ``HELD_OUT_FOURTH``
after that choice, ``HELD_OUT_FIFTH`` to judge ``fitted_slope_weight``, and
``HELD_OUT_SIXTH``, ``HELD_OUT_SEVENTH`` and ``HELD_OUT_EIGHTH`` after that (the comments
at each say what it was used for). The later batches add scikit-learn's seeded generators (a literal ``random_state``), more statsmodels
datasets, two of scikit-learn's sample images and optimizers the development cells never
used (AdamW, Nadam, Adamax, Lion, Adagrad, Lamb).
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
    optimizer: str  # "sgd" (momentum 0.9), "adam", "rmsprop", "adamw", "nadam", "adamax",
    # "lion", "adagrad", "lamb"
    held_out: bool = False

    @property
    def name(self) -> str:
        return f"{self.dataset}/{self.optimizer}"


def _held_out(*names: str) -> tuple[Cell, ...]:
    """Held-out cells from their names, ``"dataset/optimizer"``."""
    return tuple(Cell(*name.split("/"), held_out=True) for name in names)


_DEV_DATASETS = ("digits", "breast_cancer", "diabetes", "fair", "randhie")
DEVELOPMENT = tuple(Cell(d, o) for d in _DEV_DATASETS for o in ("sgd", "adam"))
HELD_OUT_FIRST = _held_out("anes96/sgd", "wine/adam", "modechoice/rmsprop")
HELD_OUT_SECOND = _held_out(
    "friedman1/adam",
    "hastie/sgd",
    "classification/rmsprop",
    "moons/nadam",
    "star98/adamw",
    "grunfeld/sgd",
)
#: Named before any of their runs, to judge ``recommend_lr`` with ``horizon_slope`` (a
#: slope estimated on the 19 cells above) against the defaults; the decision rule is in
#: ``methods.SLOPE_RULE``.
HELD_OUT_THIRD = _held_out(
    "friedman2/rmsprop",
    "circles/sgd",
    "quantiles/adam",
    "iris/adamw",
    "regression/nadam",
    "friedman3/adamax",
)
#: Named after the third batch chose the defaults of that time (the slope taken as exact)
#: and before any of their own runs: the batch on which nothing about those was chosen.
HELD_OUT_FOURTH = _held_out(
    "sparse/adam",
    "swiss_roll/sgd",
    "blobs/rmsprop",
    "macrodata/adamw",
    "s_curve/nadam",
    "binary/adamax",
)
#: Named on 2026-12-01 before any of their runs, after every earlier batch had been seen:
#: ten cells (five statsmodels series and tables, one image, four generators) and three
#: optimizers no earlier cell used (Lion, Adagrad, Lamb), to judge whatever the 31 cells
#: above chose, by the rule written down before the batch runs (``methods.FIFTH_RULE``).
HELD_OUT_FIFTH = _held_out(
    "co2/sgd",
    "sunspots/adam",
    "engel/rmsprop",
    "cancer/adamw",
    "fertility/adamax",
    "china_pixels/nadam",
    "multilabel/lion",
    "low_rank/adagrad",
    "classification10/lamb",
    "gaussian_blobs/sgd",
)
#: Named on 2026-12-01 after the fifth batch chose ``fitted_slope_weight`` and before any
#: of their own runs: the one batch nothing about the current defaults was estimated or
#: chosen on. scikit-learn's generators with settings no earlier cell used, and a second
#: image (the bundled datasets with enough rows are used up).
HELD_OUT_SIXTH = _held_out(
    "flower_pixels/rmsprop",
    "friedman1_wide/adamax",
    "imbalanced/adam",
    "moons_clean/sgd",
    "quantiles_binary/lamb",
    "swiss_hole/adagrad",
    "regression_bias/lion",
    "classification3/nadam",
    "blobs_wide/adamw",
    "circles_tight/sgd",
)
#: Named on 2026-12-01 before any of their runs, with nothing to choose: no default of
#: ``recommend_lr`` was estimated or chosen on it or on the sixth batch, so the two together
#: measure the current defaults on 20 unseen cells. scikit-learn's generators with settings
#: no earlier cell used.
HELD_OUT_SEVENTH = _held_out(
    "friedman3_noisy/sgd",
    "classification_hard/adam",
    "regression_sparse/rmsprop",
    "s_curve_noisy/adamw",
    "circles_loose/nadam",
    "blobs_tight/adamax",
    "quantiles4/lion",
    "friedman2_quiet/lamb",
    "low_rank_wide/adagrad",
    "moons_noisy/sgd",
)
#: Named on 2026-12-01 (a later session) before any of their runs, with nothing to choose:
#: nothing about ``recommend_lr`` changed after the seventh batch, so the sixth to eighth
#: batches measure the current defaults on 30 unseen cells. scikit-learn's generators with
#: settings no earlier cell used.
HELD_OUT_EIGHTH = _held_out(
    "friedman1_noisy/rmsprop",
    "classification5/sgd",
    "s_curve_clean/adam",
    "swiss_roll_clean/nadam",
    "blobs_many/lion",
    "quantiles_wide/adagrad",
    "circles_mid/adamw",
    "sparse_wide/lamb",
    "friedman2_noisy/adamax",
    "classification_clustered/sgd",
)
#: Named on 2026-12-01 (a later session) before any of their runs, with nothing to choose
#: about the defaults: the sixth to ninth batches measure them on 40 unseen cells. One
#: candidate is written down beside it before its runs and judged on it alone
#: (``methods.NINTH_RULE``). scikit-learn's generators with settings no earlier cell used.
HELD_OUT_NINTH = _held_out(
    "friedman3_clean/adam",
    "moons_mid/adam",
    "classification_weighted3/nadam",
    "regression_rank3/sgd",
    "blobs_unequal/rmsprop",
    "circles_far/adamax",
    "swiss_roll_noisy/adagrad",
    "s_curve_mid/lion",
    "sparse_narrow/lamb",
    "friedman1_mid/adamw",
)
#: Named on 2026-12-01 after the ninth batch passed ``methods.LEVEL_OFFSET`` by
#: ``methods.NINTH_RULE`` and before any of its own runs, with nothing to choose: it measures
#: the candidate unseen (``recommend_lr``'s defaults are unchanged) and adds ten cells to
#: the defaults' unseen rate. scikit-learn's generators with settings no earlier cell used.
HELD_OUT_TENTH = _held_out(
    "friedman2_mid/adam",
    "moons_far/nadam",
    "classification_sep2/adamw",
    "regression_wide_noisy/rmsprop",
    "blobs_pairs/sgd",
    "quantiles_flat/adamax",
    "swiss_hole_quiet/lion",
    "s_curve_rough/lamb",
    "sparse_mid/adagrad",
    "friedman3_mid/adam",
)
#: Named on 2026-12-02 (a later session) after the level offset was adopted
#: (``methods.CURRENT_SETTINGS``: the ninth batch passed it, the tenth measured it) and
#: before any of its own runs, with nothing to choose: the first batch on which nothing
#: about the current defaults was estimated, chosen or looked at. scikit-learn's generators
#: with settings no earlier cell used.
HELD_OUT_ELEVENTH = _held_out(
    "friedman1_quiet/adam",
    "moons_soft/rmsprop",
    "classification_six/adam",
    "regression_small/adamw",
    "blobs_far/nadam",
    "quantiles_deep/sgd",
    "circles_near/lion",
    "friedman2_loud/adagrad",
    "swiss_roll_mid/lamb",
    "s_curve_quiet/adamax",
)
#: Named on 2026-12-02 (a later session) before any of its runs, with nothing to choose:
#: nothing about ``recommend_lr`` changed after the eleventh batch, so the two together
#: measure the current defaults on 20 unseen cells. scikit-learn's generators with settings
#: no earlier cell used.
HELD_OUT_TWELFTH = _held_out(
    "friedman1_twelve/sgd",
    "moons_crisp/adamax",
    "classification_four/rmsprop",
    "regression_three/lion",
    "blobs_five/adagrad",
    "quantiles_three/nadam",
    "circles_open/adam",
    "friedman3_loud/lamb",
    "swiss_hole_noisy/adamw",
    "s_curve_loud/sgd",
)
HELD_OUT = (
    HELD_OUT_FIRST + HELD_OUT_SECOND + HELD_OUT_THIRD + HELD_OUT_FOURTH + HELD_OUT_FIFTH
    + HELD_OUT_SIXTH + HELD_OUT_SEVENTH + HELD_OUT_EIGHTH + HELD_OUT_NINTH + HELD_OUT_TENTH
    + HELD_OUT_ELEVENTH + HELD_OUT_TWELFTH
)  # fmt: skip
ALL_CELLS = DEVELOPMENT + HELD_OUT
#: Keras' own default lr of each optimizer (SGD's is 0.01), what a user starts from.
DEFAULT_LR = {
    "sgd": 1e-2, "adam": 1e-3, "rmsprop": 1e-3, "adamw": 1e-3, "nadam": 1e-3, "adamax": 1e-3,
    "lion": 1e-3, "adagrad": 1e-3, "lamb": 1e-3,
}  # fmt: skip
#: Rows drawn from each scikit-learn generator (before the split).
GENERATED_ROWS = 3000


def _raw(name: str) -> tuple[np.ndarray, np.ndarray, str, str]:
    """Features, target, kind, task of a bundled dataset (no downloads)."""
    if name in ("digits", "breast_cancer", "diabetes", "wine", "iris"):
        from sklearn import datasets

        bunch = getattr(datasets, f"load_{name}")()
        task = {
            "digits": "multiclass",
            "wine": "multiclass",
            "iris": "multiclass",
            "breast_cancer": "binary",
            "diabetes": "regression",
        }[name]
        kind = "image" if name == "digits" else "tabular"
        return np.asarray(bunch.data, float), np.asarray(bunch.target), kind, task
    if name in GENERATED:
        return _generated(name)
    if name in ("china_pixels", "flower_pixels"):
        return _pixels(f"{name.split('_')[0]}.jpg")
    import statsmodels.datasets as smd

    if name in LAGGED:
        return _lagged(name)
    if name in ONE_FEATURE:
        column, target, transform = ONE_FEATURE[name]
        frame = getattr(smd, name).load_pandas().data
        x = np.log(frame[[column]].to_numpy(float))
        return x, transform(frame[target].to_numpy(float)), "tabular", "regression"
    if name == "fertility":  # regression: a country's 2010 fertility from 1960, 1965, ..., 2000
        frame = smd.fertility.load_pandas().data
        years = [str(y) for y in range(1960, 2001, 5)]
        frame = frame[[*years, "2010"]].dropna()
        return frame[years].to_numpy(float), frame["2010"].to_numpy(float), "tabular", "regression"

    if name == "star98":  # regression: log-odds of a school's pupils above the median
        d = smd.star98.load_pandas()
        above, below = d.endog["NABOVE"].to_numpy(float), d.endog["NBELOW"].to_numpy(float)
        return (
            d.exog.to_numpy(float),
            np.log((above + 0.5) / (below + 0.5)),
            "tabular",
            "regression",
        )
    if name == "grunfeld":  # regression: log investment from log value, log capital, year, firm
        frame = smd.grunfeld.load_pandas().data
        firms = np.unique(frame["firm"].to_numpy(str))
        x = np.column_stack(
            [
                np.log(frame["value"].to_numpy(float)),
                np.log(frame["capital"].to_numpy(float)),
                frame["year"].to_numpy(float),
                (frame["firm"].to_numpy(str)[:, None] == firms[None, :]).astype(float),
            ]
        )
        return x, np.log(frame["invest"].to_numpy(float)), "tabular", "regression"
    if name == "macrodata":  # regression: log real investment from the other US series
        frame = smd.macrodata.load_pandas().data
        target = np.log(frame["realinv"].to_numpy(float))
        x = frame.drop(columns=["realinv"]).to_numpy(float)
        return x, target, "tabular", "regression"
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


#: scikit-learn's generators, each a dataset: name -> (the ``make_`` function, task, its
#: settings). ``GENERATED_ROWS`` rows, seeded by a literal (the same data every run); all
#: tabular. Where a generator gives several label columns, the first is the target.
GENERATORS = {
    # regression, 10 features (5 informative), noise sd 1
    "friedman1": ("friedman1", "regression", dict(n_features=10, noise=1.0)),
    # binary, 10 Gaussian features, a chi-squared boundary
    "hastie": ("hastie_10_2", "binary", dict()),
    # 4 classes, 20 features (8 informative), 5% flipped labels
    "classification": (
        "classification",
        "multiclass",
        dict(n_features=20, n_informative=8, n_classes=4, flip_y=0.05),
    ),
    # binary, two interleaved half circles, noise sd 0.3
    "moons": ("moons", "binary", dict(noise=0.3)),
    # regression, 4 features, noise sd 10
    "friedman2": ("friedman2", "regression", dict(noise=10.0)),
    # regression, 4 features (an arctan), noise sd 0.1
    "friedman3": ("friedman3", "regression", dict(noise=0.1)),
    # binary, two noisy concentric circles
    "circles": ("circles", "binary", dict(noise=0.2, factor=0.5)),
    # 3 classes by nested Gaussian shells, 6 features
    "quantiles": ("gaussian_quantiles", "multiclass", dict(n_features=6, n_classes=3)),
    # linear, 20 features (10 informative), noise sd 10
    "regression": ("regression", "regression", dict(n_features=20, n_informative=10, noise=10.0)),
    # regression, 10 features (4 informative), unit noise
    "sparse": ("sparse_uncorrelated", "regression", dict(n_features=10)),
    # regression: the position along the roll from 3-D points
    "swiss_roll": ("swiss_roll", "regression", dict(noise=0.5)),
    # 5 overlapping Gaussian clusters in 8 dimensions
    "blobs": ("blobs", "multiclass", dict(n_features=8, centers=5, cluster_std=4.0)),
    # regression: the position along the S from 3-D points
    "s_curve": ("s_curve", "regression", dict(noise=0.1)),
    # 15 features (5 informative, 5 redundant), 10% flipped labels
    "binary": (
        "classification",
        "binary",
        dict(n_features=15, n_informative=5, n_redundant=5, class_sep=0.8, flip_y=0.1),
    ),
    # binary: the first of 5 labels, 20 count features
    "multilabel": (
        "multilabel_classification",
        "binary",
        dict(n_features=20, n_classes=5, n_labels=2),
    ),
    # linear, 50 features of effective rank 5 (20 informative), noise 1
    "low_rank": (
        "regression",
        "regression",
        dict(n_features=50, n_informative=20, effective_rank=5, tail_strength=0.3, noise=1.0),
    ),
    # 10 classes, 30 features (15 informative), 2% flipped
    "classification10": (
        "classification",
        "multiclass",
        dict(n_features=30, n_informative=15, n_classes=10, n_clusters_per_class=1, flip_y=0.02),
    ),
    # 3 classes, 2-D clusters of unequal spread
    "gaussian_blobs": (
        "blobs",
        "multiclass",
        dict(n_features=2, centers=3, cluster_std=[1.0, 2.5, 0.5]),
    ),
    # regression, 30 features (5 informative), noise sd 0.5
    "friedman1_wide": ("friedman1", "regression", dict(n_features=30, noise=0.5)),
    # binary, 9 of 10 in one class, 12 features (6 informative)
    "imbalanced": (
        "classification",
        "binary",
        dict(n_features=12, n_informative=6, weights=[0.9, 0.1]),
    ),
    # binary, two half circles, noise sd 0.1
    "moons_clean": ("moons", "binary", dict(noise=0.1)),
    # binary: inside or outside a Gaussian shell, 10 features
    "quantiles_binary": ("gaussian_quantiles", "binary", dict(n_features=10, n_classes=2)),
    # regression: the position along a swiss roll with a hole
    "swiss_hole": ("swiss_roll", "regression", dict(noise=1.0, hole=True)),
    # linear, 8 informative features, noise sd 30, bias 100
    "regression_bias": (
        "regression",
        "regression",
        dict(n_features=8, n_informative=8, noise=30.0, bias=100.0),
    ),
    # 3 classes, 40 features (4 informative, 10 redundant)
    "classification3": (
        "classification",
        "multiclass",
        dict(n_features=40, n_informative=4, n_redundant=10, n_classes=3, class_sep=0.5),
    ),
    # 8 overlapping clusters in 20 dimensions
    "blobs_wide": ("blobs", "multiclass", dict(n_features=20, centers=8, cluster_std=6.0)),
    # binary, two close concentric circles, noise 0.05
    "circles_tight": ("circles", "binary", dict(noise=0.05, factor=0.8)),
    # regression, 4 features (an arctan), noise sd 0.5
    "friedman3_noisy": ("friedman3", "regression", dict(noise=0.5)),
    # binary, 25 features (3 informative), 20% flipped
    "classification_hard": (
        "classification",
        "binary",
        dict(n_features=25, n_informative=3, n_redundant=2, class_sep=0.3, flip_y=0.2),
    ),
    # linear, 100 features (5 informative), noise sd 5
    "regression_sparse": (
        "regression",
        "regression",
        dict(n_features=100, n_informative=5, noise=5.0),
    ),
    # regression: the position along the S, noise sd 0.5
    "s_curve_noisy": ("s_curve", "regression", dict(noise=0.5)),
    # binary, two far concentric circles, noise 0.3
    "circles_loose": ("circles", "binary", dict(noise=0.3, factor=0.3)),
    # 4 well-separated clusters in 3 dimensions
    "blobs_tight": ("blobs", "multiclass", dict(n_features=3, centers=4, cluster_std=1.0)),
    # 4 classes by nested Gaussian shells, 4 features
    "quantiles4": ("gaussian_quantiles", "multiclass", dict(n_features=4, n_classes=4)),
    # regression, 4 features, no noise
    "friedman2_quiet": ("friedman2", "regression", dict(noise=0.0)),
    # linear, 80 features of effective rank 10, noise sd 5
    "low_rank_wide": (
        "regression",
        "regression",
        dict(n_features=80, n_informative=40, effective_rank=10, tail_strength=0.5, noise=5.0),
    ),
    # binary, two half circles, noise sd 0.5
    "moons_noisy": ("moons", "binary", dict(noise=0.5)),
    # regression, 10 features (5 informative), noise sd 3
    "friedman1_noisy": ("friedman1", "regression", dict(n_features=10, noise=3.0)),
    # 5 classes, 10 features (6 informative), well separated
    "classification5": (
        "classification",
        "multiclass",
        dict(n_features=10, n_informative=6, n_classes=5, class_sep=1.5, flip_y=0.01),
    ),
    # regression: the position along the S, no noise
    "s_curve_clean": ("s_curve", "regression", dict(noise=0.0)),
    # regression: the position along the roll, no noise
    "swiss_roll_clean": ("swiss_roll", "regression", dict(noise=0.0)),
    # 12 clusters in 6 dimensions, sd 2
    "blobs_many": ("blobs", "multiclass", dict(n_features=6, centers=12, cluster_std=2.0)),
    # 3 classes by nested Gaussian shells, 12 features
    "quantiles_wide": ("gaussian_quantiles", "multiclass", dict(n_features=12, n_classes=3)),
    # binary, two concentric circles, noise 0.1, factor 0.6
    "circles_mid": ("circles", "binary", dict(noise=0.1, factor=0.6)),
    # regression, 30 features (4 informative), unit noise
    "sparse_wide": ("sparse_uncorrelated", "regression", dict(n_features=30)),
    # regression, 4 features, noise sd 100
    "friedman2_noisy": ("friedman2", "regression", dict(noise=100.0)),
    # binary, 4 informative of 10, 3 clusters a class
    "classification_clustered": (
        "classification",
        "binary",
        dict(n_features=10, n_informative=4, n_redundant=4, n_clusters_per_class=3, flip_y=0.05),
    ),
    # regression, 4 features (an arctan), no noise
    "friedman3_clean": ("friedman3", "regression", dict(noise=0.0)),
    # binary, two interleaved half circles, noise sd 0.2
    "moons_mid": ("moons", "binary", dict(noise=0.2)),
    # 3 classes of 60%, 30% and 10%, 8 features (5 informative)
    "classification_weighted3": (
        "classification",
        "multiclass",
        dict(n_features=8, n_informative=5, n_classes=3, weights=[0.6, 0.3, 0.1]),
    ),
    # linear, 30 features of effective rank 3 (10 informative), noise sd 2
    "regression_rank3": (
        "regression",
        "regression",
        dict(n_features=30, n_informative=10, effective_rank=3, noise=2.0),
    ),
    # 4 clusters in 5 dimensions with spreads 0.5, 1, 2 and 3
    "blobs_unequal": (
        "blobs",
        "multiclass",
        dict(n_features=5, centers=4, cluster_std=[0.5, 1.0, 2.0, 3.0]),
    ),
    # binary, two far concentric circles, noise 0.15, factor 0.2
    "circles_far": ("circles", "binary", dict(noise=0.15, factor=0.2)),
    # regression: the position along the roll, noise sd 2
    "swiss_roll_noisy": ("swiss_roll", "regression", dict(noise=2.0)),
    # regression: the position along the S, noise sd 0.3
    "s_curve_mid": ("s_curve", "regression", dict(noise=0.3)),
    # regression, 5 features (4 informative), unit noise
    "sparse_narrow": ("sparse_uncorrelated", "regression", dict(n_features=5)),
    # regression, 15 features (5 informative), noise sd 2
    "friedman1_mid": ("friedman1", "regression", dict(n_features=15, noise=2.0)),
    # regression, 4 features, noise sd 30
    "friedman2_mid": ("friedman2", "regression", dict(noise=30.0)),
    # binary, two interleaved half circles, noise sd 0.4
    "moons_far": ("moons", "binary", dict(noise=0.4)),
    # 3 classes, 12 features (6 informative), far apart
    "classification_sep2": (
        "classification",
        "multiclass",
        dict(n_features=12, n_informative=6, n_classes=3, class_sep=2.0),
    ),
    # linear, 60 features (30 informative), noise sd 20
    "regression_wide_noisy": (
        "regression",
        "regression",
        dict(n_features=60, n_informative=30, noise=20.0),
    ),
    # 6 clusters in 2 dimensions, sd 1.5
    "blobs_pairs": ("blobs", "multiclass", dict(n_features=2, centers=6, cluster_std=1.5)),
    # 5 classes by nested Gaussian shells, 3 features
    "quantiles_flat": ("gaussian_quantiles", "multiclass", dict(n_features=3, n_classes=5)),
    # regression: the position along a swiss roll with a hole, noise sd 0.2
    "swiss_hole_quiet": ("swiss_roll", "regression", dict(noise=0.2, hole=True)),
    # regression: the position along the S, noise sd 0.8
    "s_curve_rough": ("s_curve", "regression", dict(noise=0.8)),
    # regression, 20 features (4 informative), unit noise
    "sparse_mid": ("sparse_uncorrelated", "regression", dict(n_features=20)),
    # regression, 4 features (an arctan), noise sd 0.25
    "friedman3_mid": ("friedman3", "regression", dict(noise=0.25)),
    # regression, 8 features (5 informative), noise sd 0.5
    "friedman1_quiet": ("friedman1", "regression", dict(n_features=8, noise=0.5)),
    # binary, two interleaved half circles, noise sd 0.25
    "moons_soft": ("moons", "binary", dict(noise=0.25)),
    # 6 classes, 16 features (10 informative)
    "classification_six": (
        "classification",
        "multiclass",
        dict(n_features=16, n_informative=10, n_classes=6),
    ),
    # linear, 5 features (all informative), noise sd 5
    "regression_small": (
        "regression",
        "regression",
        dict(n_features=5, n_informative=5, noise=5.0),
    ),
    # 3 clusters in 4 dimensions, sd 2.5
    "blobs_far": ("blobs", "multiclass", dict(n_features=4, centers=3, cluster_std=2.5)),
    # 4 classes by nested Gaussian shells, 8 features
    "quantiles_deep": ("gaussian_quantiles", "multiclass", dict(n_features=8, n_classes=4)),
    # binary, two concentric circles close together, noise sd 0.25
    "circles_near": ("circles", "binary", dict(noise=0.25, factor=0.7)),
    # regression, 4 features, noise sd 60
    "friedman2_loud": ("friedman2", "regression", dict(noise=60.0)),
    # regression: the position along a swiss roll, noise sd 1
    "swiss_roll_mid": ("swiss_roll", "regression", dict(noise=1.0)),
    # regression: the position along the S, noise sd 0.05
    "s_curve_quiet": ("s_curve", "regression", dict(noise=0.05)),
    # regression, 12 features (5 informative), noise sd 2
    "friedman1_twelve": ("friedman1", "regression", dict(n_features=12, noise=2.0)),
    # binary, two interleaved half circles, noise sd 0.15
    "moons_crisp": ("moons", "binary", dict(noise=0.15)),
    # 4 classes, 12 features (6 informative)
    "classification_four": (
        "classification",
        "multiclass",
        dict(n_features=12, n_informative=6, n_classes=4),
    ),
    # linear, 3 features (all informative), noise sd 10
    "regression_three": (
        "regression",
        "regression",
        dict(n_features=3, n_informative=3, noise=10.0),
    ),
    # 5 clusters in 6 dimensions, sd 1.5
    "blobs_five": ("blobs", "multiclass", dict(n_features=6, centers=5, cluster_std=1.5)),
    # 3 classes by nested Gaussian shells, 5 features
    "quantiles_three": ("gaussian_quantiles", "multiclass", dict(n_features=5, n_classes=3)),
    # binary, two concentric circles far apart, noise sd 0.15
    "circles_open": ("circles", "binary", dict(noise=0.15, factor=0.4)),
    # regression, 4 features (an arctan), noise sd 0.8
    "friedman3_loud": ("friedman3", "regression", dict(noise=0.8)),
    # regression: the position along a swiss roll with a hole, noise sd 2
    "swiss_hole_noisy": ("swiss_roll", "regression", dict(noise=2.0, hole=True)),
    # regression: the position along the S, noise sd 1.2
    "s_curve_loud": ("s_curve", "regression", dict(noise=1.2)),
}
GENERATED = tuple(GENERATORS)
#: statsmodels tables as one-feature regressions on the log of the feature: (feature,
#: target, the target's transform).
ONE_FEATURE = {
    "engel": ("income", "foodexp", np.log),  # food expenditure of 235 households
    "cancer": ("population", "cancer", np.log1p),  # cancer deaths in 301 counties
}
#: statsmodels series made into regressions on their own lags.
LAGGED = ("co2", "sunspots")


def _lagged(name: str) -> tuple[np.ndarray, np.ndarray, str, str]:
    """A series' next value from its previous ones (a forecasting regression)."""
    import statsmodels.datasets as smd

    if name == "co2":  # weekly Mauna Loa CO2: next week's change from the last 12 changes
        series = smd.co2.load_pandas().data["co2"].interpolate().bfill().to_numpy(float)
        series, lags = np.diff(series), 12
    else:  # yearly sunspot activity from the previous 9 years
        series, lags = smd.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(float), 9
    x = np.column_stack([series[i : len(series) - lags + i] for i in range(lags)])
    return x, series[lags:], "tabular", "regression"


def _pixels(image: str) -> tuple[np.ndarray, np.ndarray, str, str]:
    """An image as a function: a pixel's grey level from its (row, column) position.

    ``GENERATED_ROWS`` pixels drawn without replacement with a literal seed from one of
    scikit-learn's bundled sample images.
    """
    from sklearn.datasets import load_sample_image

    picture = load_sample_image(image).astype(float).mean(axis=2)
    rows, columns = np.indices(picture.shape)
    chosen = np.random.default_rng(20261201).choice(picture.size, GENERATED_ROWS, replace=False)
    x = np.column_stack([rows.ravel()[chosen], columns.ravel()[chosen]])
    return x, picture.ravel()[chosen], "image", "regression"


def _generated(name: str) -> tuple[np.ndarray, np.ndarray, str, str]:
    """A scikit-learn generator's sample from ``GENERATORS``."""
    from sklearn import datasets

    function, task, settings = GENERATORS[name]
    x, y = getattr(datasets, f"make_{function}")(
        n_samples=GENERATED_ROWS, random_state=20261201, **settings
    )
    return x, (y[:, 0] if y.ndim == 2 else y), "tabular", task


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


#: Keras' optimizer class of each cell optimizer name (SGD gets momentum 0.9).
OPTIMIZERS = {
    "sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop", "adamw": "AdamW", "nadam": "Nadam",
    "adamax": "Adamax", "lion": "Lion", "adagrad": "Adagrad", "lamb": "Lamb",
}  # fmt: skip


def make_optimizer(name: str, lr: float):
    import keras

    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}")
    extra = {"momentum": 0.9} if name == "sgd" else {}
    return getattr(keras.optimizers, OPTIMIZERS[name])(learning_rate=lr, **extra)


def configure_threads() -> None:
    """One intra-op and one inter-op thread: the machine's cores are shared."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
