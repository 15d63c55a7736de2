"""benchmarks/fresh_clone_timing.py reads make's output and fails loudly (its full run takes ~12 minutes:
here make's commands are replaced by ones that print captured output)."""

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.test_readme import ROOT, browser_test_ran


def fresh_clone_timing():
    import importlib.util

    path = ROOT / "benchmarks" / "fresh_clone_timing.py"
    spec = importlib.util.spec_from_file_location("fresh_clone_timing", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKE_TEST_OUTPUT = """\
chromium: /usr/bin/chromium
TRIPLET_COURSE_PROFILE=quick .venv/bin/python -m pytest tests
============================= test session starts ==============================
platform linux -- Python 3.11.7, pytest-9.2.0, pluggy-1.7.0
rootdir: /tmp/fresh-clone-abc/p
configfile: pyproject.toml
testpaths: tests
plugins: nbval-0.11.0, anyio-4.16.0, hypothesis-6.170.17
collected 329 items

tests/test_book.py ..........                                            [  3%]
tests/test_lab.py s.                                                     [ 99%]

=========================== short test summary info ============================
SKIPPED [1] tests/test_lab.py:57: chromium cannot start here
SKIPPED [2] tests/test_render.py:12: no display
============ 326 passed, 3 skipped, 4 warnings in 167.12s (0:02:47) ============
.venv/bin/python -m helpers.book check
Metric learning with the semi-hard triplet loss: 7 chapters, manifest OK
TRIPLET_COURSE_PROFILE=quick .venv/bin/python -m pytest -p no:cacheprovider --nbval-lax ...
============================= test session starts ==============================
collected 114 items

chapters/00_setup_and_data.ipynb ..........                              [  9%]

======================= 114 passed in 125.34s (0:02:05) ========================
make test: 301 s in all
"""

MAKE_COURSE_OUTPUT = """\
[1/3] 00_setup_and_data.py — Setting up: the environment and the data …
      done in 16.3 s
[2/3] 01_triplet_theory.py — The triplet loss, in theory …
      done in 15.8 s
[3/3] 02_semi_hard_loss.py — TensorFlow's semi-hard loss, built and measured …
      done in 48.0 s
3 chapter(s) in 80.6 s
notebooks written to _build/notebooks
book written to _build/book/index.html
make course: 95 s in all
"""


def test_fresh_clone_timing_reads_make_test():
    parsed = fresh_clone_timing().parse_make_test(MAKE_TEST_OUTPUT)
    pytest_, nbval = parsed["pytest"], parsed["nbval"]
    counts = (pytest_["passed"], pytest_["skipped"], pytest_["warnings"], pytest_["seconds"])
    assert counts == (326, 3, 4, 167.12)
    skipped = [s["where"] for s in pytest_["skipped_tests"]]
    assert skipped == ["tests/test_lab.py:57", "tests/test_render.py:12"]
    assert (nbval["cells"], nbval["seconds"], nbval["skipped_tests"]) == (114, 125.34, [])
    assert parsed["make_reported_seconds"] == 301
    assert not browser_test_ran({"pytest": pytest_})


def test_fresh_clone_timing_reads_make_course():
    parsed = fresh_clone_timing().parse_course(MAKE_COURSE_OUTPUT)
    assert [(c["file"], c["seconds"]) for c in parsed["chapters"]] == [
        ("00_setup_and_data.py", 16.3), ("01_triplet_theory.py", 15.8), ("02_semi_hard_loss.py", 48.0)]
    assert parsed["chapters"][2]["title"] == "TensorFlow's semi-hard loss, built and measured"
    assert (parsed["chapters_seconds"], parsed["make_reported_seconds"]) == (80.6, 95)


@pytest.mark.parametrize("broken", [
    MAKE_TEST_OUTPUT.replace("===== 114 passed", "===== 113 passed, 1 failed"),
    MAKE_TEST_OUTPUT.split(".venv/bin/python -m helpers.book check")[0],  # nbval never ran
])
def test_fresh_clone_timing_rejects_a_failed_or_missing_session(broken):
    module = fresh_clone_timing()
    with pytest.raises(module.FreshCloneError):
        module.parse_make_test(broken)


def test_fresh_clone_timing_rejects_an_unfinished_course():
    module = fresh_clone_timing()
    with pytest.raises(module.FreshCloneError):
        module.parse_course(MAKE_COURSE_OUTPUT.split("[3/3]")[0] + "2 chapter(s) in 40.0 s\n")
    with pytest.raises(module.FreshCloneError, match="never reported"):
        module.parse_course(MAKE_COURSE_OUTPUT.replace("      done in 15.8 s\n", ""))


def test_fresh_clone_timing_end_to_end_with_stand_in_commands(tmp_path, monkeypatch, capsys):
    """The whole script on a real clone of HEAD, with make's commands replaced by ones that print
    the sample outputs above; and a failing command stops it with an error and exit status 1."""
    module = fresh_clone_timing()
    (tmp_path / "test.txt").write_text(MAKE_TEST_OUTPUT)
    (tmp_path / "course.txt").write_text(MAKE_COURSE_OUTPUT)
    notebook = '{"cells": [{"outputs": [{"text": "MNIST source: offline — no network\\n"}]}]}'
    course = ("mkdir -p _build/notebooks && "
              f"printf '%s' '{notebook}' > _build/notebooks/00_setup_and_data.ipynb && "
              f"cat {tmp_path / 'course.txt'}")
    steps = (("setup", ["true"], {}),
             ("test", ["cat", str(tmp_path / "test.txt")], {"CI": "true"}),
             ("course", ["sh", "-c", course], {}))
    monkeypatch.setattr(module, "STEPS", steps)
    versions = {"python": "3.11", "tensorflow": "2.21.0", "keras": "3.15.1"}
    monkeypatch.setattr(module, "clone_versions", lambda clone: versions)
    out = tmp_path / "fresh_clone.json"
    assert module.main(["--json", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["steps"]["test"]["command"] == "CI=true cat " + str(tmp_path / "test.txt")
    assert record["nbval"]["cells"] == 114 and len(record["chapters"]) == 3
    assert record["data_sources"] == {"00_setup_and_data": ["offline"]}
    assert record["steps"]["course"]["make_reported_seconds"] == 95
    monkeypatch.setattr(module, "STEPS", (("setup", ["sh", "-c", "echo broken; exit 3"], {}),))
    assert module.main([]) == 1
    err = capsys.readouterr().err
    assert "step 'setup'" in err and "exit status 3" in err and "broken" in err
    kept = Path(re.search(r"the clone is kept in (\S+)", err).group(1))
    assert kept.is_dir() and kept.name == "p"
    shutil.rmtree(kept.parent)
