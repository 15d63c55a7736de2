"""Command line: ``python -m helpers train|evaluate`` (chapter 4 "Training on MNIST").

``train`` fits the 2018 MLP or the small CNN with the semi-hard triplet loss and writes, in the
output folder: ``embedding.keras`` (images ``(N, 28, 28, 1)`` in [0, 1] → embeddings; load it with
``helpers.models.load_embedding(path)``), ``history.csv``,
``checkpoints/`` and ``metrics.json`` (throughput, held-out retrieval metrics, recipe, data).
Running the same command again after an interruption resumes from the last checkpoint, if it asks
for the same run (recipe, model and data; ``--restart`` starts over and removes the old results). Every
option defaults to the best measured recipe for the chosen model (``helpers.training.RECIPES``).

``evaluate MODEL`` prints precision@1, R-precision, MAP@R and k-NN accuracy on the data's test
split (leave-one-out within it), beside the same metrics on raw pixels.

Every failure — bad arguments, missing or damaged files, a run folder that holds another run, a
diverged training, a bad environment variable — ends with one ``error: ...`` line on stderr and
exit status 2; Ctrl-C ends with one ``interrupted: ...`` line and status 130.
A command imports TensorFlow through ``helpers._quiet`` first, after checking what it can without
it, so TensorFlow's C++ start-up banner stays off stderr (``--help`` imports no TensorFlow at all).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

MODELS = ("mlp", "cnn")
DATA_NAMES = ("auto", "offline", "keras")


class UsageError(Exception):
    """A mistake in the command line, reported as one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + message
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text):
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m helpers",
                     description="Train and evaluate MNIST embeddings with the semi-hard triplet loss.")
    sub = parser.add_subparsers(dest="command", metavar="{train,evaluate}", parser_class=_Parser)
    train = sub.add_parser("train", help="train an embedding network",
                           description="Train an embedding network; defaults are the best measured "
                                       "recipe of the chosen model (see helpers.training.RECIPES).")
    train.add_argument("--model", choices=MODELS, default="cnn", help="network (default: cnn)")
    train.add_argument("--data", default="auto",
                       help="auto, offline, keras, an mnist.npz or a folder of IDX files (default: auto)")
    train.add_argument("--output", required=True, type=Path, help="folder for the model and logs")
    train.add_argument("--epochs", type=_positive_int)
    train.add_argument("--batch-size", type=_positive_int,
                       help="shuffled batches of this size (instead of the recipe's PK batches)")
    train.add_argument("--margin", type=_positive_float)
    train.add_argument("--distance", choices=("squared_l2", "l2", "angular"))
    train.add_argument("--wiring", choices=("labels", "concat"))
    train.add_argument("--learning-rate", type=_positive_float)
    train.add_argument("--lr-schedule", choices=("constant", "cosine"))
    train.add_argument("--pk", type=_positive_int, nargs=2, metavar=("P", "K"),
                       help="class-balanced batches of P classes x K images")
    train.add_argument("--no-pk", action="store_true", help="plain shuffled batches")
    train.add_argument("--shift", type=int, metavar="PIXELS", help="augmentation: random shifts")
    train.add_argument("--rotate", type=float, metavar="DEGREES", help="augmentation: random rotations")
    train.add_argument("--zoom", type=float, metavar="FRACTION", help="augmentation: random zoom")
    train.add_argument("--elastic", type=float, metavar="PIXELS", help="augmentation: random bending")
    train.add_argument("--no-augment", action="store_true", help="train on the images as they are")
    train.add_argument("--l2-normalize", choices=("yes", "no"), help="unit-length embeddings")
    train.add_argument("--seed", type=int)
    train.add_argument("--devices", type=_positive_int, default=1, metavar="N",
                       help="train on N devices with tf.distribute.MirroredStrategy: N GPUs if there "
                            "are, else N logical CPU devices; the batch stays the global batch "
                            "(default: 1)")
    train.add_argument("--mining", choices=("global", "local"), default="global",
                       help="with --devices > 1: mine semi-hard negatives over the whole global "
                            "batch (default; the same loss and gradients as one device) or within "
                            "each device's shard")
    train.add_argument("--validation", action="store_true",
                       help="choose recipes fairly: train on 80%% of the training split and report the "
                            "other 20%% (MnistData.validation_split); the test split is not used")
    train.add_argument("--restart", action="store_true", help="ignore existing checkpoints")
    train.add_argument("--quiet", action="store_true", help="no progress output")
    evaluate = sub.add_parser("evaluate", help="retrieval metrics of a saved model",
                              description="Held-out retrieval metrics of a saved embedding model.")
    evaluate.add_argument("model", type=Path, help="an embedding .keras file (e.g. DIR/embedding.keras)")
    evaluate.add_argument("--data", default="auto", help="auto, offline, keras or a path (default: auto)")
    evaluate.add_argument("--k", type=_positive_int, default=5, help="neighbours voting for kNN accuracy")
    evaluate.add_argument("--json", type=Path, help="also write the metrics to this file")
    return parser


