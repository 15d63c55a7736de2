"""``python -m helpers.exercises``: the exercises for instructors and autograders.

    list                   every exercise: key, kind, title
    solutions 4.1          the solution of one exercise (``solutions 4``: a whole chapter)
    check-solutions        every check against every right and wrong answer; exit 1 on a failure
    grade FILE.py          grade a student's ``ANSWERS = {"4.1": ..., ...}``; ``--json`` for a machine

Errors (a missing file, no ANSWERS, an unknown key) are one ``error: …`` line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import runpy
import sys
import textwrap
from pathlib import Path

from helpers import exercises as ex


class UsageError(Exception):
    """A mistake in what was asked for: reported in one line, exit status 2."""


def _selected(which: str) -> list[ex.Exercise]:
    known = ex.exercises()
    if which in known:
        return [known[which]]
    if which.isdigit():
        chosen = [e for e in known.values() if e.chapter == int(which)]
        if chosen:
            return chosen
        raise UsageError(f"chapter {which} has no exercises; chapters with exercises: "
                         f"{', '.join(sorted({str(e.chapter) for e in known.values()}, key=int))}")
    raise UsageError(f"no exercise {which!r}; run `python -m helpers.exercises list` for the keys")


def cmd_list(args) -> int:
    known = ex.exercises()
    print(f"{'key':<6}{'kind':<12}title")
    for e in known.values():
        print(f"{e.key:<6}{e.kind:<12}{e.title}")
    print(f"\n{len(known)} exercises in {len({e.chapter for e in known.values()})} chapters")
    return 0


def cmd_solutions(args) -> int:
    from helpers.exercises import solutions as sol

    chosen = _selected(args.which)
    found = sol.load()
    for number, e in enumerate(chosen):
        if number:
            print()
        print(f"━━ Exercise {e.key} ({e.kind}): {e.title}")
        if e.key not in found.right:
            print("   no solution recorded (helpers/exercises/solutions/)")
            continue
        source, answer = sol.shown(found.right[e.key])
        where = found.module[e.key].replace(".", "/") + ".py"
        print(f"── right answer ({where}):")
        print(textwrap.indent(source.rstrip(), "    "))
        if not callable(answer):
            print(f"    → {answer!r}")
        print("── explanation:")
        print(textwrap.indent(textwrap.fill(found.explain.get(e.key, "(none)"), 96), "    "))
        wrong = found.wrong.get(e.key, [])
        if wrong:
            print(f"── {len(wrong)} typical wrong answers and the hint each gets:")
            for factory in wrong:
                hint = ex.evaluate(e.key, factory()) or "(passes — a bug: run check-solutions)"
                print(textwrap.fill(hint, 96, initial_indent="    - ", subsequent_indent="      "))
    return 0


def cmd_check_solutions(args) -> int:
    from helpers.exercises import solutions as sol

    found = sol.load()
    keys = sorted(set(ex.exercises()) | set(found.right) | set(found.wrong) | set(found.explain), key=ex.order)
    failed = 0
    for key in keys:
        problems = sol.verify(key, found)
        e = ex.exercises().get(key)
        label = f"{key:<6}{e.kind if e else '?':<12}"
        if problems:
            failed += 1
            print(f"FAIL  {label}{'; '.join(problems)}")
        else:
            print(f"ok    {label}right answer passes; {len(found.wrong[key])} wrong answers get hints")
    print(f"\n{len(keys) - failed} of {len(keys)} exercises check out" + ("" if not failed else f"; {failed} failed"))
    return 1 if failed else 0


def _load_answers(path: Path) -> dict:
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    sys.path.insert(0, str(path.resolve().parent))  # the student's own modules beside the file
    try:
        with contextlib.redirect_stdout(sys.stderr):  # a student's prints must not mix with the grades
            namespace = runpy.run_path(str(path), run_name="__student__")
    except BaseException as err:  # noqa: BLE001 — any failure of the student's file is one line
        if isinstance(err, KeyboardInterrupt):
            raise
        detail = str(err).splitlines()[0] if str(err) else ""
        raise UsageError(f"{path} failed to run: {type(err).__name__}" + (f": {detail}" if detail else "")) from None
    answers = namespace.get("ANSWERS")
    if not isinstance(answers, dict):
        raise UsageError(f"{path} defines no ANSWERS dict; write ANSWERS = {{\"4.1\": map_at_r, ...}}")
    unknown = [k for k in answers if k not in ex.exercises()]
    if unknown:
        raise UsageError(f"{path}: unknown exercise key(s) {', '.join(map(repr, unknown))}; "
                         "run `python -m helpers.exercises list` for the keys")
    return answers


def cmd_grade(args) -> int:
    answers = _load_answers(Path(args.file))
    chosen = [e for e in ex.exercises().values() if not args.chapter or e.chapter in args.chapter]
    if not chosen:
        raise UsageError(f"chapter(s) {', '.join(map(str, args.chapter))} have no exercises")
    rows = []
    for e in chosen:
        if e.key not in answers or answers[e.key] is None:
            rows.append({"key": e.key, "title": e.title, "status": "missing", "hint": None})
            continue
        with contextlib.redirect_stdout(sys.stderr):
            hint = ex.evaluate(e.key, answers[e.key])
        rows.append({"key": e.key, "title": e.title, "status": "pass" if hint is None else "hint", "hint": hint})
    score = sum(row["status"] == "pass" for row in rows)
    answered = sum(row["status"] != "missing" for row in rows)
    if args.json:
        print(json.dumps({"file": args.file, "passed": score, "answered": answered, "total": len(rows),
                          "exercises": rows}, ensure_ascii=False, indent=1))
    else:
        for row in rows:
            shown = {"pass": "pass", "hint": "hint", "missing": "--"}[row["status"]]
            line = f"{shown:<6}{row['key']:<6}{row['title']}"
            print(line + (f": {row['hint']}" if row["status"] == "hint" else ""))
        print(f"\ntotal: {score} of {len(rows)} passed ({answered} answered)")
    return 0 if score == len(rows) else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.exercises",
                                     description="The course's exercises, for instructors and autograders.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("list", help="every exercise: key, kind, title").set_defaults(run=cmd_list)
    show = commands.add_parser("solutions", help="the solution of an exercise (4.1) or a chapter (4)")
    show.add_argument("which", metavar="KEY", help="an exercise key such as 4.1, or a chapter number such as 4")
    show.set_defaults(run=cmd_solutions)
    commands.add_parser("check-solutions", help="run every check against every right and wrong answer"
                        ).set_defaults(run=cmd_check_solutions)
    grade = commands.add_parser("grade", help="grade a student's file that defines ANSWERS = {key: answer}")
    grade.add_argument("file", metavar="FILE.py")
    grade.add_argument("--chapter", type=int, action="append", help="grade only this chapter (repeatable)")
    grade.add_argument("--json", action="store_true", help="print the grades as JSON")
    grade.set_defaults(run=cmd_grade)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
