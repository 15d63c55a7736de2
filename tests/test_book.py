"""book.toml: the manifest's validation, and every chapter a listed, in-sync, executed pair."""

import json
import os
import signal
import subprocess
import sys
import time
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
    nb = json.loads(path.with_suffix(".ipynb").read_text())
    # Everything but the figures' base64 data, where "0x7f" can occur by chance (it did, once).
    text = json.dumps([{k: v for k, v in o.get("data", {}).items() if not k.startswith("image/")} |
                       {k: v for k, v in o.items() if k != "data"}
                       for c in nb["cells"] for o in c.get("outputs", [])] + [nb["metadata"]])
    for leak in (str(Path.home()), str(ROOT), "0x7f", "/tmp/"):
        assert leak not in text, f"{path.name}'s outputs contain {leak!r}"
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


# ----------------------------------------------------------------- one-line failures of the runner
# Every failure of `python -m helpers.book` is one line on stderr, `error: ...`, exit status 2: no
# traceback, no ANSI colour. A tiny book in tmp_path stands in for the course.

DIVIDE = '''# %% [markdown]
# # A tiny chapter
# y = divide(x, 0)

# %%
print("first cell ran")

# %%
def divide(a, b):
    raise ValueError("\\x1b[31mcannot divide\\x1b[0m\\nby zero")

# %%
x = 1
y = divide(x, 0)
print("never")
'''
# The line of chapters/00_x.py that fails, and the cell it is in (the markdown cell is cell 1).
DIVIDE_LINE, DIVIDE_CELL = 14, 4


def tiny_book(root, **chapters):
    """A book.toml in ``root`` with one chapter per keyword (``name=source``)."""
    (root / "chapters").mkdir(parents=True, exist_ok=True)
    entries = ""
    for name, source in chapters.items():
        (root / "chapters" / f"{name}.py").write_text(source)
        entries += chapter(f"chapters/{name}.py", name)
    (root / "book.toml").write_text(GOOD + entries)
    return root / "book.toml"


