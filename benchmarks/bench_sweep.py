"""Sensitivity sweep: 2 single-threaded Dask workers against a serial single-threaded run.

Run from the repository root::

    python benchmarks/bench_sweep.py [--runs-lrs 4] [--seeds 2] [--epochs 3] [--rows 4096]

Side by side in one run, on the same machine:

* the same sweep (demo MLP 9→32→32→1 on the first ``--rows`` rows of RAND HIE, SGD with
  momentum, batch 64) serially in this process and on a ``LocalCluster`` of 2 worker
  processes with 1 thread each; TensorFlow is limited to one intra-op and one inter-op
  thread everywhere (``TF_NUM_INTRAOP_THREADS=1``), so the comparison is 1 core vs 2;
* the workers are started and have imported TensorFlow before timing (cluster start-up
  is reported separately);
* the frames must be identical (checked), then the speed-up is printed;
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

    return demo_model(9, optimizer=keras.optimizers.SGD(lr, momentum=0.9))


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
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (default 3)")
    parser.add_argument("--rows", type=int, default=4096, help="training rows (default 4096)")
    parser.add_argument("--tasks", type=int, default=200, help="trivial tasks (default 200)")
    args = parser.parse_args()

    import distributed
    import pandas as pd

    import lrstats
    from lrstats.datasets import load_randhie
    from lrstats.execution import map_runs
    from lrstats.keras import sensitivity

    data = load_randhie()
    x, y = data.x[: args.rows], data.y[: args.rows]
    validation = (data.x[-2048:], data.y[-2048:])
    options = dict(
        lrs=lrstats.log_grid(1e-3, 1e-1, args.lrs),
        seeds=args.seeds,
        epochs=args.epochs,
        batch_size=64,
        validation_data=validation,
        progress=False,
    )
    n_runs = args.lrs * args.seeds
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores)")
    print(
        f"sweep: {args.lrs} lrs × {args.seeds} seeds = {n_runs} runs × {args.epochs} epochs, "
        f"{args.rows} rows, batch 64"
    )

    start = time.perf_counter()
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    client.run(_import_tensorflow)
    startup = time.perf_counter() - start
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

        start, cpu_start = time.perf_counter(), _cpu_seconds()
        serial = sensitivity(build_demo, x, y, **options)
        t_serial, cpu_serial = time.perf_counter() - start, _cpu_seconds() - cpu_start
        workers_before = client.run(_cpu_seconds)
        start = time.perf_counter()
        on_dask = sensitivity(build_demo, x, y, executor=client, **options)
        t_dask = time.perf_counter() - start
        workers_after = client.run(_cpu_seconds)
        cpu_workers = [workers_after[w] - workers_before[w] for w in workers_before]
        pd.testing.assert_frame_equal(on_dask, serial)

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

    print(f"cluster start-up (2 workers, TensorFlow imported): {startup:.1f} s (not timed below)")
    print(f"serial, 1 thread:        {t_serial:7.2f} s  ({t_serial / n_runs:.2f} s per run)")
    print(f"Dask, 2 workers × 1:     {t_dask:7.2f} s  ({t_dask / n_runs:.2f} s per run)")
    print(f"speed-up:                {t_serial / t_dask:7.2f}×  (frames identical)")
    # CPU time actually received: under load a process gets a fraction of a core.
    print(
        f"CPU received:            serial {cpu_serial:.1f} s in {t_serial:.1f} s "
        f"({cpu_serial / t_serial:.0%} of a core); workers "
        + ", ".join(f"{c:.1f} s ({c / t_dask:.0%})" for c in cpu_workers)
    )
    # If every process had a core to itself, wall time ≈ its CPU time: the speed-up
    # 2 idle cores would give is about serial CPU / busiest worker's CPU (an estimate).
    print(
        f"CPU-time estimate of the speed-up on idle cores: "
        f"{cpu_serial / max(cpu_workers):.2f}×  (serial CPU / busiest worker's CPU)"
    )
    overhead = (t_trivial_dask - t_trivial_serial) / args.tasks
    print(
        f"per-task overhead:       {overhead * 1e3:7.2f} ms  ({args.tasks} trivial tasks: "
        f"{t_trivial_dask:.2f} s on Dask, {t_trivial_serial * 1e3:.1f} ms serially)"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f} (2 cores)")


if __name__ == "__main__":
    main()
