"""helpers — the library behind the course *Metric learning with the semi-hard triplet loss*.

Chapters import it; students reuse it in their own work. ``import helpers`` is cheap and changes
nothing: it imports neither TensorFlow nor Keras, and touches no environment variable or file
descriptor. Each module imports what it needs when you import it; ``helpers.models`` (say) also
works after a bare ``import helpers``. Modules (and the chapter that introduces each):

- ``config``     run profiles (chapter 0)
- ``data``       MNIST sources, splits, PK batches (chapter 0)
- ``distances``, ``losses``, ``reference``  the triplet losses (chapter 2)
- ``measure``    a loss step's time, and its peak memory each in a fresh process (chapter 2)
- ``models``     the 2018 MLP, a small CNN, both wirings, ``load_embedding`` (chapters 3–4)
- ``pipeline``   tf.data batches and augmentation (chapter 4)
- ``training``   fitting with checkpoints and resume; ``runs`` the run folders it keeps (chapter 4)
- ``evaluation`` retrieval metrics and PCA (chapter 5)
- ``contrastive`` the pairwise and supervised contrastive losses (chapter 7)
- ``openset``    the open-set split, its chance levels and fast scores, several seeds in one fit (chapter 7)
- ``distributed`` several devices with ``tf.distribute``: global or local mining, logical CPU devices (chapter 7)
- ``plotting``   the figures; ``theory_plots`` chapters 1–3's drawings
- ``standin``    a 60,000-image MNIST stand-in made offline, to run the course at full size (tooling)
- ``exercises``  self-checks (``python -m helpers.exercises``: solutions, checks, grading); ``book`` (with
  ``manifest``, ``runner`` and ``side_by_side``), ``render``, ``lab`` and
  ``kernel`` the course runner, the HTML book, the Jupyter set-up (kernel, lab settings, ``make lab``)
  and the kernel's launcher

Models the course saved contain its Keras layers; load them with
``helpers.models.load_embedding(path)``, which registers those layers with Keras first.

``helpers.PROFILE`` is ``helpers.config.PROFILE``, the run profile, looked up on use: importing
``helpers`` imports no other module and never fails, whatever ``TRIPLET_COURSE_PROFILE`` says (a
bad value raises ``helpers.config.ProfileError`` when the profile is asked for).
"""

__version__ = "0.1.0"

#: Submodules reachable as attributes after a bare ``import helpers`` (imported on first use).
_SUBMODULES = ("book", "config", "contrastive", "data", "distances", "distributed", "evaluation", "exercises",
               "kernel", "lab", "losses", "manifest", "measure", "models", "openset", "pipeline",
               "plotting", "reference", "render", "runner", "runs", "side_by_side", "standin", "theory_plots",
               "training")


def __getattr__(name: str):
    """``helpers.models`` and friends, imported on first use, and ``PROFILE`` (PEP 562)."""
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    if name == "PROFILE":
        from helpers.config import get_profile

        return get_profile()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_SUBMODULES, "PROFILE"])


__all__ = ["PROFILE", "__version__"]
