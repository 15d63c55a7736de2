"""How the two semi-hard implementations scale with the batch size (chapter 2 benchmark).

For every batch size ``B`` this measures one forward + backward pass of
``helpers.losses.semi_hard_triplet_loss`` (inside a ``tf.function``) for ``method="tile"``
(``O(B^3)``) and ``method="sort"`` (``O(B^2)``), on random 64-d float32 embeddings with 10 classes:
the peak memory growth during the first pass at ``B``, then the median time of a few more passes.

Each configuration runs in a fresh process through ``helpers.measure`` (which chapter 2 introduces):
the step is traced and run on a tiny batch, the process's peak resident size is reset
(``/proc/self/clear_refs``), and the growth is ``VmHWM`` after the pass minus ``VmRSS`` before it
(Linux; elsewhere the memory column is empty). ``tf.config.experimental.get_memory_info`` cannot be
used instead: it is not available for the CPU device.

    python benchmarks/loss_scaling.py                 # B = 128 ... 8192
    python benchmarks/loss_scaling.py --quick         # B = 128, 256 only
    python benchmarks/loss_scaling.py --sizes 512,1024 --max-tile-batch 1024
    python benchmarks/loss_scaling.py --json benchmarks/results/loss_scaling.json   # what README quotes

``--json FILE`` also writes every figure printed (and the inputs, CPU count, TensorFlow and Keras
versions) to ``FILE``; ``tests/test_readme.py`` checks the README's figures against it.

Timings are wall-clock on a shared machine: other processes on the same cores add noise. The
configurations run one at a time, so that they do not slow each other down.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from helpers.measure import measure_fresh  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import environment, write  # noqa: E402

DEFAULT_SIZES = (128, 256, 512, 1024, 2048, 4096, 8192)
QUICK_SIZES = (128, 256)


def _run(batch: int, method: str, args) -> dict:
    """One configuration in a fresh process: {'time_ms', 'peak_mib'} or {'error'}."""
    repeats = args.repeats if batch < 4096 else min(args.repeats, 3)  # passes of seconds each
    try:
        row = measure_fresh(method, batch, dim=args.dim, classes=args.classes, repeats=repeats)
    except RuntimeError as err:
        return {"error": str(err)}
    growth = row["peak_growth"]
    return {"time_ms": 1000 * row["seconds"], "peak_mib": None if growth is None else growth / 2**20}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only B = 128 and 256")
    parser.add_argument("--sizes", help="comma-separated batch sizes (default: 128,...,8192)")
    parser.add_argument("--max-tile-batch", type=int, default=512,
                        help="largest B for method='tile' (it needs ~4*B^3 bytes per tensor)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--json", type=Path, metavar="FILE",
                        help="also write the figures to FILE (benchmarks/results/loss_scaling.json)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

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
    started = time.perf_counter()
    record = {**environment("benchmarks/loss_scaling.py", argv),
              "data": f"random {args.dim}-d float32 embeddings (standard normal), labels uniform over "
                      f"{args.classes} classes, seed 0",
              "measure": "one forward + backward pass in a tf.function, each configuration in a fresh "
                         "process (helpers.measure): time_ms is the median of up to `repeats` passes "
                         "after a warm-up, peak_mib the growth of VmHWM over VmRSS during the first pass",
              "repeats": args.repeats, "max_tile_batch": limit, "sizes": sizes, "rows": [], "ratios": []}
    print(f"{'B':>6} {'method':>6} {'time ms':>10} {'peak MiB':>9} {'tile/sort time':>15} "
          f"{'tile/sort mem':>14}")
    for batch in sizes:
        rows = {}
        for method in ("tile", "sort"):
            if method == "tile" and batch > limit:
                continue
            rows[method] = row = _run(batch, method, args)
            record["rows"].append({"batch": batch, "method": method, **row})
            if "error" in row:
                print(f"{batch:>6} {method:>6}  failed: {row['error']}", flush=True)
                continue
            ratio_t = ratio_m = ""
            tile = rows.get("tile", {})
            if method == "sort" and "time_ms" in tile:
                ratio_t = f"{tile['time_ms'] / row['time_ms']:.1f}x"
                ratio = {"batch": batch, "time": tile["time_ms"] / row["time_ms"], "memory": None}
                if tile["peak_mib"] is not None and row["peak_mib"] is not None:
                    ratio["memory"] = tile["peak_mib"] / max(row["peak_mib"], 1e-3)
                    ratio_m = f"{ratio['memory']:.1f}x"
                record["ratios"].append(ratio)
            memory = "n/a" if row["peak_mib"] is None else f"{row['peak_mib']:.1f}"
            print(f"{batch:>6} {method:>6} {row['time_ms']:>10.1f} {memory:>9} "
                  f"{ratio_t:>15} {ratio_m:>14}", flush=True)
    record["seconds"] = time.perf_counter() - started
    if args.json:
        write(record, args.json)
    failed = [f"B = {r['batch']} {r['method']}" for r in record["rows"] if "error" in r]
    if failed:
        print(f"error: {len(failed)} configuration(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