def _check_data(name):
    if name not in DATA_NAMES and not Path(name).exists():
        raise UsageError(f"--data {name}: no such file or folder (use auto, offline, keras, "
                         "an mnist.npz or a folder of IDX files)")


def recipe_from_args(args) -> dict:
    """The model's best recipe, overridden by the options given on the command line."""
    from helpers.training import RECIPES

    recipe = dict(RECIPES[args.model])
    for key in ("epochs", "batch_size", "margin", "distance", "wiring", "learning_rate",
                "lr_schedule", "seed"):
        if getattr(args, key) is not None:
            recipe[key] = getattr(args, key)
    if args.pk is not None and args.no_pk:
        raise UsageError("--pk and --no-pk contradict each other")
    if args.pk is not None:
        recipe["pk"] = list(args.pk)
    if args.no_pk or (args.batch_size is not None and args.pk is None):
        recipe["pk"] = None
    if args.l2_normalize is not None:
        recipe["l2_normalize"] = args.l2_normalize == "yes"
    augment = dict(recipe.get("augment") or {})
    for key in ("shift", "rotate", "zoom", "elastic"):
        value = getattr(args, key)
        if value is not None:
            if value < 0:
                raise UsageError(f"--{key} must be 0 or more, got {value}")
            augment[key] = value
    recipe["augment"] = None if args.no_augment or not any(augment.values()) else augment
    return recipe


def _import_tensorflow():
    """TensorFlow without its start-up banner, before any module here imports it."""
    from helpers._quiet import import_tensorflow_quietly

    import_tensorflow_quietly()


def command_train(args) -> int:
    _check_data(args.data)
    _import_tensorflow()
    recipe = recipe_from_args(args)
    from helpers.distributed import device_names

    device_names(args.devices)  # logical CPU devices must exist before TensorFlow runs an op
    import numpy as np

    from helpers import runs
    from helpers.data import load_mnist
    from helpers.evaluation import metrics_table, retrieval_metrics
    from helpers.models import embed, load_embedding
    from helpers.training import TrainingDiverged, train_embedding

    data = load_mnist(args.data, verbose=not args.quiet)
    if args.validation:
        data = data.validation_split()
    out = args.output
    out.mkdir(parents=True, exist_ok=True)
    result = train_embedding(args.model, data, output_dir=out, resume=not args.restart,
                             verbose=0 if args.quiet else 2, devices=args.devices,
                             mining=args.mining, **recipe)
    embeddings = embed(result.model, data.x_test)
    if not np.isfinite(embeddings).all():
        raise TrainingDiverged(f"the trained model maps some {data.held_out} images to NaN or infinity; "
                               f"nothing was published in {out}")
    held_out = retrieval_metrics(embeddings, data.y_test)
    metrics = {
        "train_seconds": round(result.train_seconds, 3),
        "samples_seen": result.samples_seen,
        "samples_per_second": round(result.samples_per_second, 1),
        **{key: held_out[key] for key in ("precision_at_1", "r_precision", "map_at_r", "knn_accuracy")},
        "evaluation": f"leave-one-out within the {data.held_out} split ({held_out['num_queries']} images)",
        "epochs_trained": len(result.history.get("loss", [])),
        "replicas": result.recipe["replicas"],
        "mining": result.recipe["mining"],
        "global_batch": result.recipe["global_batch"],
        "recipe": {**result.recipe, "model": args.model},
        "data_source": data.source,
        "data_description": data.description,
    }
    # Published in an order that never pairs a model with another model's metrics: the old
    # metrics go first, then the model and the metrics each replace their file in one step.
    model_path, metrics_path = out / runs.MODEL_FILE, out / runs.METRICS_FILE
    metrics_path.unlink(missing_ok=True)
    runs.save_model_atomically(result.model, model_path)
    load_embedding(model_path)  # fail now, not later, if it cannot load
    runs.write_json_atomically(metrics_path, metrics)
    print(metrics_table({f"{args.model} ({data.held_out} split)": held_out}))
    devices = f" on {args.devices} devices ({args.mining} mining)" if args.devices > 1 else ""
    print(f"trained {metrics['epochs_trained']} epochs{devices} in {result.train_seconds:.1f} s "
          f"({result.samples_per_second:,.0f} images/s); wrote {model_path} and {metrics_path}")
    return 0


