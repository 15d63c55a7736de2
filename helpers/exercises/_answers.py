"""Checks shared by the exercises that are not functions: a letter, a number, a prediction.

Each returns ``None`` for a right answer or a hint that teaches — it never names the right letter
or prints the right number.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence


def letter(answer: Any, options: str) -> str | None:
    """The chosen option as a lower-case letter, or ``None`` when ``answer`` is not one of them."""
    if not isinstance(answer, str):
        return None
    picked = answer.strip().strip("()").strip().lower()
    return picked if len(picked) == 1 and picked in options else None


def choose(answer: Any, right: str, hints: dict[str, str]) -> str | None:
    """Check a multiple-choice answer: ``hints`` holds a hint for every wrong option."""
    options = "".join(sorted({right, *hints}))
    picked = letter(answer, options)
    if picked is None:
        return f"answer with one of the letters {', '.join(repr(o) for o in options)} (a string)"
    return None if picked == right else hints[picked]


def predicted(answer: Any, measured: float, bins: Sequence[tuple[float, str]],
              hints: dict[str, str]) -> str | None:
    """Check a predicted option against a measurement: the right option is the first of ``bins``
    ``(upper bound, letter)`` whose bound lies above ``measured`` (the last bound may be ``inf``)."""
    right = next(option for bound, option in bins if measured < bound)
    wrong = {option: hint for option, hint in hints.items() if option != right}
    return choose(answer, right, wrong)


def as_number(answer: Any) -> float | None:
    """``answer`` as a finite float, or ``None`` (a bool or a string is not a number here)."""
    if isinstance(answer, (bool, str, bytes)):
        return None
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def number(answer: Any, expected: float, *, tol: float, relative: bool = False,
           mistakes: Sequence[tuple[Callable[[float], bool], str]] = (), otherwise: str) -> str | None:
    """Check a number against ``expected`` within ``tol`` (absolute, or relative to ``expected``).

    ``mistakes`` are ``(test, hint)`` pairs tried in order on a wrong value; ``otherwise`` is the
    hint when none of them matches.
    """
    value = as_number(answer)
    if value is None:
        return "answer with a number (an int or a float)"
    if abs(value - expected) <= (tol * abs(expected) if relative else tol):
        return None
    return next((hint for test, hint in mistakes if test(value)), otherwise)


def numbers(answer: Any, size: int, what: str) -> list[float] | str:
    """``answer`` as ``size`` finite numbers (a tuple or list), or a hint saying what to give."""
    if isinstance(answer, (str, bytes)) or not hasattr(answer, "__len__") or len(answer) != size:
        return f"answer with {size} numbers in a tuple: {what}"
    values = [as_number(v) for v in answer]
    if any(v is None for v in values):
        return f"every entry must be a finite number: {what}"
    return values


def near(target: float, tol: float) -> Callable[[float], bool]:
    """A test for ``number``'s ``mistakes``: the value lies within ``tol`` of ``target``."""
    return lambda value: abs(value - target) <= tol
