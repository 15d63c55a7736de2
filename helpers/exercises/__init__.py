"""Self-checks for the chapters' exercises (every chapter).

A chapter ends with exercises; the learner writes an answer and asks for a check::

    from helpers.exercises import check
    check("2.1", my_mask)        # prints a pass, or a hint — never the solution

Each chapter's checks live in ``helpers/exercises/chNN.py``; a check is a function registered
with ``@exercise(key, title)`` that takes the learner's answer and returns ``None`` for a pass
or a hint string. ``check`` only prints (it returns ``None``, so a notebook cell that ends with it
shows no stray ``Out[n]: False``); ``passed`` answers the same question with ``True`` or ``False``
for a test or a script, and ``evaluate`` returns the hint itself.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable

NOT_ANSWERED = "not answered yet: replace the `None` with your answer, then run the cell again"


@dataclass(frozen=True)
class Exercise:
    key: str
    title: str
    checker: Callable[[Any], str | None]


_REGISTRY: dict[str, Exercise] = {}


def exercise(key: str, title: str):
    """Register ``checker(answer) -> None | hint`` as the check for exercise ``key``."""

    def register(checker):
        if key in _REGISTRY:
            raise ValueError(f"exercise {key} is registered twice")
        _REGISTRY[key] = Exercise(key, title, checker)
        return checker

    return register


def _load_all() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("ch"):
            importlib.import_module(f"{__name__}.{module.name}")


def exercises() -> dict[str, Exercise]:
    """Every registered exercise, by key, in chapter order."""
    _load_all()
    return dict(sorted(_REGISTRY.items(), key=lambda kv: [int(p) for p in kv[0].split(".")]))


def evaluate(key: str, answer: Any) -> str | None:
    """The hint for ``answer`` to exercise ``key``, or ``None`` when it passes."""
    found = exercises().get(key)
    if found is None:
        raise KeyError(f"no exercise {key!r}; known: {', '.join(exercises())}")
    if answer is None:
        return NOT_ANSWERED
    try:
        return found.checker(answer)
    except Exception as err:  # a learner's answer of the wrong kind must not crash the check
        return f"your answer could not be checked ({type(err).__name__}: {err}); check its type and shape"


def passed(key: str, answer: Any) -> bool:
    """Whether ``answer`` passes exercise ``key`` (prints nothing)."""
    return evaluate(key, answer) is None


def check(key: str, answer: Any) -> None:
    """Print a pass or a hint for ``answer`` to exercise ``key`` (returns nothing: see ``passed``)."""
    hint = evaluate(key, answer)
    title = exercises()[key].title
    if hint is None:
        print(f"✅ Exercise {key} ({title}): correct.")
    else:
        print(f"❌ Exercise {key} ({title}): {hint}")


__all__ = ["check", "evaluate", "exercise", "exercises", "passed", "NOT_ANSWERED"]
