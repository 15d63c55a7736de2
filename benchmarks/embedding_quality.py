"""Embedding quality of the CLI's default recipes on the offline MNIST subset — the test split, once.

The recipes (``helpers.training.RECIPES``) were chosen on a validation split carved from the
training images (``benchmarks/recipe_selection.py``); this script is the one place that scores
them on the test split. It trains the small CNN and the 2018 MLP exactly as
``python -m helpers train --model M`` does on the offline subset's 4,000 training images, then
scores retrieval on the 1,000 held-out test images, leave-one-out within the test split:
precision@1 (1-NN accuracy), R-precision and MAP@R (Musgrave et al. 2020). A second table
searches the 4,000 training images instead (test queries, training gallery), the protocol under
which raw pixels reach ~0.94. Baselines measured in the same run: raw pixels, and the 2018 notebook's recipe as it was (linear 64-d output,
margin 1, Adam 1e-4, 25 epochs, batch 256, no augmentation).

Targets: CNN precision@1 ≥ 0.985, MLP ≥ 0.955, each trained in under 5 minutes on 2 cores.

Each recipe trains once per seed (``--seeds``, default 0 1 2) and every run is reported with the
mean ± sd, so the margin above a target can be read against the spread between seeds; a target
counts as met when every seed meets it.

    python benchmarks/embedding_quality.py [--models cnn mlp] [--skip-2018] [--seeds 0 1 2] [--json FILE]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers._quiet import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()  # without the start-up banner of a CPU-only machine

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from helpers.data import load_mnist  # noqa: E402
from helpers.evaluation import metrics_table, retrieval_metrics  # noqa: E402
from helpers.models import embed  # noqa: E402
from helpers.training import RECIPES, train_embedding  # noqa: E402
from helpers.uncertainty import METRICS, spread_table  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import environment, write  # noqa: E402

TARGETS = {"cnn": 0.985, "mlp": 0.955}
TIME_LIMIT = 300.0
SEED_RECIPE = dict(epochs=25, batch_size=256, learning_rate=1e-4, margin=1.0, distance="squared_l2",
                   l2_normalize=False)


def describe(recipe: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in recipe.items() if k not in ("seed",))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=("cnn", "mlp"), default=["cnn", "mlp"])
    parser.add_argument("--skip-2018", action="store_true", help="do not train the 2018 recipe")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2],
                        help="train each recipe once per seed (default: 0 1 2)")
    parser.add_argument("--json", type=Path, help="also write every run's numbers to this file")
    args = parser.parse_args()

    run_environment = environment("benchmarks/embedding_quality.py")  # with the load at the start
    data = load_mnist("offline", verbose=False)
    print(f"data: {data.description}")
    print(f"{os.cpu_count()} CPUs, TensorFlow {tf.__version__}, Keras {keras.__version__}; "
          "metrics: leave-one-out within the test split\n")
    flat = lambda x: x.reshape(len(x), -1)  # noqa: E731
    rows = {"raw pixels (784-d)": retrieval_metrics(flat(data.x_test), data.y_test)}
    gallery_rows = {"raw pixels (784-d)": retrieval_metrics(flat(data.x_test), data.y_test,
                                                            flat(data.x_train), data.y_train)}
    runs = [(m, m, RECIPES[m], m) for m in args.models]
    if not args.skip_2018:
        runs.append(("2018 recipe", "mlp", SEED_RECIPE, None))
    per_seed = {name: [] for name, *_ in runs}
    gallery_seed = {name: [] for name, *_ in runs}
    for name, model, recipe, target_key in runs:
        for seed in args.seeds:
            run_recipe = {**recipe, "seed": seed}
            print(f"training {name}, seed {seed}: {describe(run_recipe)}", flush=True)
            with tempfile.TemporaryDirectory() as out:  # with checkpoints, as the CLI trains
                result = train_embedding(model, data, output_dir=out, verbose=0, **run_recipe)
            test_emb = embed(result.model, data.x_test)
            metrics = retrieval_metrics(test_emb, data.y_test)
            per_seed[name].append({"seed": seed, **{k: metrics[k] for k in METRICS},
                                   "train_seconds": round(result.train_seconds, 1),
                                   "weights": int(result.model.count_params())})
            gallery = retrieval_metrics(test_emb, data.y_test, embed(result.model, data.x_train), data.y_train)
            gallery_seed[name].append({k: gallery[k] for k in METRICS})
            print(f"  {result.train_seconds:.0f} s, {result.samples_per_second:,.0f} images/s, "
                  f"precision@1 {metrics['precision_at_1']:.4f}", flush=True)

    raw = {"raw pixels (784-d)": [rows["raw pixels (784-d)"]]}
    print(f"\nheld-out test split, leave-one-out (the targets' protocol), mean ± sd over seeds {args.seeds}:")
    print(metrics_table({**spread_table(raw, digits=4), **spread_table(per_seed, digits=4)}, METRICS + ("seeds",)))
    print("\ntest images as queries, the training images as gallery:")
    raw_gallery = {"raw pixels (784-d)": [gallery_rows["raw pixels (784-d)"]]}
    print(metrics_table({**spread_table(raw_gallery, digits=4), **spread_table(gallery_seed, digits=4)},
                        METRICS + ("seeds",)))
    print("\ntraining time: " + ", ".join(
        f"{name} " + "/".join(f"{r['train_seconds']:.0f}" for r in per_seed[name]) + " s" for name in per_seed))
    for name, model, recipe, target_key in runs:
        if not target_key:
            continue
        p1 = [r["precision_at_1"] for r in per_seed[name]]
        slowest = max(r["train_seconds"] for r in per_seed[name])
        ok = min(p1) >= TARGETS[target_key] and slowest < TIME_LIMIT
        print(f"{name}: precision@1 " + " / ".join(f"{v:.4f}" for v in p1) +
              f" (target ≥ {TARGETS[target_key]} for every seed), slowest run {slowest:.0f} s "
              f"(limit {TIME_LIMIT:.0f} s) -> {'MET' if ok else 'NOT MET'}")
    if args.json:
        record = {**run_environment, "data": data.description, "seeds": args.seeds,
                  "recipes": {m: RECIPES[m] for m in args.models},
                  "test": {"raw pixels": {k: rows["raw pixels (784-d)"][k] for k in METRICS}, **per_seed},
                  "train_gallery": {"raw pixels": {k: gallery_rows["raw pixels (784-d)"][k] for k in METRICS},
                                    **gallery_seed}}
        write(record, args.json)


if __name__ == "__main__":
    main()
