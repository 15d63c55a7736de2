"""Embedding quality of the CLI's default recipes on the offline MNIST subset.

Trains the small CNN and the 2018 MLP exactly as ``python -m helpers train --model M`` does
(``helpers.training.RECIPES``) on the offline subset's 4,000 training images, then scores
retrieval on the 1,000 held-out test images, leave-one-out within the test split:
precision@1 (1-NN accuracy), R-precision and MAP@R (Musgrave et al. 2020). A second table
searches the 4,000 training images instead (test queries, training gallery), the protocol under
which raw pixels reach ~0.94. Baselines measured in the same run: raw pixels, and the 2018 notebook's recipe as it was (linear 64-d output,
margin 1, Adam 1e-4, 25 epochs, batch 256, no augmentation).

Targets: CNN precision@1 ≥ 0.985, MLP ≥ 0.955, each trained in under 5 minutes on 2 cores.

``--seeds 0 1 2`` trains each recipe once per seed (the recipe's own seed is 0) and reports every
run, so the margin above a target can be read against the spread between seeds.

    python benchmarks/embedding_quality.py [--models cnn mlp] [--skip-2018] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from helpers.data import load_mnist  # noqa: E402
from helpers.evaluation import metrics_table, retrieval_metrics  # noqa: E402
from helpers.models import embed  # noqa: E402
from helpers.training import RECIPES, train_embedding  # noqa: E402

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
    parser.add_argument("--seeds", nargs="+", type=int, default=[0],
                        help="train each recipe once per seed (default: 0, the recipes' seed)")
    args = parser.parse_args()

    data = load_mnist("offline", verbose=False)
    print(f"data: {data.description}")
    print(f"{os.cpu_count()} CPUs, TensorFlow {tf.__version__}, Keras {keras.__version__}; "
          "metrics: leave-one-out within the test split\n")
    flat = lambda x: x.reshape(len(x), -1)  # noqa: E731
    rows = {"raw pixels (784-d)": retrieval_metrics(flat(data.x_test), data.y_test)}
    gallery_rows = {"raw pixels (784-d)": retrieval_metrics(flat(data.x_test), data.y_test,
                                                            flat(data.x_train), data.y_train)}
    seconds, verdicts = {}, []
    runs = [(m, m, RECIPES[m], m) for m in args.models]
    if not args.skip_2018:
        runs.append(("2018 recipe as-is (MLP)", "mlp", SEED_RECIPE, None))
    if args.seeds != [0]:
        runs = [(f"{name}, seed {seed}", model, {**recipe, "seed": seed}, target)
                for name, model, recipe, target in runs for seed in args.seeds]
    for name, model, recipe, target_key in runs:
        print(f"training {name}: {describe(recipe)}", flush=True)
        with tempfile.TemporaryDirectory() as out:  # with checkpoints, as the CLI trains
            result = train_embedding(model, data, output_dir=out, verbose=0, **recipe)
        label = f"{name} ({result.model.count_params():,} weights)" if target_key else name
        test_emb = embed(result.model, data.x_test)
        rows[label] = retrieval_metrics(test_emb, data.y_test)
        gallery_rows[label] = retrieval_metrics(test_emb, data.y_test,
                                                embed(result.model, data.x_train), data.y_train)
        seconds[label] = result.train_seconds
        print(f"  {result.train_seconds:.0f} s, {result.samples_per_second:,.0f} images/s, "
              f"precision@1 {rows[label]['precision_at_1']:.4f}", flush=True)
        if target_key:
            p1, target = rows[label]["precision_at_1"], TARGETS[target_key]
            ok = p1 >= target and result.train_seconds < TIME_LIMIT
            verdicts.append(f"{name}: precision@1 {p1:.4f} (target ≥ {target}), trained in "
                            f"{result.train_seconds:.0f} s (limit {TIME_LIMIT:.0f} s) -> "
                            f"{'MET' if ok else 'NOT MET'}")

    print("\nheld-out test split, leave-one-out (the targets' protocol):")
    print(metrics_table(rows))
    print("\ntest images as queries, the 4,000 training images as gallery:")
    print(metrics_table(gallery_rows))
    print("\ntraining time: " + ", ".join(f"{k.split(' (')[0]} {v:.0f} s" for k, v in seconds.items()))
    print("\n".join(verdicts))


if __name__ == "__main__":
    main()
