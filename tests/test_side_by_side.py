"""helpers.side_by_side: `python -m helpers.book run --jobs N` runs chapters side by side, a chapter
after the ones it `needs`, with a sequential run's lines and one-line failures."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import book as bookmod
from helpers.manifest import BookError, read_book

ROOT = Path(__file__).resolve().parents[1]
HEAD = '[book]\ntitle = "T"\nauthors = ["A"]\ndescription = "D"\nlanguage = "en"\nsrc = "chapters"\n'
#: Each chapter notes when it started and ended (wall clock) in a file beside the book.
CELL = ("# %%\nimport pathlib, time\nstart = time.time()\ntime.sleep({sleep})\n"
        "pathlib.Path({log!r}).open('a').write(f'{name} {{start}} {{time.time()}}\\n')\n{extra}")


def make_book(root, chapters):
    """chapters: [(name, sleep, needs, extra code)] in book order."""
    (root / "chapters").mkdir(parents=True)
    text = HEAD
    for name, sleep, needs, extra in chapters:
        (root / "chapters" / f"{name}.py").write_text(
            CELL.format(sleep=sleep, log=str(root / "times.txt"), name=name, extra=extra))
        text += f'\n[[chapters]]\npath = "chapters/{name}.py"\ntitle = "{name} title"\n'
        if needs:
            text += "needs = [" + ", ".join(f'"chapters/{n}.py"' for n in needs) + "]\n"
    (root / "book.toml").write_text(text)
    return root / "book.toml"


def run(manifest, *args):
    return subprocess.run([sys.executable, "-m", "helpers.book", "--manifest", str(manifest), *args],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})


@pytest.fixture(scope="module", autouse=True)
def kernel():
    bookmod.install_kernel()


def test_two_jobs_run_side_by_side_and_a_needed_chapter_first(tmp_path):
    manifest = make_book(tmp_path, [("00_a", 4, [], ""), ("01_b", 4, [], ""), ("02_c", 1, ["01_b"], "")])
    done = run(manifest, "run", "--jobs", "2", "--into", tmp_path / "out")
    assert done.returncode == 0, done.stderr[-2000:]
    times = {n: (float(s), float(e)) for n, s, e in (line.split() for line in (tmp_path / "times.txt").read_text().splitlines())}
    # 01_b is needed, so it starts first beside 00_a; the two overlap; 02_c starts after 01_b ended.
    assert times["00_a"][0] < times["01_b"][1] and times["01_b"][0] < times["00_a"][1], times
    assert times["02_c"][0] >= times["01_b"][1], times
    for name in ("00_a", "01_b", "02_c"):
        nb = json.loads((tmp_path / "out" / f"{name}.ipynb").read_text())
        assert nb["cells"][0]["execution_count"] == 1
    # Each chapter's two lines come together, numbered by its place in the book.
    blocks = re.findall(r"^\[(\d)/3\] (\S+) — (\S+) title …\n +done in [\d.]+ s$", done.stdout, re.M)
    assert sorted(blocks) == [("1", "00_a.py", "00_a"), ("2", "01_b.py", "01_b"), ("3", "02_c.py", "02_c")]
    assert re.search(r"^3 chapter\(s\) in [\d.]+ s$", done.stdout, re.M)


def test_a_failing_chapter_stops_the_run_in_one_line_and_interrupts_the_other(tmp_path):
    manifest = make_book(tmp_path, [("00_a", 30, [], ""), ("01_b", 1, [], "raise ValueError('broken on purpose')"),
                                    ("02_c", 1, [], "")])
    failed = run(manifest, "run", "--jobs", "2", "--into", tmp_path / "out")
    assert failed.returncode == 2, failed.stderr[-2000:]
    assert failed.stderr.count("\n") == 1 and failed.stderr.startswith("error: 01_b.py failed in cell 1"), failed.stderr
    assert "ValueError: broken on purpose" in failed.stderr and "Traceback" not in failed.stderr
    assert not (tmp_path / "out" / "02_c.ipynb").exists(), "no chapter starts after a failure"
    logged = (tmp_path / "times.txt").read_text() if (tmp_path / "times.txt").exists() else ""
    assert "00_a" not in logged, "the chapter still running was interrupted, not left to finish"


def test_one_job_keeps_the_sequential_runner(tmp_path):
    manifest = make_book(tmp_path, [("00_a", 0, [], ""), ("01_b", 0, [], "")])
    done = run(manifest, "run", "--jobs", "1", "--into", tmp_path / "out")
    assert done.returncode == 0, done.stderr[-2000:]
    assert re.search(r"^\[1/2\] 00_a.py — 00_a title …\n +done in [\d.]+ s\n\[2/2\] 01_b.py", done.stdout, re.M)


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_a_bad_job_count_is_one_line(tmp_path, value):
    manifest = make_book(tmp_path, [("00_a", 0, [], "")])
    bad = run(manifest, "run", "--jobs", value)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--jobs must be a whole number" in bad.stderr


def test_needs_must_name_an_earlier_chapter(tmp_path):
    manifest = make_book(tmp_path, [("00_a", 0, ["01_b"], ""), ("01_b", 0, [], "")])
    with pytest.raises(BookError, match=r"chapter #1 needs 'chapters/01_b.py', which is not an earlier chapter"):
        read_book(manifest)


def test_the_course_declares_that_chapter_5_reads_chapter_4():
    chapters = {c.path.name: c for c in read_book(ROOT / "book.toml").chapters}
    assert [p.name for p in chapters["05_embedding_analysis.py"].needs] == ["04_training.py"]