def book_cli(*args, cwd=ROOT, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "helpers.book", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def assert_one_error_line(run, *needles):
    assert run.returncode == 2, (run.returncode, run.stderr[-3000:])
    assert run.stderr.startswith("error: ") and run.stderr.count("\n") == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr and "\x1b" not in run.stderr
    for needle in needles:
        assert needle in run.stderr, (needle, run.stderr)


@pytest.fixture(scope="module")
def kernel():
    bookmod.install_kernel()


def test_a_manifest_that_is_not_utf8_is_one_line_naming_the_file_and_the_byte(tmp_path):
    manifest = tmp_path / "book.toml"
    manifest.write_bytes(b'[book]\ntitle = "caf\xe9"\n')
    with pytest.raises(bookmod.BookError, match=r"book.toml: the manifest must be UTF-8 text: byte 0xe9 "
                                                r"at line 2 \(byte offset 19\) is not UTF-8"):
        bookmod.read_book(manifest)
    assert_one_error_line(book_cli("--manifest", manifest, "check"), str(manifest), "byte 0xe9 at line 2")


def test_a_manifest_that_is_not_toml_is_one_line_with_the_toml_error(tmp_path):
    manifest = tmp_path / "book.toml"
    manifest.write_text("[book\ntitle = 1\n")
    assert_one_error_line(book_cli("--manifest", manifest, "check"), f"{manifest}: not valid TOML",
                          "(at line 1, column 6)")


@pytest.mark.parametrize("text, message", [
    (GOOD.replace('src = "chapters"', "src = 5") + chapter("chapters/00_a.py") + chapter("chapters/01_b.py"),
     r"\[book\] src must be a string, got 5"),
    (GOOD + chapter("chapters/00_a.py") + '\n[[chapters]]\npath = 3\ntitle = "t"\n',
     "chapter #2 path must be a string, got 3"),
    (GOOD + chapter("chapters/00_a.py") + chapter("chapters/01_b.py").replace('title = "x"', "title = [1]"),
     r"chapter #2 title must be a string, got \[1\]"),
])
def test_manifest_values_of_the_wrong_type_are_a_book_error_not_a_crash(tmp_path, text, message):
    with pytest.raises(bookmod.BookError, match=message):
        bookmod.read_book(write_book(tmp_path, text))


def test_chapter_names_pick_by_file_name_part_or_path(tmp_path, monkeypatch):
    sources = {"00_a": "# %%\n1\n", "01_b": "# %%\n2\n", "02_c": "# %%\n3\n"}
    book = bookmod.read_book(tiny_book(tmp_path, **sources))
    pick = lambda *names: [c.stem for c in bookmod.select_chapters(book, list(names))]  # noqa: E731
    assert pick() == ["00_a", "01_b", "02_c"]
    assert pick("02", "00_a") == ["00_a", "02_c"], "reading order, whatever the order of the names"
    assert pick("01_b.ipynb", str(tmp_path / "chapters" / "02_c.py")) == ["01_b", "02_c"]
    monkeypatch.chdir(tmp_path)
    assert pick("chapters/00_a.py", "0") == ["00_a", "01_b", "02_c"]


@pytest.mark.parametrize("names, unknown", [([""], "''"), (["00_a", "nonesuch"], "'nonesuch'"),
                                            (["  ", "01"], "'  '")])
def test_an_empty_or_unknown_chapter_name_is_an_error_not_a_silent_skip(tmp_path, names, unknown):
    book = bookmod.read_book(tiny_book(tmp_path, **{"00_a": "# %%\n1\n", "01_b": "# %%\n2\n"}))
    with pytest.raises(bookmod.BookError, match=f"no chapter matches {unknown}; the chapters are 00_a, 01_b$"):
        bookmod.select_chapters(book, names)


def test_run_with_an_unknown_chapter_name_stops_before_anything_runs(tmp_path):
    manifest = tiny_book(tmp_path, **{"00_a": "# %%\nprint(1)\n"})
    for names in ([""], ["00_a", "nonesuch"]):
        run = book_cli("--manifest", manifest, "run", *names, "--into", tmp_path / "out")
        assert_one_error_line(run, "no chapter matches", "the chapters are 00_a")
        assert "[1/" not in run.stdout and not (tmp_path / "out").exists()


def test_a_failing_chapter_is_one_line_naming_cell_line_exception_and_notebook(tmp_path, kernel):
    manifest = tiny_book(tmp_path, **{"00_x": DIVIDE, "01_after": "# %%\nprint('not run')\n"})
    run = book_cli("--manifest", manifest, "run", "--into", tmp_path / "out")
    notebook = tmp_path / "out" / "00_x.ipynb"
    assert_one_error_line(
        run, f"error: 00_x.py failed in cell {DIVIDE_CELL} ({tmp_path / 'chapters' / '00_x.py'} line "
             f"{DIVIDE_LINE}: `y = divide(x, 0)`): ValueError: cannot divide by zero; "
             f"the notebook as far as it ran is {notebook}")
    assert "01_after" not in run.stdout, "the course stops at the failing chapter"
    nb = jupytext.read(notebook)
    assert nb.cells[1].outputs[0]["text"] == "first cell ran\n"
    assert nb.cells[DIVIDE_CELL - 1].outputs[-1]["ename"] == "ValueError"


def test_refresh_of_a_failing_chapter_never_overwrites_the_committed_notebook(tmp_path, kernel):
    manifest = tiny_book(tmp_path, **{"00_x": DIVIDE})
    committed = tmp_path / "chapters" / "00_x.ipynb"
    committed.write_text("the committed notebook\n")
    run = book_cli("--manifest", manifest, "refresh")
    assert_one_error_line(run, "00_x.py failed in cell", f"is {tmp_path / '_build' / 'notebooks' / '00_x.ipynb'}")
    assert committed.read_text() == "the committed notebook\n"
    assert (tmp_path / "_build" / "notebooks" / "00_x.ipynb").is_file()


def test_a_dead_kernel_is_a_chapter_error_keeping_the_kernels_last_words(tmp_path, kernel):
    source = tmp_path / "00_dies.py"
    source.write_text("# %%\nimport os, time\nos.write(2, b'the last words of the kernel\\n')\n"
                      "time.sleep(0.5)\nos._exit(3)\n")
    died = r"00_dies.py: the kernel died in cell 1 \(.*line 2: `import os, time`\); the notebook as far as it ran is"
    with pytest.raises(bookmod.ChapterError, match=died) as err:
        bookmod.run_chapter(source, output_dir=tmp_path / "out", timeout=120)
    assert err.value.notebook == tmp_path / "out" / "00_dies.ipynb" and err.value.notebook.is_file()
    assert "the last words of the kernel" in (tmp_path / "out" / "00_dies.kernel-stderr.txt").read_text()


def test_a_cell_past_the_time_limit_is_a_chapter_error(tmp_path, kernel):
    source = tmp_path / "00_slow.py"
    source.write_text("# %%\nprint(1)\n\n# %%\nimport time\ntime.sleep(60)\n")
    with pytest.raises(bookmod.ChapterError, match="00_slow.py: a cell ran longer than the time limit of 2 s, "
                                                   r"in cell 2 \(.*00_slow.py line 5: `import time`\)"):
        bookmod.run_chapter(source, output_dir=tmp_path / "out", timeout=2)


def test_a_missing_kernel_is_one_line_saying_how_to_install_it(tmp_path, monkeypatch):
    from helpers import runner

    monkeypatch.setattr(runner, "KERNEL_NAME", "no-such-kernel-for-this-test")
    source = tmp_path / "00_a.py"
    source.write_text("# %%\nprint(1)\n")
    with pytest.raises(bookmod.BookError, match="'no-such-kernel-for-this-test' is not installed: run "
                                                "`python -m helpers.book kernel`"):
        bookmod.run_chapter(source, output_dir=tmp_path / "out")


def test_a_chapter_that_is_not_utf8_is_one_line_before_a_kernel_starts(tmp_path):
    source = tmp_path / "00_a.py"
    source.write_bytes(b"# %%\nprint('\xff')\n")
    with pytest.raises(bookmod.BookError, match=r"00_a.py: a chapter must be UTF-8 text: byte 0xff at line 2"):
        bookmod.run_chapter(source, output_dir=tmp_path / "out")


def test_a_bad_profile_is_one_line_for_the_commands_that_run_chapters(tmp_path):
    manifest = tiny_book(tmp_path, **{"00_a": "# %%\nprint(1)\n"})
    env = {**os.environ, "TRIPLET_COURSE_PROFILE": "bogus"}
    for command in (["check"], ["run", "--into", tmp_path / "out"], ["refresh"]):
        run = book_cli("--manifest", manifest, *command, env=env)
        assert run.stderr == ("error: TRIPLET_COURSE_PROFILE='bogus' is not a profile; "
                              "choose one of reader, quick, full\n") and run.returncode == 2, run.stderr[-3000:]
        assert "[1/" not in run.stdout
    listed = book_cli("--manifest", manifest, "list", env=env)
    assert listed.returncode == 0 and listed.stdout.strip() == str(tmp_path / "chapters" / "00_a.py"), \
        "a command that runs no chapter does not care about the profile"


@pytest.mark.parametrize("into, message", [("a-file", "is not a folder"), ("a-file/sub", "cannot create it")])
def test_an_output_folder_that_cannot_be_written_is_one_line_before_anything_runs(tmp_path, into, message):
    manifest = tiny_book(tmp_path, **{"00_a": "# %%\nprint(1)\n"})
    (tmp_path / "a-file").write_text("")
    run = book_cli("--manifest", manifest, "run", "--into", tmp_path / into)
    assert_one_error_line(run, f"the notebooks folder {tmp_path / into}", message)
    assert "[1/" not in run.stdout


def executed_notebook(path, text="an output"):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "print(1)", execution_count=1, outputs=[nbformat.v4.new_output("stream", name="stdout", text=text)])])
    nbformat.write(nb, path)


