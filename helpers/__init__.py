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
import sys as _sys

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from helpers.config import PROFILE  # noqa: E402

#: The lines TensorFlow's C++ start-up writes to stderr even with TF_CPP_MIN_LOG_LEVEL=3 (the
#: absl logger is not initialised yet), and nothing else: other output is passed through.
_BANNER = ("All log messages before absl::InitializeLog() is called are written to STDERR",
           "Could not find cuda drivers on your machine, GPU will not be used.")


def _import_tensorflow_quietly():
    """Import TensorFlow with its C++ start-up banner filtered out of stderr (file descriptor 2).

    Only when TensorFlow is not imported yet and ``TF_CPP_MIN_LOG_LEVEL`` asks for quiet (2 or
    3); every other line written to stderr meanwhile is written back, and errors propagate.
    """
    if "tensorflow" in _sys.modules or _os.environ.get("TF_CPP_MIN_LOG_LEVEL") not in ("2", "3"):
        return
    import tempfile

    try:
        _sys.stderr.flush()
        saved = _os.dup(2)
    except (AttributeError, OSError, ValueError):  # no usable file descriptor 2
        return
    with tempfile.TemporaryFile() as captured:
        _os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            try:
                _sys.stderr.flush()
            finally:
                _os.dup2(saved, 2)
                _os.close(saved)
            captured.seek(0)
            _echo_without_banner(captured.read())


def _echo_without_banner(data: bytes, noise: tuple = ()) -> None:
    """Write ``data`` to file descriptor 2, where it was headed (in a Jupyter kernel that is the
    terminal, not the notebook), without the lines holding a ``_BANNER`` (or ``noise``) text."""
    lines = data.decode(errors="replace").splitlines(keepends=True)
    out = "".join(line for line in lines if not any(part in line for part in _BANNER + noise)).encode()
    try:
        while out:
            out = out[_os.write(2, out):]
    except OSError:  # no usable file descriptor 2: Python's stderr is all there is
        _sys.stderr.write(out.decode(errors="replace"))


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


_import_tensorflow_quietly()
_register_keras_objects()

__all__ = ["PROFILE", "__version__"]
