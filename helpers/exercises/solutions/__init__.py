"""Solutions to the exercises, for instructors (every chapter).

``solutions/chNN.py`` holds chapter NN's solutions in three dicts keyed by exercise ("4.1"):

``RIGHT``   a zero-argument factory returning a right answer — a named, readable function, so
            that ``python -m helpers.exercises solutions 4.1`` can show its source;
``WRONG``   a list of factories returning typical wrong answers, each of which the check must
            answer with a hint;
``EXPLAIN`` a few sentences an instructor can read out.

Every ``chNN`` module here is found and loaded (``load``); ``verify`` is what
``python -m helpers.exercises check-solutions`` and ``tests/test_exercises.py`` run for each
exercise. Nothing outside the command line and the tests imports this package.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable

from helpers import exercises as ex


@dataclass
class Solutions:
    right: dict[str, Callable[[], Any]] = field(default_factory=dict)
    wrong: dict[str, list[Callable[[], Any]]] = field(default_factory=dict)
    explain: dict[str, str] = field(default_factory=dict)
    module: dict[str, str] = field(default_factory=dict)  # key -> the module that defines it


def load() -> Solutions:
    """Every chapter's solutions, merged; a key defined by two modules is an error."""
    found = Solutions()
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not re.fullmatch(r"ch\d+", info.name):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, target in (("RIGHT", found.right), ("WRONG", found.wrong), ("EXPLAIN", found.explain)):
            table = getattr(module, name, {})
            for key, value in table.items():
                if key in target:
                    raise ValueError(f"solutions for {key} ({name}) are defined twice")
                target[key] = value
                found.module.setdefault(key, module.__name__)
    return found


def shown(factory: Callable[[], Any]) -> tuple[str, Any]:
    """``(source, answer)`` of a right answer: the source of the function it returns, or of the
    factory itself when the answer is a value (a letter, a number)."""
    answer = factory()
    target = answer if callable(answer) else factory
    try:
        source = textwrap.dedent(inspect.getsource(target))
    except (OSError, TypeError):
        source = f"{answer!r}\n"
    return source, answer


def _formats(value: float) -> set[str]:
    out = {f"{value:g}", f"{value:.2f}", f"{value:.3f}", f"{value:.4f}"}
    if float(value).is_integer():
        out |= {str(int(value)), f"{int(value):,}"}
    return {s for s in out if len(s) >= 3 and re.search(r"[1-9]", s)}  # not "0", "0.00", "7"


def solution_strings(answer: Any, source: str) -> set[str]:
    """Text a hint must not contain, for it would give ``answer`` away."""
    if isinstance(answer, str):
        return {f"({answer})", f"'{answer}'", f'"{answer}"'}
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        return _formats(answer)
    if isinstance(answer, (tuple, list)) and all(isinstance(v, (int, float)) for v in answer):
        return set().union(*(_formats(v) for v in answer))
    body = [line.strip() for line in source.splitlines()[1:]]  # a function's lines, not its name
    return {line for line in body if len(line) >= 25 and not line.startswith(("#", '"""'))}


def verify(key: str, solutions: Solutions | None = None) -> list[str]:
    """What is wrong with exercise ``key``'s check and solutions (an empty list: nothing)."""
    solutions = solutions or load()
    problems = []
    if key not in ex.exercises():
        return [f"solutions for {key}, but no exercise {key} is registered"]
    if key not in solutions.right:
        problems.append("no right answer (RIGHT)")
    if not solutions.wrong.get(key):
        problems.append("no wrong answers (WRONG)")
    if not str(solutions.explain.get(key, "")).strip():
        problems.append("no explanation (EXPLAIN)")
    if ex.evaluate(key, None) != ex.NOT_ANSWERED:
        problems.append("an unanswered `None` is not reported as not answered")
    if key in solutions.right:
        source, answer = shown(solutions.right[key])
        hint = ex.evaluate(key, answer)
        if hint is not None:
            problems.append(f"the right answer gets a hint: {hint}")
        forbidden = solution_strings(answer, source)
        for index, factory in enumerate(solutions.wrong.get(key, []), start=1):
            hint = ex.evaluate(key, factory())
            if hint is None:
                problems.append(f"wrong answer {index} passes")
            elif leaked := sorted(s for s in forbidden if s in hint):
                problems.append(f"the hint to wrong answer {index} gives the solution away ({leaked[0]!r})")
    return problems


__all__ = ["Solutions", "load", "shown", "solution_strings", "verify"]
