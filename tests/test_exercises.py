"""helpers.exercises: every check passes a right answer and gives a hint — never the solution — otherwise.

Right and wrong answers for each exercise live in ``RIGHT`` and ``WRONG``; a test fails when an
exercise is registered without both, so every new exercise arrives with its own test.
"""

import numpy as np
import pytest

from helpers import exercises as ex
from tests.exercise_answers import RIGHT, WRONG


def test_every_exercise_has_right_and_wrong_answers():
    keys = set(ex.exercises())
    assert keys, "no exercises registered"
    assert keys <= set(RIGHT), f"no right answer for {sorted(keys - set(RIGHT))}"
    assert keys <= set(WRONG), f"no wrong answer for {sorted(keys - set(WRONG))}"


@pytest.mark.parametrize("key", sorted(RIGHT, key=lambda k: [int(p) for p in k.split(".")]))
def test_right_answer_passes(key, capsys):
    assert ex.check(key, RIGHT[key]()) is None  # a notebook cell ending with check shows no Out[n]
    out = capsys.readouterr().out
    assert "✅" in out and "correct" in out, out
    assert ex.passed(key, RIGHT[key]())
    assert capsys.readouterr().out == ""  # passed prints nothing


@pytest.mark.parametrize("key, index", [(k, i) for k, ws in sorted(WRONG.items()) for i in range(len(ws))])
def test_wrong_answer_gets_a_hint(key, index, capsys):
    assert ex.check(key, WRONG[key][index]()) is None
    out = capsys.readouterr().out
    assert "❌" in out and len(out.strip()) > 30
    assert not ex.passed(key, WRONG[key][index]())


@pytest.mark.parametrize("key", sorted(RIGHT))
def test_unanswered_and_junk_answers_are_handled(key, capsys):
    assert ex.evaluate(key, None) == ex.NOT_ANSWERED
    assert ex.evaluate(key, "junk") is not None  # a wrong kind of answer is a hint, not a crash


def test_unknown_exercise():
    with pytest.raises(KeyError, match="no exercise"):
        ex.check("99.9", 1)
    with pytest.raises(KeyError, match="no exercise"):
        ex.passed("99.9", 1)
