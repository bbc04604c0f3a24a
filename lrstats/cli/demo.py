"""``lrstats demo``: the sampler and the analysis on the embedded RAND HIE data."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from lrstats.cli._common import add_sampling_options, analyse_and_print, save_and_report


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "demo",
        help="sample ΔL for a small MLP on the embedded RAND HIE data and analyse it",
        description=(
            "Sample one-step loss changes for a small MLP (9→32→32→1, SGD with momentum) "
            "on the RAND Health Insurance Experiment data shipped with statsmodels "
            "(20,190 rows, standardized), print the per-lr summary and the selected "
            "learning rates with their intervals, recommend an lr to train with "
            "(recommend_lr: successive halving on copies of the model, extrapolated to "
            "--epochs), and write the frame and a report."
        ),
    )
    add_sampling_options(parser, replicates=200, batch_size=64)
    parser.add_argument(
        "--warmup-steps",
        type=int,
        default=0,
        help="plain training steps (lr 0.01, fixed batches) before sampling, so the optimizer "
        "state is not fresh (default 0)",
    )
    parser.add_argument(
        "--epochs",
        type=float,
        default=10.0,
        help="planned training length in epochs, which the recommendation extrapolates its "
        "optimum to (default 10)",
    )
    parser.add_argument(
        "--no-recommend",
        action="store_true",
        help="skip the recommendation (recommend_lr: successive halving on copies of the model)",
    )
    parser.add_argument("--out", type=Path, default=Path("lrstats-demo"), help="output directory")
    parser.add_argument("--no-report", action="store_true", help="skip the HTML report")
    return parser


def run(args: argparse.Namespace) -> int:
    import numpy as np

    import lrstats
    from lrstats.datasets import load_randhie
    from lrstats.keras import sample_deltas
    from lrstats.keras.models import demo_model

    data = load_randhie()
    model = demo_model(data.x.shape[1], seed=args.seed)
    print(
        f"Data: {data.description}: {data.x.shape[0]} rows × {data.x.shape[1]} features, "
        f"target {data.target_name}"
    )
    if args.warmup_steps > 0:
        steps = args.warmup_steps
        rows = np.arange(steps * args.batch_size) % data.x.shape[0]
        model.fit(
            data.x[rows],
            data.y[rows],
            batch_size=args.batch_size,
            epochs=1,
            shuffle=False,
            verbose=0,
        )
    print(
        f"Model: {model.name}, {model.count_params()} parameters, optimizer "
        f"{type(model.optimizer).__name__} ({int(model.optimizer.iterations.numpy())} steps taken)"
    )
    lrs = lrstats.log_grid(args.lr_min, args.lr_max, args.num_lrs)
    start = time.perf_counter()
    frame = sample_deltas(
        model,
        data.x,
        data.y,
        lrs=lrs,
        replicates=args.replicates,
        batch_size=args.batch_size,
        seed=args.seed,
        evaluate=args.evaluate,
        progress=not args.no_progress,
    )
    seconds = time.perf_counter() - start
    frame.attrs["dataset"] = data.description
    print(
        f"Sampled {args.replicates} replicates × {lrs.size} learning rates in {seconds:.2f} s "
        f"(path: {frame.attrs['path']}, compilation included)\n"
    )
    analysis = analyse_and_print(frame, n_resamples=args.n_resamples, seed=args.seed)
    extra = {}
    if not args.no_recommend:
        from lrstats.keras import recommend_lr

        start = time.perf_counter()
        # recommend_lr's own grid (11 half-decades, the one its defaults were chosen on)
        recommendation = recommend_lr(
            model, data.x, data.y, epochs=args.epochs, seed=args.seed,
            batch_size=args.batch_size, progress=not args.no_progress,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        print(
            f"\nRecommended lr to train {args.epochs:g} epochs with: lr = "
            f"{recommendation.lr:.4g}, {100 * (1 - recommendation.alpha):g}% interval "
            f"[{recommendation.ci_low:.4g}, {recommendation.ci_high:.4g}]\n"
            f"  (recommend_lr: successive halving over epochs on copies of the model, "
            f"{recommendation.replicates} replicate(s), {recommendation.rounds} rounds, "
            f"{recommendation.steps_spent} member-steps, {seconds:.1f} s; the rules above "
            "answer 'which lr gains most in one step', this one 'which lr trains well')"
        )
        extra["recommendation"] = recommendation
    save_and_report(frame, analysis, args.out, report=not args.no_report, extra=extra)
    return 0
