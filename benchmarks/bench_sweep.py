"""Sensitivity sweep: 2 single-threaded Dask workers against a serial single-threaded run.

Run from the repository root::

    python benchmarks/bench_sweep.py [--lrs 4] [--seeds 2] [--epochs 8] [--rows 4096] [--repeats 3]

Side by side in one run, on the same machine, ``--repeats`` times (median reported):

* the same sweep (demo MLP 9→32→32→1 on the first ``--rows`` rows of RAND HIE, SGD with
  momentum, batch 64) serially in this process and on a ``LocalCluster`` of 2 worker
  processes with 1 thread each; TensorFlow is limited to one intra-op and one inter-op
  thread everywhere (``TF_NUM_INTRAOP_THREADS=1``), so the comparison is 1 core vs 2;
* the machine's own ceiling for that comparison: the same sweep split in two halves (by lr)
  run by 2 plain Python processes started at the same moment, without Dask, timed to the
  slower one;
* the workers are started and have imported TensorFlow before timing (cluster start-up
  is reported separately); the frames must be identical (checked);
* the CPU time each process actually received, and from it an estimate of the speed-up
  on idle cores (serial CPU time / the busiest worker's CPU time), since on a shared
  machine the wall-clock ratio measures the contention;
* the per-task overhead of :func:`lrstats.execution.map_runs` on the cluster: the same
  trivial task serially and on Dask, ``(t_dask - t_serial) / n_tasks``.

The numbers depend on what else the machine runs; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import time

# One thread per process everywhere: set before TensorFlow is imported here or in workers.
for _name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
    os.environ[_name] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def build_demo(lr: float, seed: int):
    import keras

    from lrstats.keras.models import demo_model

    return demo_model(9, seed=seed, optimizer=keras.optimizers.SGD(lr, momentum=0.9))


def _nothing(task, shared):
    return task


def _cpu_seconds():
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _import_tensorflow():
    import tensorflow  # noqa: F401

    import lrstats.keras  # noqa: F401

    return os.getpid()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lrs", type=int, default=4, help="grid points (default 4)")
    parser.add_argument("--seeds", type=int, default=2, help="seeds (default 2)")
    parser.add_argument("--epochs", type=int, default=8, help="epochs per run (default 8)")
    parser.add_argument("--rows", type=int, default=4096, help="training rows (default 4096)")
    parser.add_argument("--tasks", type=int, default=200, help="trivial tasks (default 200)")
    parser.add_argument("--repeats", type=int, default=3, help="timed pairs per configuration")
    args = parser.parse_args()

    import numpy as np

    from lrstats.datasets import load_randhie

    data = load_randhie()
    x, y = data.x[: args.rows], data.y[: args.rows]
    options = _options(args, data)
    n_runs = args.lrs * args.seeds
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores)")
    print(
        f"sweep: {args.lrs} lrs × {args.seeds} seeds = {n_runs} runs × {args.epochs} epochs, "
        f"{args.rows} rows, batch 64"
    )

    ratios = _measure(args=args, x=x, y=y, options=options)
    print("\n== median over repeats ==")
    for label, values in ratios.items():
        print(
            f"{label:34s} {np.median(values):.2f}x  (repeats: "
            + ", ".join(f"{v:.2f}" for v in values)
            + ")"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f} (2 cores)")


def _half_sweep(half, args, ready, go, out):
    """A child process: half of the lrs serially, started at the barrier (the ceiling)."""
    from lrstats.datasets import load_randhie
    from lrstats.keras import sensitivity

    data = load_randhie()
    x, y = data.x[: args.rows], data.y[: args.rows]
    options = _options(args, data)
    lrs = list(options.pop("lrs"))
    mine = lrs[: len(lrs) // 2] if half == 0 else lrs[len(lrs) // 2 :]
    sensitivity(build_demo, x[:256], y[:256], **dict(options, lrs=[0.01], seeds=1, epochs=1))
    ready.put(half)
    go.wait()
    start = time.perf_counter()
    sensitivity(build_demo, x, y, lrs=mine, **options)
    out.put(time.perf_counter() - start)


def _options(args, data):
    import lrstats

    return dict(
        lrs=lrstats.log_grid(1e-3, 1e-1, args.lrs),
        seeds=args.seeds,
        epochs=args.epochs,
        batch_size=64,
        validation_data=(data.x[-2048:], data.y[-2048:]),
        progress=False,
    )


def _two_plain_processes(args) -> float:
    """Wall time of the slower of 2 processes each running half the sweep, no Dask."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    ready, out, go = context.Queue(), context.Queue(), context.Event()
    children = [
        context.Process(target=_half_sweep, args=(half, args, ready, go, out)) for half in (0, 1)
    ]
    for child in children:
        child.start()
    for _ in children:
        ready.get()
    go.set()
    times = [out.get() for _ in children]
    for child in children:
        child.join()
    return max(times)


