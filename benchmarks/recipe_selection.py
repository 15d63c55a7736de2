"""Choose the CLI's default recipes on a validation split, never on the test split.

The offline subset's 4,000 training images are split stratified into 3,200 for training and 800
for validation (``MnistData.validation_split``, seed 11); the 1,000 test images are not loaded
into any decision. Each candidate recipe trains once per seed, is scored by leave-one-out
retrieval on the validation images, and the candidate with the highest mean validation
precision@1 wins. The script then says whether the winner is ``helpers.training.RECIPES[model]``.
The test numbers of the chosen recipes come from ``benchmarks/embedding_quality.py``, run once
after this choice.

    python benchmarks/recipe_selection.py [--models mlp cnn] [--seeds 0 1 2] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers._quiet import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()  # without the start-up banner of a CPU-only machine

from helpers.data import load_mnist  # noqa: E402
from helpers.evaluation import metrics_table, retrieval_metrics  # noqa: E402
from helpers.models import embed  # noqa: E402
from helpers.training import RECIPES, train_embedding  # noqa: E402
from helpers.uncertainty import compare_seeds, seed_summary, spread_table  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import environment, write  # noqa: E402

#: What every candidate of a model shares: the settings explored before (learning rate, margin,
#: schedule, epochs, normalisation), which the validation split confirmed as a group.
BASE = {
    "mlp": dict(epochs=100, pk=(10, 25), batch_size=250, learning_rate=1e-3, lr_schedule="cosine",
                margin=0.5, distance="squared_l2", wiring="labels", l2_normalize=True, seed=0),
    "cnn": dict(epochs=30, pk=(10, 25), batch_size=250, learning_rate=1e-3, lr_schedule="cosine",
                margin=0.5, distance="squared_l2", wiring="labels", l2_normalize=True, seed=0),
}
CNN_MOVES = {"shift": 2, "rotate": 10.0, "zoom": 0.1}
#: The candidates each model's recipe is chosen from, as changes to ``BASE[model]``: the kind of
#: augmentation, class-balanced (P×K) against shuffled batches, and for the MLP the margin and the
#: learning rate (the CNN, whose runs cost about three times as much, shares the MLP's).
CANDIDATES = {
    "mlp": {
        "shift 2 + elastic 1.5": {"augment": {"shift": 2, "elastic": 1.5}},
        "shift 2": {"augment": {"shift": 2}},
        "shift 2 + rotate 8 + zoom 0.08": {"augment": {"shift": 2, "rotate": 8.0, "zoom": 0.08}},
        "no augmentation": {"augment": None},
        "shift 2, margin 0.2": {"augment": {"shift": 2}, "margin": 0.2},
        "shift 2, margin 1.0": {"augment": {"shift": 2}, "margin": 1.0},
        "shift 2, lr 5e-4": {"augment": {"shift": 2}, "learning_rate": 5e-4},
        "shift 2, lr 2e-3": {"augment": {"shift": 2}, "learning_rate": 2e-3},
        "shift 2, shuffled batches of 256": {"augment": {"shift": 2}, "pk": None, "batch_size": 256},
    },
    "cnn": {
        "P×K 10×25, shift/rotate/zoom/elastic": {"augment": {**CNN_MOVES, "elastic": 2.0}},
        "shuffled batches of 256": {"augment": {**CNN_MOVES, "elastic": 2.0}, "pk": None, "batch_size": 256},
        "P×K 10×25, no elastic": {"augment": dict(CNN_MOVES)},
    },
}


def candidate_recipe(model: str, change: dict) -> dict:
    return {**BASE[model], **change}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=sorted(CANDIDATES), default=["mlp", "cnn"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--json", type=Path, help="also write every run's numbers to this file")
    parser.add_argument("--reuse", action="store_true",
                        help="take the runs of candidates already in --json (same data, seeds and recipe) "
                             "instead of training them again")
    args = parser.parse_args()
    earlier = json.loads(args.json.read_text()) if args.json and args.json.is_file() else {}

    data = load_mnist("offline", verbose=False).validation_split()
    print(f"data: {data.description}")
    print(f"{os.cpu_count()} CPUs; seeds {args.seeds}; metrics: leave-one-out within the "
          f"{len(data.y_test)} validation images\n", flush=True)
    record = {**environment("benchmarks/recipe_selection.py"), "data": data.description,
              "seeds": args.seeds, "models": {}}
    for model in args.models:
        runs, seconds, recipes = {}, {}, {}
        before = earlier.get("models", {}).get(model, {}) \
            if args.reuse and earlier.get("data") == data.description and earlier.get("seeds") == args.seeds else {}
        for name, change in CANDIDATES[model].items():
            recipe = candidate_recipe(model, change)
            recipes[name] = json.loads(json.dumps(recipe))  # as JSON stores it (tuples as lists)
            if name in before.get("runs", {}) and before.get("recipes", {}).get(name, recipes[name]) == recipes[name]:
                runs[name], seconds[name] = before["runs"][name], before["seconds"][name]
                print(f"  {model} | {name}: {len(runs[name])} runs taken from {args.json}", flush=True)
                continue
            runs[name], seconds[name] = [], []
            for seed in args.seeds:
                start = time.perf_counter()
                result = train_embedding(model, data, verbose=0, **{**recipe, "seed": seed})
                metrics = retrieval_metrics(embed(result.model, data.x_test), data.y_test)
                runs[name].append({k: metrics[k] for k in ("precision_at_1", "r_precision", "map_at_r")})
                seconds[name].append(time.perf_counter() - start)
                print(f"  {model} | {name} | seed {seed}: validation P@1 "
                      f"{metrics['precision_at_1']:.4f}, MAP@R {metrics['map_at_r']:.4f} "
                      f"({seconds[name][-1]:.0f} s)", flush=True)
        best = max(runs, key=lambda n: seed_summary(runs[n])["precision_at_1"][0])
        print(f"\n{model}: validation split, mean ± sd over seeds {args.seeds}")
        print(metrics_table(spread_table(runs), ("precision_at_1", "r_precision", "map_at_r", "seeds")))
        for name in runs:
            if name != best:
                print("  " + compare_seeds(runs[best], runs[name], "precision_at_1").describe(best, name))
        chosen = candidate_recipe(model, CANDIDATES[model][best]) == RECIPES[model]
        print(f"{model}: chosen on validation: {best!r} -> "
              f"{'this is' if chosen else 'this is NOT'} RECIPES[{model!r}]\n", flush=True)
        record["models"][model] = {"runs": runs, "seconds": seconds, "recipes": recipes, "chosen": best,
                                   "is_recipe": chosen}
    if args.json:  # models measured in an earlier run of the script stay in the file
        if args.json.is_file():
            earlier = json.loads(args.json.read_text())
            if earlier.get("data") == record["data"] and earlier.get("seeds") == record["seeds"]:
                record["models"] = {**earlier.get("models", {}), **record["models"]}
        write(record, args.json)


if __name__ == "__main__":
    main()
