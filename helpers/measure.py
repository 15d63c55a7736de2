"""Time and peak memory of one semi-hard loss step; memory in a fresh process (chapter 2 introduces it).

Chapter 2 measures one forward + backward pass of :func:`helpers.losses.semi_hard_triplet_loss`
inside a ``tf.function``, on random 64-d float32 embeddings with 10 classes, for both methods
(``"tile"``, O(B³) memory; ``"sort"``, O(B²)), with one call each::

    seconds = time_here({"tile": [32, 64, 128], "sort": [32, 64, 128]})   # in this process
    growth = peak_growths({"tile": [256], "sort": [256]})                 # one fresh process each
    print(scaling_table(seconds, growth))

**Time** is measured in the calling process (a notebook's kernel): for each size, one warm-up pass
(the first call also traces), then the median of ``repeats`` passes. Time has no memory of earlier
calls, so measuring it in the kernel is fair.

**Memory** needs more care. Linux reports a process's peak resident memory as ``VmHWM`` in
``/proc/self/status``. It is a high-water mark: memory that an earlier call freed often stays with
the process (allocator caches, pages not yet handed back), so a later, smaller peak in the same
process is invisible, and a measurement there depends on what ran before — in a kernel that has
just run the timing passes, say. This module therefore measures each configuration (method, batch
size) in its own new Python process, which

1. imports TensorFlow and builds one forward + backward pass of
   :func:`helpers.losses.semi_hard_triplet_loss` as a ``tf.function``;
2. traces and runs it on a tiny batch, so that code, kernels and thread pools are loaded first;
3. makes the inputs at batch size ``B`` (random 64-d float32 embeddings, 10 classes);
4. resets the peak to the current resident size (``5`` written to ``/proc/self/clear_refs``) and
   records ``VmRSS``;
5. runs one forward + backward pass at ``B`` and reports ``VmHWM`` minus that ``VmRSS``.

Each process pays for a TensorFlow import (seconds), so chapter 2 measures memory at fewer sizes
than time, two processes at a time (each process's peak is its own, so running them side by side
changes no memory figure). Elsewhere than Linux (no ``/proc/self/clear_refs``) the memory is
``None`` and :func:`peak_growths` returns an empty dict. Optionally the process also times
``repeats`` further passes (median); ``benchmarks/loss_scaling.py`` uses that. Linux's ``proc(5)``
manual describes ``VmHWM``, ``VmRSS`` and ``clear_refs``:
https://man7.org/linux/man-pages/man5/proc.5.html

From Python (each call starts a process, which costs one TensorFlow import)::

    from helpers.measure import peak_growth, measure_fresh_many
    peak_growth("tile", 256)                               # bytes, or None off Linux
    measure_fresh_many([("tile", 256), ("sort", 256)])     # a few processes at a time

From a shell, one configuration per call, one JSON line out::

    python -m helpers.measure tile 256
    python -m helpers.measure sort 2048 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")
METHODS = ("sort", "tile")
TINY_BATCH = 8


def peak_supported() -> bool:
    """Whether this system lets a process reset and read its peak resident memory (Linux)."""
    return CLEAR_REFS.exists() and STATUS.exists()


def _status_bytes(field: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``), in bytes."""
    for line in STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def _reset_peak() -> bool:
    """Set ``VmHWM`` to the current ``VmRSS``; False where that is not possible."""
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def _step(method: str, dim: int):
    """One forward + backward pass of the semi-hard loss as a ``tf.function``: (loss, gradient)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    import tensorflow as tf

    from helpers.losses import semi_hard_triplet_loss

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int64), tf.TensorSpec([None, dim], tf.float32)])
    def step(labels, embeddings):
        with tf.GradientTape() as tape:
            tape.watch(embeddings)
            loss = semi_hard_triplet_loss(labels, embeddings, method=method)
        return loss, tape.gradient(loss, embeddings)

    return step


def _batch_maker(dim: int, classes: int, seed: int):
    """``batch(b)``: random labels over ``classes`` and standard-normal ``dim``-d float32 embeddings."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(seed)

    def batch(b):
        return (tf.constant(rng.integers(0, classes, b), tf.int64),
                tf.constant(rng.normal(size=(b, dim)), tf.float32))

    return batch


def measure_here(method: str, batch_size: int, *, dim: int = 64, classes: int = 10, seed: int = 0,
                 repeats: int = 0) -> dict:
    """Measure one configuration in *this* process (steps 1–5 of the module docstring).

    Only meaningful in a process that has run nothing else of size: call it through
    :func:`measure_fresh` (or ``python -m helpers.measure``). Returns a dict with ``method``,
    ``batch_size``, ``peak_growth`` (bytes, or ``None``), ``rss_before`` (bytes, or ``None``) and
    ``seconds`` (median of ``repeats`` further passes, or ``None`` when ``repeats`` is 0).
    """
    step, batch = _step(method, dim), _batch_maker(dim, classes, seed)
    [t.numpy() for t in step(*batch(TINY_BATCH))]  # trace, load kernels, start thread pools
    inputs = batch(batch_size)
    growth = before = None
    if peak_supported() and _reset_peak():
        before = _status_bytes("VmRSS")
        [t.numpy() for t in step(*inputs)]
        growth = _status_bytes("VmHWM") - before
    else:
        [t.numpy() for t in step(*inputs)]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        [t.numpy() for t in step(*inputs)]
        times.append(time.perf_counter() - start)
    return {"method": method, "batch_size": batch_size, "peak_growth": growth, "rss_before": before,
            "seconds": statistics.median(times) if times else None}


