"""Self-checks for the chapters' exercises (every chapter).

A chapter ends with exercises; the learner writes an answer and asks for a check::

    from helpers.exercises import check
    check("2.1", my_mask)        # prints a pass, or a hint — never the solution

Exercises come in four kinds (``KINDS``): write a **function**; **predict** an outcome, then run the
cell that measures it (``check(key, prediction, measured="…")`` shows the measurement once there is
a prediction); run an **experiment** and answer a question about it; or answer a **concept**
question (a letter of a multiple choice, or a number checked with a tolerance).

Each chapter's checks live in ``helpers/exercises/chNN.py`` — every such module is found and
loaded, so a new chapter only adds its file. A check is a function registered with
``@exercise(key, title, kind)`` that takes the learner's answer and returns ``None`` for a pass or a
hint string; ``why`` is a sentence shown after a pass. ``check`` only prints (it returns ``None``,
so a notebook cell that ends with it shows no stray ``Out[n]: False``); ``passed`` answers the same
question with ``True`` or ``False`` for a test or a script, and ``evaluate`` returns the hint itself.

Solutions are kept apart, for instructors: ``helpers/exercises/solutions/chNN.py``, and the command
line ``python -m helpers.exercises`` (``list``, ``solutions KEY``, ``check-solutions``, ``grade FILE``).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass
from typing import Any, Callable

NOT_ANSWERED = "not answered yet: replace the `None` with your answer, then run the cell again"
KINDS = ("function", "predict", "experiment", "concept")
_KEY = re.compile(r"\d+\.\d+")


@dataclass(frozen=True)
class Exercise:
    key: str
    title: str
    kind: str
    checker: Callable[[Any], str | None]
    why: str | None = None

    @property
    def chapter(self) -> int:
        return int(self.key.split(".")[0])


_REGISTRY: dict[str, Exercise] = {}


def exercise(key: str, title: str, kind: str = "function", *, why: str | None = None):
    """Register ``checker(answer) -> None | hint`` as the check for exercise ``key`` ("N.M")."""
    if not _KEY.fullmatch(key):
        raise ValueError(f"exercise key {key!r} is not of the form N.M")
    if kind not in KINDS:
        raise ValueError(f"exercise {key}: kind {kind!r} is not one of {KINDS}")

    def register(checker):
        if key in _REGISTRY:
            raise ValueError(f"exercise {key} is registered twice")
        _REGISTRY[key] = Exercise(key, title, kind, checker, why)
        return checker

    return register


def order(key: str) -> list[int]:
    """Sort key for exercise keys: "10.2" after "9.11"."""
    return [int(part) for part in key.split(".")]


def _load_all() -> None:
    for module in pkgutil.iter_modules(__path__):
        if re.fullmatch(r"ch\d+", module.name):
            importlib.import_module(f"{__name__}.{module.name}")


def exercises() -> dict[str, Exercise]:
    """Every registered exercise, by key, in chapter order."""
    _load_all()
    return dict(sorted(_REGISTRY.items(), key=lambda kv: order(kv[0])))


def get(key: str) -> Exercise:
    """The exercise ``key``; a ``KeyError`` that lists the known keys otherwise."""
    found = exercises().get(key)
    if found is None:
        raise KeyError(f"no exercise {key!r}; known: {', '.join(exercises())}")
    return found


def evaluate(key: str, answer: Any) -> str | None:
    """The hint for ``answer`` to exercise ``key``, or ``None`` when it passes."""
    found = get(key)
    if answer is None:
        return NOT_ANSWERED
    try:
        return found.checker(answer)
    except Exception as err:  # a learner's answer of the wrong kind must not crash the check
        return f"your answer could not be checked ({type(err).__name__}: {err}); check its type and shape"


def passed(key: str, answer: Any) -> bool:
    """Whether ``answer`` passes exercise ``key`` (prints nothing)."""
    return evaluate(key, answer) is None


def check(key: str, answer: Any, *, measured: str | None = None) -> None:
    """Print a pass or a hint for ``answer`` to exercise ``key`` (returns nothing: see ``passed``).

    ``measured`` — for a prediction, a line describing what the cell measured — is printed only
    once there is an answer, so that the prediction is written down before the outcome is seen.
    """
    hint = evaluate(key, answer)
    found = get(key)
    if answer is not None and measured is not None:
        print(f"measured: {measured}")
    if hint is None:
        print(f"✅ Exercise {key} ({found.title}): correct." + (f" {found.why}" if found.why else ""))
    elif answer is None and measured is not None:
        print(f"❌ Exercise {key} ({found.title}): not answered yet: write your prediction in place of "
              "`None` in the cell above and run it, then run this cell again — it shows the measurement "
              "once you have predicted")
    else:
        print(f"❌ Exercise {key} ({found.title}): {hint}")


__all__ = ["check", "evaluate", "exercise", "exercises", "get", "passed", "KINDS", "NOT_ANSWERED"]
