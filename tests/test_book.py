"""book.toml: the manifest's validation, and every chapter a listed, in-sync, executed pair."""

import json
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest
from jupytext.compare import compare_notebooks

from helpers import book as bookmod

ROOT = Path(__file__).resolve().parents[1]
BOOK = bookmod.read_book(ROOT / "book.toml")
CHAPTERS = [c.path for c in BOOK.chapters]

GOOD = """
[book]
title = "T"
authors = ["A"]
description = "D"
language = "en"
src = "chapters"
"""


def write_book(tmp_path, text, files=("00_a.py", "01_b.py")):
    (tmp_path / "chapters").mkdir(exist_ok=True)
    for name in files:
        (tmp_path / "chapters" / name).write_text("# %%\nprint(1)\n")
    (tmp_path / "book.toml").write_text(text)
    return tmp_path / "book.toml"


def chapter(path, title="x"):
    return f'\n[[chapters]]\npath = "{path}"\ntitle = "{title}"\n'


def test_manifest_lists_chapters_in_order():
    assert BOOK.title and BOOK.description and BOOK.authors
    names = [p.name for p in CHAPTERS]
    assert names == sorted(names), "book.toml lists the chapters in reading (numbered) order"
    assert names[0].startswith("00_")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_is_an_executed_pair_in_sync(path):
    notebook = path.with_suffix(".ipynb")
    assert notebook.is_file(), f"{notebook.name} is missing: run `make course`"
    source, executed = jupytext.read(path), jupytext.read(notebook)
    compare_notebooks(executed, source, fmt="py:percent", compare_outputs=False)
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), f"{notebook.name} has cells that never ran"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"], f"{notebook.name} has errors"
    assert executed.metadata["kernelspec"]["name"] == bookmod.KERNEL_NAME


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_format(path):
    nb = jupytext.read(path)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# Chapter")
    for needle in ("You will learn", "Prerequisites", "Run time"):
        assert needle in first.source, f"{path.name}: the first cell needs '{needle}'"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for heading in ("## Summary", "## Exercises", "## References"):
        assert heading in text, f"{path.name} needs a '{heading}' section"
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert code.count('check("') >= 2, f"{path.name} needs at least two checked exercises"
    assert "os.environ" not in code, "chapters ask helpers.config, not the environment"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_committed_outputs_are_clean(path):
    text = path.with_suffix(".ipynb").read_text()
    for leak in (str(Path.home()), str(ROOT), "0x7f", "/tmp/"):
        assert leak not in text, f"{path.name}'s outputs contain {leak!r}"
    nb = json.loads(text)
    assert all(o.get("name") != "stderr" for c in nb["cells"] for o in c.get("outputs", []))
    assert any("image/png" in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", [])), \
        f"{path.name} shows no figure"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_committed_cell_ids_are_stable(path):
    """Regenerating a notebook keeps the ids of unchanged cells (no churn in diffs)."""
    executed = jupytext.read(path.with_suffix(".ipynb"))
    expected = jupytext.read(path)
    bookmod.stable_cell_ids(expected)
    assert [c.id for c in executed.cells] == [c.id for c in expected.cells]


def test_stable_cell_ids_follow_the_content():
    nb = jupytext.reads("# %%\nprint(1)\n\n# %%\nprint(2)\n\n# %%\nprint(1)\n", fmt="py:percent")
    bookmod.stable_cell_ids(nb)
    first, second, repeat = (c.id for c in nb.cells)
    assert len({first, second, repeat}) == 3 and repeat == f"{first}-2"
    nb.cells[1].source = "print(3)"
    bookmod.stable_cell_ids(nb)
    assert nb.cells[0].id == first and nb.cells[1].id != second and nb.cells[2].id == repeat
    nbformat = pytest.importorskip("nbformat")
    nbformat.validate(nb)


def test_good_manifest(tmp_path):
    b = bookmod.read_book(write_book(tmp_path, GOOD + chapter("chapters/00_a.py", "A") + chapter("chapters/01_b.py")))
    assert [c.title for c in b.chapters] == ["A", "x"]
    assert b.chapters[0].notebook.name == "00_a.ipynb"


@pytest.mark.parametrize("text, message", [
    ("[book]\ntitle='x'", "missing authors"),
    ("not toml [[", "not valid TOML"),
    (GOOD, "no \\[\\[chapters\\]\\]"),
    (GOOD + chapter("chapters/00_a.py") + chapter("chapters/00_a.py"), "listed twice"),
    (GOOD + chapter("chapters/00_a.py"), "not listed.*01_b.py"),
    (GOOD + chapter("chapters/00_a.py") + chapter("chapters/01_b.py") + chapter("chapters/02_c.py"),
     "02_c.py.*no such file"),
    (GOOD + chapter("chapters/00_a.ipynb"), "must be a .py"),
    (GOOD + chapter("00_a.py"), "not inside src"),
    (GOOD + '\n[[chapters]]\npath = "chapters/00_a.py"\n', "needs both"),
    (GOOD + chapter("chapters/00_a.py") + 'colour = "red"\n' + chapter("chapters/01_b.py"), "unknown keys"),
])
def test_broken_manifests_are_rejected(tmp_path, text, message):
    with pytest.raises(bookmod.BookError, match=message):
        bookmod.read_book(write_book(tmp_path, text))


def test_missing_manifest(tmp_path):
    with pytest.raises(bookmod.BookError, match="no such file"):
        bookmod.read_book(tmp_path / "book.toml")


def test_command_line_check_and_list():
    run = subprocess.run([sys.executable, "-m", "helpers.book", "list", "--ipynb"], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    assert run.stdout.split() == [str(c.notebook.relative_to(ROOT)) for c in BOOK.chapters]
    bad = subprocess.run([sys.executable, "-m", "helpers.book", "--manifest", "nowhere.toml", "check"],
                         cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "no such file" in bad.stderr and "Traceback" not in bad.stderr


def test_course_files_exist():
    for name in ("README.md", "environment.yml", "pyproject.toml", "chapters/jupytext.toml", "Makefile", ".ci/run",
                 ".gitignore"):
        assert (ROOT / name).is_file(), name
    assert "make test" in (ROOT / ".ci/run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make course" in readme and "make test" in readme
    for c in BOOK.chapters:
        assert c.path.stem in readme, f"README lists no {c.path.stem}"


def test_run_chapter_writes_the_notebook_and_filters_kernel_noise(tmp_path, capfd):
    """run_chapter executes the .py in the course kernel, writes the .ipynb with stable ids, and
    passes on what the kernel process writes to its stderr — except its start-up noise."""
    bookmod.install_kernel()
    source = tmp_path / "00_tiny.py"
    source.write_text("# %%\nimport os\nos.write(2, b'a line from the kernel process\\n')\n"
                      "print(6 * 7)\n")
    seconds = bookmod.run_chapter(source, output_dir=tmp_path / "out", timeout=300)
    assert not source.with_suffix(".ipynb").exists(), "output_dir is where the notebook goes"
    notebook = jupytext.read(tmp_path / "out" / "00_tiny.ipynb")
    assert seconds > 0 and notebook.cells[0].outputs[0]["text"] == "42\n"
    expected = jupytext.read(source)
    bookmod.stable_cell_ids(expected)
    assert notebook.cells[0].id == expected.cells[0].id
    err = capfd.readouterr().err
    assert "a line from the kernel process" in err
    assert "Kernel is running over TCP" not in err and "absl::InitializeLog" not in err