def measure_fresh(method: str, batch_size: int, *, dim: int = 64, classes: int = 10, seed: int = 0,
                  repeats: int = 0, timeout: float = 600) -> dict:
    """:func:`measure_here` in a new Python process (``python -m helpers.measure``); its dict.

    Raises ``RuntimeError`` with the end of the process's stderr if it fails.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    root = str(Path(__file__).resolve().parent.parent)  # so the process finds helpers from anywhere
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    command = [sys.executable, "-m", "helpers.measure", method, str(batch_size), "--dim", str(dim),
               "--classes", str(classes), "--seed", str(seed), "--repeats", str(repeats)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"{' '.join(command[1:])} failed (exit {done.returncode}): {tail}")
    return json.loads(lines[-1])


def measure_fresh_many(configs, *, workers: int = 2, **options) -> list[dict]:
    """:func:`measure_fresh` for each ``(method, batch_size)`` of ``configs``, ``workers`` processes
    at a time (each process's peak is its own, so running them side by side changes no memory
    figure — but it does change timings: use ``workers=1`` with ``repeats``). Results in order."""
    configs = list(configs)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(lambda c: measure_fresh(c[0], c[1], **options), configs))


def peak_growth(method: str, batch_size: int, **options) -> int | None:
    """Peak resident-memory growth (bytes) of one forward + backward pass at ``batch_size``,
    measured in a fresh process; ``None`` where the system cannot measure it (not Linux)."""
    if not peak_supported():
        return None
    return measure_fresh(method, batch_size, **options)["peak_growth"]


def time_here(sizes: dict, *, repeats: int = 3, dim: int = 64, classes: int = 10,
              seed: int = 1) -> dict:
    """Median seconds of one forward + backward pass, measured in *this* process.

    ``sizes`` maps a method to its batch sizes (``{"tile": [32, 64], "sort": [32, 64, 128]}``).
    For each size: one warm-up pass (the first one also traces), then ``repeats`` timed passes.
    Returns ``{(method, B): seconds}``. Unlike memory, time can be measured after other work.
    """
    seconds = {}
    batch = _batch_maker(dim, classes, seed)
    for method, batch_sizes in sizes.items():
        step = _step(method, dim)
        for b in batch_sizes:
            inputs = batch(b)
            [t.numpy() for t in step(*inputs)]  # warm-up
            times = []
            for _ in range(max(1, repeats)):
                start = time.perf_counter()
                [t.numpy() for t in step(*inputs)]
                times.append(time.perf_counter() - start)
            seconds[method, b] = statistics.median(times)
    return seconds


def peak_growths(sizes: dict, *, workers: int = 2, **options) -> dict:
    """Peak memory growth (bytes) of one pass for each method and batch size of ``sizes`` (as in
    :func:`time_here`), each in a fresh process, ``workers`` at a time: ``{(method, B): bytes}``,
    or ``{}`` where the system cannot measure it (not Linux), without starting a process."""
    if not peak_supported():
        return {}
    configs = [(method, b) for method, batch_sizes in sizes.items() for b in batch_sizes]
    rows = measure_fresh_many(configs, workers=workers, **options)
    return {(row["method"], row["batch_size"]): row["peak_growth"] for row in rows}


def scaling_table(seconds: dict, growth: dict) -> str:
    """A text table of :func:`time_here` and :func:`peak_growths` results, one row per (method, B)
    timed: milliseconds, and where measured, the growth in MiB and as a multiple of one float32
    B×B×B tensor (tile) or B×B matrix (sort)."""
    unit = {"tile": ("B×B×B tensor", 3), "sort": ("B×B matrix", 2)}
    lines = [f"{'method':6s} {'B':>5s} {'time (ms)':>10s} {'peak growth':>12s}  "
             "(as a multiple of one float32 tensor)"]
    for method, b in sorted(seconds):
        memory = growth.get((method, b))
        shown = ("" if memory is None else f"{memory / 2**20:8.1f} MiB  = "
                 f"{memory / (4 * b ** unit[method][1]):4.1f} × one {unit[method][0]}")
        lines.append(f"{method:6s} {b:5d} {seconds[method, b] * 1000:10.1f} {shown}".rstrip())
    if not growth:
        lines.append("memory: not measured (this needs Linux's /proc/self/clear_refs)")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.measure",
        description="Peak memory growth (and optionally time) of one forward + backward pass of "
                    "helpers.losses.semi_hard_triplet_loss, measured in this fresh process; "
                    "prints one JSON line.")
    parser.add_argument("method", choices=METHODS)
    parser.add_argument("batch_size", type=int)
    parser.add_argument("--dim", type=int, default=64, help="embedding size (default 64)")
    parser.add_argument("--classes", type=int, default=10, help="number of classes (default 10)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=0, help="further timed passes (default 0)")
    args = parser.parse_args(argv)
    if args.batch_size < 1 or args.dim < 1 or args.classes < 1 or args.repeats < 0:
        parser.error("batch_size, --dim and --classes must be positive, --repeats not negative")
    result = measure_here(args.method, args.batch_size, dim=args.dim, classes=args.classes,
                          seed=args.seed, repeats=args.repeats)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