def command_evaluate(args) -> int:
    if not args.model.is_file():
        raise UsageError(f"no such model file: {args.model}")
    _check_data(args.data)
    _import_tensorflow()
    import numpy as np

    from helpers.data import load_mnist
    from helpers.evaluation import metrics_table, retrieval_metrics
    from helpers.models import embed, embedding_model, load_embedding

    try:
        model = load_embedding(args.model)
    except ValueError as err:  # a zip that is no model, an unknown layer, ...
        raise UsageError(str(err)) from None
    model = embedding_model(model)  # a 2018 concat model: its base network
    if not isinstance(model.input_shape, tuple) or tuple(model.input_shape[1:]) != (28, 28, 1):
        raise UsageError(f"{args.model} expects inputs {model.input_shape}, not MNIST images "
                         "(N, 28, 28, 1)")
    data = load_mnist(args.data, verbose=False)
    rows = {
        "raw pixels": retrieval_metrics(data.x_test.reshape(len(data.x_test), -1), data.y_test, k=args.k),
        args.model.name: retrieval_metrics(embed(model, data.x_test), data.y_test, k=args.k),
    }
    print(f"{data.description}; leave-one-out within the {len(data.y_test):,} test images")
    print(metrics_table(rows))
    if args.json:
        args.json.write_text(json.dumps({name: {k: (float(v) if isinstance(v, np.floating) else v)
                                                for k, v in m.items()} for name, m in rows.items()},
                                        indent=2))
    return 0


def _one_line(err: BaseException) -> str:
    """The error's first line; the course's own errors speak for themselves, others get their type."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    ours = type(err).__module__.startswith("helpers")
    return text if ours and text else f"{type(err).__name__}: {text}".rstrip(": ")


def main(argv=None) -> int:
    """Run the command line; every failure is one line on stderr and exit status 2 (an
    interruption: one line and 130). ``TRIPLET_COURSE_DEBUG=1`` shows unexpected tracebacks."""
    command = None
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        command = args.command
        if command is None:
            parser.print_help(sys.stderr)
            return 2
        from helpers.config import get_profile

        get_profile()  # a mistyped TRIPLET_COURSE_PROFILE is reported before anything runs
        return (command_train if command == "train" else command_evaluate)(args)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        then = ("run the same command again to resume from the last checkpoint" if command == "train"
                else "nothing was written")
        print(f"interrupted: {then}", file=sys.stderr)
        return 130
    except Exception as err:  # a data, run-folder, divergence or any other error: one line
        if os.environ.get("TRIPLET_COURSE_DEBUG"):
            raise
        hint = "" if type(err).__module__.startswith("helpers") or isinstance(err, (ValueError, OSError)) \
            else " (TRIPLET_COURSE_DEBUG=1 shows the traceback)"
        print(f"error: {_one_line(err)}{hint}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    from helpers._quiet import exit_with

    exit_with(main())
