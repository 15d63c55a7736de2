"""helpers — the library behind the course *Metric learning with the semi-hard triplet loss*.

Chapters import it; students reuse it in their own work. Importing the package registers the
course's Keras objects (losses, layers), so ``keras.saving.load_model`` can read models that the
course saved. Modules (and the chapter that introduces each):

- ``config``     run profiles (chapter 0)
- ``data``       MNIST sources, splits, PK batches (chapter 0)
- ``distances``, ``losses``, ``reference``  the triplet losses (chapter 2)
- ``models``     the 2018 MLP, a small CNN, both wirings (chapters 3–4)
- ``pipeline``   tf.data batches and augmentation (chapter 4)
- ``training``   fitting with checkpoints and resume (chapter 4)
- ``evaluation`` retrieval metrics and PCA (chapter 5)
- ``plotting``   the figures; ``theory_plots`` chapters 1–3's drawings
- ``exercises``  self-checks; ``book`` and ``render`` the course runner and the HTML book
"""

import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from helpers.config import PROFILE  # noqa: E402

__version__ = "0.1.0"


def _register_keras_objects():
    """Import the modules that register serializable Keras objects, when they are present."""
    import importlib

    for name in ("helpers.losses", "helpers.models"):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise


_register_keras_objects()

__all__ = ["PROFILE", "__version__"]