def test_render_problems_are_one_line(tmp_path):
    manifest = tiny_book(tmp_path, **{"00_a": "# %%\nprint(1)\n"})
    assert_one_error_line(book_cli("--manifest", manifest, "render", "--notebooks", tmp_path / "nowhere"),
                          f"{tmp_path / 'nowhere'}: no such folder")
    assert_one_error_line(book_cli("--manifest", manifest, "render"), "00_a.ipynb does not exist: run the chapter")
    executed_notebook(tmp_path / "chapters" / "00_a.ipynb")
    (tmp_path / "a-file").write_text("")
    assert_one_error_line(book_cli("--manifest", manifest, "render", "--output", tmp_path / "a-file"),
                          f"{tmp_path / 'a-file'}: cannot make it the book's folder")
    (tmp_path / "chapters" / "00_a.ipynb").write_text("{not json")
    assert_one_error_line(book_cli("--manifest", manifest, "render", "--output", tmp_path / "out"),
                          "00_a.ipynb: not a notebook nbformat can read")


@pytest.mark.parametrize("args, message", [
    ([], "the following arguments are required: command"),
    (["frob"], "invalid choice: 'frob'"),
    (["run", "--bogus"], "unrecognized arguments: --bogus"),
    (["list", "--ipynb", "extra"], "unrecognized arguments: extra"),
])
def test_usage_mistakes_are_one_line(args, message):
    assert_one_error_line(book_cli(*args), message, "(see python -m helpers.book --help)")