def _measure(*, args, x, y, options) -> dict[str, list[float]]:
    import distributed
    import pandas as pd

    from lrstats.execution import map_runs
    from lrstats.keras import sensitivity

    n_runs = args.lrs * args.seeds
    start = time.perf_counter()
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    client.run(_import_tensorflow)
    startup = time.perf_counter() - start
    ratios: dict[str, list[float]] = {
        "Dask, 2 workers, over serial": [],
        "2 plain processes, over serial": [],
        "Dask over 2 plain processes": [],
    }
    try:
        # Warm-up of this process (TensorFlow import, first trace) outside the timing.
        sensitivity(build_demo, x[:256], y[:256], **dict(options, lrs=[0.01], seeds=1, epochs=1))
        sensitivity(
            build_demo,
            x[:256],
            y[:256],
            executor=client,
            **dict(options, lrs=[0.01, 0.02], seeds=1, epochs=1),
        )
        print(f"cluster start-up (2 workers, TensorFlow imported): {startup:.1f} s (not timed)")
        for repeat in range(args.repeats):
            start, cpu_start = time.perf_counter(), _cpu_seconds()
            serial = sensitivity(build_demo, x, y, **options)
            t_serial, cpu_serial = time.perf_counter() - start, _cpu_seconds() - cpu_start
            workers_before = client.run(_cpu_seconds)
            start, cpu_start = time.perf_counter(), _cpu_seconds()
            on_dask = sensitivity(build_demo, x, y, executor=client, **options)
            t_dask, cpu_client = time.perf_counter() - start, _cpu_seconds() - cpu_start
            workers_after = client.run(_cpu_seconds)
            cpu_workers = [workers_after[w] - workers_before[w] for w in workers_before]
            pd.testing.assert_frame_equal(on_dask, serial)
            t_plain = _two_plain_processes(args)
            ratios["Dask, 2 workers, over serial"].append(t_serial / t_dask)
            ratios["2 plain processes, over serial"].append(t_serial / t_plain)
            ratios["Dask over 2 plain processes"].append(t_plain / t_dask)
            # CPU time actually received: under load a process gets a fraction of a core.
            # If every process had a core to itself, wall time ≈ its CPU time: the speed-up
            # 2 idle cores would give is about serial CPU / busiest worker's CPU (an estimate).
            print(
                f"repeat {repeat + 1}: serial {t_serial:6.2f} s ({t_serial / n_runs:.2f} s/run), "
                f"Dask {t_dask:6.2f} s ({t_dask / n_runs:.2f} s/run), "
                f"speed-up {t_serial / t_dask:.2f}x (frames identical); CPU received: serial "
                f"{cpu_serial / t_serial:.0%} of a core, workers "
                + ", ".join(f"{c / t_dask:.0%}" for c in cpu_workers)
                + f", client and scheduler {cpu_client / t_dask:.0%}"
                + f"; CPU-time estimate {cpu_serial / max(cpu_workers):.2f}x; "
                f"2 plain processes {t_plain:.2f} s ({t_serial / t_plain:.2f}x)"
            )

        tasks = list(range(args.tasks))
        start = time.perf_counter()
        map_runs(_nothing, tasks, shared=x)
        t_trivial_serial = time.perf_counter() - start
        start = time.perf_counter()
        map_runs(_nothing, tasks, shared=x, executor=client)
        t_trivial_dask = time.perf_counter() - start
    finally:
        client.close()
        cluster.close()
    overhead = (t_trivial_dask - t_trivial_serial) / args.tasks
    print(
        f"per-task overhead: {overhead * 1e3:.2f} ms ({args.tasks} trivial tasks: "
        f"{t_trivial_dask:.2f} s on Dask, {t_trivial_serial * 1e3:.1f} ms serially)"
    )
    return ratios


if __name__ == "__main__":
    main()
