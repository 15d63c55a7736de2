"""How the two semi-hard implementations scale with the batch size (chapter 2 benchmark).

For every batch size ``B`` this measures one forward + backward pass of
``helpers.losses.semi_hard_triplet_loss`` (inside a ``tf.function``; median of a few repeats after a
warm-up) and the peak extra memory, for ``method="tile"`` (``O(B^3)``) and ``method="sort"``
(``O(B^2)``), on random 64-d float32 embeddings with 10 classes.

Memory: ``tf.config.experimental.get_memory_info`` is not available for the CPU device (it raises
``ValueError``), so each configuration runs in a fresh subprocess of this script, which reports the
growth of its peak resident set size (``getrusage(RUSAGE_SELF).ru_maxrss``) from just before the
first call at size ``B`` (graph already traced on a tiny batch) to the end.

    python benchmarks/loss_scaling.py                 # B = 128 ... 8192
    python benchmarks/loss_scaling.py --quick         # B = 128, 256 only
    python benchmarks/loss_scaling.py --sizes 512,1024 --max-tile-batch 1024

Timings are wall-clock on a shared machine: other processes on the same cores add noise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

DEFAULT_SIZES = (128, 256, 512, 1024, 2048, 4096, 8192)
QUICK_SIZES = (128, 256)


def _worker(batch: int, method: str, dim: int, classes: int, repeats: int) -> dict:
    """Measure one configuration in this (fresh) process; return the numbers as a dict."""
    import resource
    import statistics

    import numpy as np
    import tensorflow as tf

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from helpers.losses import semi_hard_triplet_loss

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32),
                                  tf.TensorSpec([None, dim], tf.float32)])
    def step(labels, embeddings):
        with tf.GradientTape() as tape:
            tape.watch(embeddings)
            loss = semi_hard_triplet_loss(labels, embeddings, method=method)
        return loss, tape.gradient(loss, embeddings)

    rng = np.random.default_rng(0)
    tiny = rng.normal(size=(8, dim)).astype("float32")
    step(tf.constant(rng.integers(0, classes, 8), tf.int32), tf.constant(tiny))  # trace
    labels = tf.constant(rng.integers(0, classes, batch), tf.int32)
    embeddings = tf.constant(rng.normal(size=(batch, dim)).astype("float32"))

    before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    loss, grad = step(labels, embeddings)  # warm-up
    _ = loss.numpy(), grad.numpy()
    warmup = time.perf_counter() - start
    times = []
    for _ in range(repeats if warmup < 5.0 else min(repeats, 3)):
        start = time.perf_counter()
        loss, grad = step(labels, embeddings)
        _ = loss.numpy(), grad.numpy()
        times.append(time.perf_counter() - start)
    after_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "batch": batch, "method": method, "time_ms": 1000 * statistics.median(times),
        "peak_mb": (after_kb - before_kb) / 1024, "loss": float(loss), "repeats": len(times),
    }


def _run_in_subprocess(batch: int, method: str, args) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    cmd = [sys.executable, os.path.abspath(__file__), "--_worker", str(batch), method,
           "--dim", str(args.dim), "--classes", str(args.classes), "--repeats", str(args.repeats)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-3:]
        return {"batch": batch, "method": method, "error": " | ".join(tail) or "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only B = 128 and 256")
    parser.add_argument("--sizes", help="comma-separated batch sizes (default: 128,...,8192)")
    parser.add_argument("--max-tile-batch", type=int, default=512,
                        help="largest B for method='tile' (it needs ~4*B^3 bytes per tensor)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--_worker", nargs=2, metavar=("B", "METHOD"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args._worker:
        result = _worker(int(args._worker[0]), args._worker[1], args.dim, args.classes,
                         args.repeats)
        print(json.dumps(result))
        return 0

    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    else:
        sizes = list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    limit = args.max_tile_batch
    skipped = [b for b in sizes if b > limit]
    print(f"semi-hard loss, forward+backward, {args.dim}-d float32, {args.classes} classes, "
          f"median of up to {args.repeats} runs after a warm-up; {os.cpu_count()} CPU cores")
    if skipped:
        first = min(skipped)
        print(f"tile skipped for B > {limit} (--max-tile-batch): it holds several (B, B, B) "
              f"tensors, 4*B^3 bytes each = {4 * first**3 / 2**30:.1f} GiB at B = {first}")
    print(f"{'B':>6} {'method':>6} {'time ms':>10} {'peak MB':>9} {'tile/sort time':>15} "
          f"{'tile/sort mem':>14}")
    for batch in sizes:
        rows = {}
        for method in ("tile", "sort"):
            if method == "tile" and batch > limit:
                continue
            rows[method] = row = _run_in_subprocess(batch, method, args)
            if "error" in row:
                print(f"{batch:>6} {method:>6}  failed: {row['error']}", flush=True)
                continue
            ratio_t = ratio_m = ""
            tile = rows.get("tile", {})
            if method == "sort" and "time_ms" in tile:
                ratio_t = f"{tile['time_ms'] / row['time_ms']:.1f}x"
                ratio_m = f"{tile['peak_mb'] / max(row['peak_mb'], 1e-3):.1f}x"
            print(f"{batch:>6} {method:>6} {row['time_ms']:>10.1f} {row['peak_mb']:>9.1f} "
                  f"{ratio_t:>15} {ratio_m:>14}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