def test_a_reader_closing_the_pipe_is_no_traceback():
    proc = subprocess.Popen([sys.executable, "-m", "helpers.book", "list"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # before the runner writes a line: `... | head -0`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141 and err == "", err


def test_an_unexpected_error_is_one_line_with_its_type_unless_debugging(monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("boom\n  at the second line")

    monkeypatch.setattr(bookmod, "read_book", broken)
    monkeypatch.delenv("TRIPLET_COURSE_DEBUG", raising=False)
    assert bookmod.main(["list"]) == 2
    assert capsys.readouterr().err == ("error: RuntimeError: boom at the second line "
                                       "(TRIPLET_COURSE_DEBUG=1 shows the traceback)\n")
    monkeypatch.setenv("TRIPLET_COURSE_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        bookmod.main(["list"])


def test_one_line_drops_ansi_codes_and_line_breaks():
    text = "\x1b[0;31mValueError\x1b[0m: first\n  second\tthird\x07 \x1b]0;title\x07end"
    assert bookmod.one_line(text) == "ValueError: first second third end"
    assert bookmod.one_line("x" * 50, limit=10) == "x" * 9 + "…"


# -------------------------------------------------------------------------------- Ctrl-C, any time
# Ctrl-C ends the runner with one line starting "interrupted" and exit status 130 (as `python -m
# helpers` does), and leaves no kernel running — whenever it comes. The terminal sends SIGINT to
# the runner's process group: so do these tests. The kernel sits in its own session (jupyter_client
# starts it so), as in a terminal.

SLEEPER = ("# %%\nprint('before')\n\n"
           "# %%\nimport os, pathlib, time\npathlib.Path('started').write_text('x')\ntime.sleep(60)\n")

#: Injects Ctrl-C at a chosen import, in the runner or (``in kernel``) in the kernel, at its parent.
SITECUSTOMIZE = '''
import os, signal, sys
_target, _where = os.environ.pop("TEST_SIGINT_AT_IMPORT", ""), os.environ.pop("TEST_SIGINT_IN", "runner")
_name, _, _nth = _target.partition("#")  # "helpers.book#2": its second lookup
if _target and (_where == "kernel") == ("helpers.kernel" in sys.orig_argv):
    class _Trip:
        seen = 0

        def find_spec(self, name, path=None, target=None):
            if name == _name:
                self.seen += 1
                if self.seen == int(_nth or 1):
                    sys.meta_path.remove(self)
                    pid = os.getppid() if _where == "kernel" else os.getpid()
                    if os.environ.get("TEST_SIGINT_IN_EXEC"):  # as if it came while exec() ran a string
                        exec(f"import os, signal\\nos.kill({pid}, signal.SIGINT)\\nfor _ in range(9): pass")
                    os.kill(pid, signal.SIGINT)
            return None
    sys.meta_path.insert(0, _Trip())
elif _target:  # the other process of the pair: pass the request on
    os.environ.update(TEST_SIGINT_AT_IMPORT=_target, TEST_SIGINT_IN=_where)
'''


def kernels_with(token):
    """Processes whose environment holds ``token``: what is left of a runner and its kernel."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if token.encode() in environ.read_bytes():
                found.append(environ.parent.name)
        except OSError:
            pass
    return found


def start_runner(tmp_path, manifest, **env):
    token = f"TRIPLET_TEST_TOKEN_{os.getpid()}_{time.monotonic_ns()}"
    env = {**os.environ, "TRIPLET_TEST_TOKEN": token, **env}
    proc = subprocess.Popen([sys.executable, "-m", "helpers.book", "--manifest", str(manifest), "run", "--into",
                             str(tmp_path / "out")], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    return proc, token


def assert_interrupted(proc, token):
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (proc.returncode, err[-3000:])
    assert err.startswith("interrupted") and err.count("\n") == 1, err[-3000:]
    assert "Traceback" not in err and "\x1b" not in err
    deadline = time.monotonic() + 15
    while kernels_with(token) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not kernels_with(token), "a kernel outlived the interrupted runner"
    return err


needs_proc = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux's /proc")


@needs_proc
@pytest.mark.parametrize("delay", [0.3, 1.0, 2.0])
def test_ctrl_c_in_the_first_seconds_is_one_line_and_130(tmp_path, kernel, delay):
    proc, token = start_runner(tmp_path, tiny_book(tmp_path, **{"00_a": SLEEPER}))
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGINT)
    assert_interrupted(proc, token)


NOTHING_RAN = "interrupted: nothing ran\n"
NOT_WRITTEN = "interrupted: 00_a.py did not finish; its notebook was not written\n"


@needs_proc
@pytest.mark.parametrize("module, message", [
    ("helpers.book#2", NOTHING_RAN), ("argparse", NOTHING_RAN), ("tomllib", NOTHING_RAN),
    ("helpers.runner", NOTHING_RAN), ("jupytext", NOT_WRITTEN), ("nbclient", NOT_WRITTEN), ("zmq", NOT_WRITTEN)])
def test_ctrl_c_while_the_runner_imports_is_one_line_and_130(tmp_path, kernel, module, message):
    """Deterministic: SIGINT arrives exactly while ``module`` is being imported (a sitecustomize on
    PYTHONPATH trips it), from the runner's first import on: ``helpers.book#2`` is the import of
    helpers.book by the guard at its top (the first lookup is runpy's, before any code of ours runs:
    that is the window Python reports itself, see helpers.book's docstring)."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
    proc, token = start_runner(tmp_path, tiny_book(tmp_path, **{"00_a": SLEEPER}),
                               PYTHONPATH=str(tmp_path / "site"), TEST_SIGINT_AT_IMPORT=module)
    assert assert_interrupted(proc, token) == message


@needs_proc
@pytest.mark.parametrize("module, message", [("tomllib", NOTHING_RAN), ("nbclient", NOT_WRITTEN)])
def test_ctrl_c_that_went_through_exec_of_a_string_still_exits_130(tmp_path, kernel, module, message):
    """Under ``python -m``, CPython ends a process by SIGINT at exit (status -2, not 130) once a
    KeyboardInterrupt has passed through ``exec`` or ``eval`` of a string — which dataclasses and
    namedtuples run at every import — even though the runner caught it and said so."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
    proc, token = start_runner(tmp_path, tiny_book(tmp_path, **{"00_a": SLEEPER}),
                               PYTHONPATH=str(tmp_path / "site"), TEST_SIGINT_AT_IMPORT=module,
                               TEST_SIGINT_IN_EXEC="1")
    assert assert_interrupted(proc, token) == message


@needs_proc
def test_ctrl_c_while_the_kernel_starts_stops_the_kernel(tmp_path, kernel):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
    proc, token = start_runner(tmp_path, tiny_book(tmp_path, **{"00_a": SLEEPER}),
                               PYTHONPATH=str(tmp_path / "site"), TEST_SIGINT_AT_IMPORT="ipykernel.kernelapp",
                               TEST_SIGINT_IN="kernel")
    assert assert_interrupted(proc, token) == "interrupted: 00_a.py stopped before its first cell ran\n"
    assert not (tmp_path / "chapters" / "started").exists()


@needs_proc
def test_ctrl_c_while_a_cell_runs_stops_the_kernel_and_keeps_the_notebook(tmp_path, kernel):
    proc, token = start_runner(tmp_path, tiny_book(tmp_path, **{"00_a": SLEEPER}))
    deadline = time.monotonic() + 120
    while not (tmp_path / "chapters" / "started").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)
    err = assert_interrupted(proc, token)
    notebook = tmp_path / "out" / "00_a.ipynb"
    assert err == (f"interrupted: 00_a.py stopped in cell 2 ({tmp_path / 'chapters' / '00_a.py'} line 5: "
                   f"`import os, pathlib, time`); the notebook as far as it ran is {notebook}\n")
    assert jupytext.read(notebook).cells[0].outputs[0]["text"] == "before\n"


@needs_proc
def test_ctrl_c_while_the_kernel_shuts_down_after_the_last_cell_still_stops_the_course(tmp_path, kernel):
    """The chapter has run to its end; while its kernel shuts down (its atexit sends the runner
    SIGINT), Ctrl-C still stops the course — the next chapter never starts."""
    last = ("# %%\nprint('ran')\n\n# %%\nimport atexit, os, signal, time\n"
            "atexit.register(lambda: (os.kill(os.getppid(), signal.SIGINT), time.sleep(2)))\n")
    proc, token = start_runner(tmp_path, tiny_book(tmp_path, **{"00_a": last, "01_b": "# %%\nprint(2)\n"}))
    err = assert_interrupted(proc, token)
    assert err.startswith(f"interrupted: 00_a.py stopped in cell 2 ({tmp_path / 'chapters' / '00_a.py'} line 5: "
                          "`import atexit, os, signal, time`)"), err
    assert not (tmp_path / "out" / "01_b.ipynb").exists()
