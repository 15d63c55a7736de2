"""helpers.exercises: every check passes a right answer and gives a hint — never the solution — otherwise.

Right and wrong answers for each exercise live in ``helpers/exercises/solutions/chNN.py`` (``RIGHT``,
``WRONG``, ``EXPLAIN``); a test fails when an exercise is registered without all three, so every new
exercise arrives with its own test. The command line ``python -m helpers.exercises`` is tested in
process, and once or twice as a subprocess.
"""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpers import exercises as ex
from helpers.exercises import __main__ as cli
from helpers.exercises import solutions as sol

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sol.load()
KEYS = list(ex.exercises())


def test_every_exercise_has_right_and_wrong_answers_and_an_explanation():
    keys = set(KEYS)
    assert keys, "no exercises registered"
    assert keys <= set(SOLUTIONS.right), f"no right answer for {sorted(keys - set(SOLUTIONS.right))}"
    assert keys <= {k for k, v in SOLUTIONS.wrong.items() if v}, "an exercise has no wrong answers"
    assert keys <= {k for k, v in SOLUTIONS.explain.items() if v.strip()}, "an exercise has no explanation"
    stray = (set(SOLUTIONS.right) | set(SOLUTIONS.wrong) | set(SOLUTIONS.explain)) - keys
    assert not stray, f"solutions for exercises that do not exist: {sorted(stray)}"


def test_every_chapter_has_an_exercise_that_is_not_a_function():
    """A prediction, an experiment or a conceptual question in every chapter (and every chapter of
    book.toml has exercises)."""
    chapters = {e.chapter for e in ex.exercises().values()}
    in_book = {int(path.name[:2]) for path in ROOT.glob("chapters/[0-9][0-9]_*.py")}
    assert chapters == in_book, f"chapters without exercises: {sorted(in_book - chapters)}"
    other = {e.chapter for e in ex.exercises().values() if e.kind != "function"}
    assert chapters == other, f"chapters with function exercises only: {sorted(chapters - other)}"


@pytest.mark.parametrize("chapter", sorted({e.chapter for e in ex.exercises().values()}))
def test_each_chapter_checks_exactly_its_registered_exercises(chapter):
    found = sorted(ROOT.glob(f"chapters/{chapter:02d}_*.py"))
    assert len(found) == 1, f"no single chapter file for chapter {chapter}: {found}"
    in_chapter = set(re.findall(r'check\("(\d+\.\d+)"', found[0].read_text(encoding="utf-8")))
    registered = {e.key for e in ex.exercises().values() if e.chapter == chapter}
    assert in_chapter == registered, f"{found[0].name}: checks {sorted(in_chapter)}, registered {sorted(registered)}"


def test_solutions_live_beside_their_chapter():
    for key, module in SOLUTIONS.module.items():
        assert module.endswith(f".ch{int(key.split('.')[0]):02d}"), (key, module)


@pytest.mark.parametrize("key", KEYS)
def test_right_answer_passes(key, capsys):
    answer = SOLUTIONS.right[key]()
    assert ex.check(key, answer) is None  # a notebook cell ending with check shows no Out[n]
    out = capsys.readouterr().out
    assert out.startswith("✅") and "correct" in out, out
    assert ex.passed(key, answer)
    assert capsys.readouterr().out == ""  # passed prints nothing


@pytest.mark.parametrize("key, index", [(k, i) for k in KEYS for i in range(len(SOLUTIONS.wrong.get(k, [])))])
def test_wrong_answer_gets_a_hint_without_the_solution(key, index, capsys):
    assert ex.check(key, SOLUTIONS.wrong[key][index]()) is None
    out = capsys.readouterr().out
    assert out.startswith("❌") and len(out.strip()) > 30, out
    hint = ex.evaluate(key, SOLUTIONS.wrong[key][index]())
    assert hint is not None and hint != ex.NOT_ANSWERED
    source, answer = sol.shown(SOLUTIONS.right[key])
    assert not [s for s in sol.solution_strings(answer, source) if s in hint], hint


@pytest.mark.parametrize("key", KEYS)
def test_unanswered_and_junk_answers_are_handled(key):
    assert ex.evaluate(key, None) == ex.NOT_ANSWERED
    assert ex.evaluate(key, "junk") is not None  # a wrong kind of answer is a hint, not a crash
    assert ex.evaluate(key, object()) is not None


def test_the_leak_check_can_fail():
    """solution_strings catches a hint that prints the right number, letter or code."""
    assert "0.8" in sol.solution_strings(0.8, "")
    assert "(c)" in sol.solution_strings("c", "")
    assert "18,388,609" in sol.solution_strings(18_388_609, "")
    source, _ = sol.shown(SOLUTIONS.right["4.1"])
    assert any("np.fill_diagonal" in s for s in sol.solution_strings(None, source))


def test_a_prediction_shows_the_measurement_only_once_made(capsys):
    ex.check("0.3", None, measured="1.2 anchors per batch")
    out = capsys.readouterr().out
    assert "not answered yet" in out and "1.2 anchors" not in out
    ex.check("0.3", "a", measured="1.2 anchors per batch")
    out = capsys.readouterr().out
    assert out.startswith("measured: 1.2 anchors per batch\n❌"), out


def test_unknown_exercise():
    with pytest.raises(KeyError, match="no exercise"):
        ex.check("99.9", 1)
    with pytest.raises(KeyError, match="no exercise"):
        ex.passed("99.9", 1)


def test_registration_refuses_bad_keys_and_kinds():
    with pytest.raises(ValueError, match="N.M"):
        ex.exercise("4", "no dot")
    with pytest.raises(ValueError, match="kind"):
        ex.exercise("99.1", "a title", "essay")


# ------------------------------------------------------------------------------- the command line
def run_cli(*args):
    code = cli.main(list(args))
    return code


def test_cli_list(capsys):
    assert run_cli("list") == 0
    out = capsys.readouterr().out
    for e in ex.exercises().values():
        assert f"{e.key:<6}{e.kind:<12}{e.title}" in out


def test_cli_solutions_of_an_exercise_and_of_a_chapter(capsys):
    assert run_cli("solutions", "4.1") == 0
    out = capsys.readouterr().out
    assert "def map_at_r(embeddings, labels):" in out and SOLUTIONS.explain["4.1"][:40] in out
    assert "Exercise 4.2" not in out
    assert run_cli("solutions", "6") == 0
    out = capsys.readouterr().out
    assert "Exercise 6.1" in out and "Exercise 6.2" in out and "→ 'c'" in out


@pytest.mark.parametrize("args, message", [(("solutions", "9.9"), "no exercise '9.9'"),
                                           (("solutions", "99"), "chapter 99 has no exercises")])
def test_cli_solutions_of_nothing_is_one_line(args, message, capsys):
    assert run_cli(*args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err


def test_cli_check_solutions_fails_on_a_broken_solution(capsys, monkeypatch):
    broken = sol.load()
    broken.wrong["1.4"] = [SOLUTIONS.right["1.4"]]  # a "wrong" answer that passes
    del broken.explain["0.1"]
    monkeypatch.setattr(sol, "load", lambda: broken)
    assert run_cli("check-solutions") == 1
    out = capsys.readouterr().out
    assert "FAIL  1.4" in out and "wrong answer 1 passes" in out
    assert "FAIL  0.1" in out and "no explanation" in out
    assert "2 failed" in out


STUDENT = """
import numpy as np
print("a student's print goes to stderr")

def to_unit(raw):
    return (raw.astype(np.float32) / 255.0)[..., None]

ANSWERS = {"0.1": to_unit, "0.3": "a", "1.4": 0.8}
"""


def test_cli_grade(tmp_path, capsys):
    student = tmp_path / "student.py"
    student.write_text(STUDENT)
    assert run_cli("grade", str(student), "--chapter", "0", "--chapter", "1") == 1
    out = capsys.readouterr().out
    assert "pass  0.1" in out and "pass  1.4" in out and "--    1.1" in out
    assert out.splitlines()[2].startswith("hint  0.3")
    assert "total: 2 of 7 passed (3 answered)" in out and "student's print" not in out
    assert run_cli("grade", str(student), "--json") == 1
    graded = json.loads(capsys.readouterr().out)
    assert (graded["passed"], graded["answered"], graded["total"]) == (2, 3, len(KEYS))


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    ("x = 1\n", "defines no ANSWERS dict"),
    ("ANSWERS = {'9.1': 1}\n", "unknown exercise key(s) '9.1'"),
    ("raise ValueError('boom')\n", "failed to run: ValueError: boom"),
])
def test_cli_grade_errors_are_one_line(tmp_path, capsys, content, message):
    student = tmp_path / "student.py"
    if content is not None:
        student.write_text(content)
    assert run_cli("grade", str(student)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err, err


def test_cli_as_a_subprocess(tmp_path):
    """The instructor's command, as they run it: every solution checks out, exit 0."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-m", "helpers.exercises", "check-solutions"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert sum(line.startswith("ok    ") for line in lines) == len(KEYS)
    assert lines[-1] == f"{len(KEYS)} of {len(KEYS)} exercises check out"
    student = tmp_path / "answers.py"
    student.write_text(textwrap.dedent("""
        ANSWERS = {"6.2": "b"}
    """))
    proc = subprocess.run([sys.executable, "-m", "helpers.exercises", "grade", str(student), "--chapter", "6"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 1 and "total: 0 of 2 passed (1 answered)" in proc.stdout, proc.stdout + proc.stderr
