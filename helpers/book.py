"""The course runner, ``python -m helpers.book`` (chapter 0; ``make course``, ``make notebooks``).

It reads the manifest, ``book.toml`` (``helpers.manifest``: mdBook's ``[book]`` table and an
ordered ``[[chapters]]`` array), executes chapters one by one (``helpers.runner``) and renders the
HTML book (``helpers.render``). Every name those modules offer the course is importable from here.

Where the executed notebooks go: ``run`` (``make course``) writes them into ``_build/notebooks/``,
which git ignores, so running the course never changes a tracked file; ``refresh`` (``make
notebooks``, for maintainers after editing a chapter) rewrites the committed ``chapters/*.ipynb``.

Command line::

    python -m helpers.book kernel            # register the course's Jupyter kernel
    python -m helpers.book check             # validate book.toml (and TRIPLET_COURSE_PROFILE)
    python -m helpers.book list [--ipynb]    # chapter files in reading order
    python -m helpers.book run [CHAPTER…]    # execute chapters into _build/notebooks
    python -m helpers.book refresh [CHAPTER…]  # execute chapters into the committed chapters/*.ipynb
    python -m helpers.book render [--notebooks DIR]  # the HTML book in _build/book

A CHAPTER is part of a chapter's file name (``04``, ``04_training``) or its path; a name that picks
no chapter, the empty one included, stops the command before anything runs.

Every failure ends with one line on stderr, ``error: …``, and exit status 2: a usage mistake, a
broken manifest, an unknown ``TRIPLET_COURSE_PROFILE`` (``check``, ``run``, ``refresh`` and ``lab``
check it first), a folder that cannot be written, a chapter that fails — its line names the
chapter, the cell, that cell's line in the ``.py``, the exception, and where the notebook as far
as it ran was written: the ``run`` folder, or ``_build/notebooks`` for ``refresh``, never over a
committed notebook. Ctrl-C ends with one line, ``interrupted: …``, and exit status 130 (as in
``python -m helpers``), the kernel of a running chapter stopped — at any moment from the first
statement of this file on. Before it, while Python starts (its ``site`` module and the ``.pth``
files of the installed packages) and imports the package ``helpers`` (whose ``__init__`` imports
nothing), Python reports a Ctrl-C itself, with a traceback: nothing of the course runs yet then.
"""
from __future__ import annotations

if __name__ == "__main__":
    # ``python -m helpers.book`` runs this file as ``__main__``: import it again as ``helpers.book``
    # and run ``main`` inside one guard, so that a Ctrl-C while its modules import (or after ``main``
    # returned) also ends with one line and status 130. Once ``main`` is done a Ctrl-C is ignored:
    # it could only break the interpreter's shutdown into tracebacks.
    import sys

    try:
        import signal

        from helpers.book import main

        status = main()
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except KeyboardInterrupt:
        import signal  # again: the first import may be the one that was interrupted

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("interrupted: nothing ran", file=sys.stderr)
        status = 130
    from helpers._quiet import exit_with

    exit_with(status)

import argparse
import os
import sys
import time
from pathlib import Path

from helpers.lab import (KERNEL_DISPLAY_NAME, KERNEL_NAME, LabSetupError, install_kernel,  # noqa: F401
                         install_lab_settings, lab_command)
from helpers.manifest import (BOOK_KEYS, Book, BookError, Chapter, find_root, read_book,  # noqa: F401
                              select_chapters)
from helpers.runner import (ChapterError, ChapterInterrupted, one_line, relative, run_chapter,  # noqa: F401
                            stable_cell_ids)

#: Where ``run`` (``make course``) writes the executed notebooks, relative to the book's root.
BUILD_NOTEBOOKS = Path("_build") / "notebooks"

#: The manifest (``helpers.manifest``), the runner (``helpers.runner``) and the Jupyter set-up
#: (``helpers.lab``), all reachable from here as before they were split, and the command line.
__all__ = ["BOOK_KEYS", "BUILD_NOTEBOOKS", "Book", "BookError", "Chapter", "ChapterError",
           "ChapterInterrupted", "KERNEL_DISPLAY_NAME", "KERNEL_NAME", "LabSetupError", "find_root",
           "install_kernel", "install_lab_settings", "lab_command", "main", "read_book", "run_chapter",
           "run_course", "select_chapters", "stable_cell_ids"]


def _writable_folder(folder: Path, what: str) -> None:
    """Create ``folder`` if needed and check that files can be written in it — before a chapter
    runs for minutes only to find it cannot save its notebook."""
    if folder.exists() and not folder.is_dir():
        raise BookError(f"{what} {relative(folder)} is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BookError(f"{what} {relative(folder)}: cannot create it ({err.strerror})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BookError(f"{what} {relative(folder)} is not writable")


def run_course(book: Book, only: list[str] | None = None, *,
               output_dir: str | Path | None = None, jobs: int = 1) -> dict[str, float]:
    """Run the chapters (all, or those ``only`` picks: see :func:`select_chapters`) in order,
    writing their notebooks into ``output_dir`` (None: the committed ``chapters/*.ipynb``). A
    chapter that fails stops the course (:func:`run_chapter`); its notebook as far as it ran goes
    into ``output_dir``, or ``_build/notebooks`` when the committed notebooks are the target.
    ``jobs`` > 1 runs that many chapters at a time, each in its own process, a chapter after the
    ones it ``needs`` (:mod:`helpers.side_by_side`)."""
    chosen = select_chapters(book, only)
    if output_dir is None:
        _writable_folder(book.src, "the chapters folder")
        failed_dir = book.root / BUILD_NOTEBOOKS
    else:
        _writable_folder(Path(output_dir), "the notebooks folder")
        failed_dir = output_dir
    times, total = {}, time.perf_counter()
    if jobs > 1 and len(chosen) > 1:
        from helpers.side_by_side import run_side_by_side

        times = run_side_by_side(book, chosen, jobs=jobs,
                                 output_dir=None if output_dir is None else Path(output_dir).resolve())
        print(f"{len(chosen)} chapter(s) in {time.perf_counter() - total:.1f} s", flush=True)
        return times
    for n, chapter in enumerate(chosen, 1):
        print(f"[{n}/{len(chosen)}] {chapter.path.name} — {chapter.title} …", flush=True)
        try:
            times[chapter.path.name] = seconds = run_chapter(chapter, output_dir=output_dir,
                                                             failed_dir=failed_dir)
        except ChapterInterrupted:
            raise
        except KeyboardInterrupt:  # before its kernel started, or while its notebook was written
            raise ChapterInterrupted(f"{chapter.path.name} did not finish; its notebook was not written") \
                from None
        print(f"      done in {seconds:.1f} s", flush=True)
    print(f"{len(chosen)} chapter(s) in {time.perf_counter() - total:.1f} s", flush=True)
    return times


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, like every other failure, instead of usage + message
        raise BookError(f"{self.prog}: {message} (see python -m helpers.book --help)")


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"--jobs must be a whole number ≥ 1, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m helpers.book", description=__doc__.split("\n")[0])
    parser.add_argument("--manifest", help="path of book.toml (default: found from the current folder)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="validate book.toml against the chapters folder, and the run profile")
    sub.add_parser("kernel", help=f"register the '{KERNEL_NAME}' Jupyter kernel for this environment")
    sub.add_parser("lab-settings", help="install the course's JupyterLab settings for this environment")
    sub.add_parser("lab", help="start JupyterLab on the chapters (make lab); other options go to JupyterLab")
    lister = sub.add_parser("list", help="print the chapter files in reading order")
    lister.add_argument("--ipynb", action="store_true", help="print the notebooks instead of the sources")
    runner = sub.add_parser("run", help=f"execute chapters into {BUILD_NOTEBOOKS}/ (tracked files untouched)")
    runner.add_argument("chapters", nargs="*", help="run only the chapters whose file name contains these")
    runner.add_argument("--into", default=None, metavar="DIR",
                        help=f"folder for the executed notebooks (default: {BUILD_NOTEBOOKS})")
    refresh = sub.add_parser("refresh", help="execute chapters and rewrite the committed chapters/*.ipynb")
    refresh.add_argument("chapters", nargs="*", help="refresh only the chapters whose file name contains these")
    for command in (runner, refresh):
        command.add_argument("--jobs", type=_jobs, default=1, metavar="N",
                             help="run N chapters at a time, each in its own kernel (default 1; "
                                  "make course uses 2)")
    render = sub.add_parser("render", help="render the executed chapters as an HTML book")
    render.add_argument("--output", default=None, help="output folder (default: _build/book)")
    render.add_argument("--notebooks", default=None, metavar="DIR",
                        help="render the notebooks in DIR (e.g. _build/notebooks) instead of the committed ones")
    return parser


def main(argv: list[str] | None = None) -> int:
    """The command line (see this module's docstring). Returns 0; 2 after printing one
    ``error: …`` line on stderr; 130 after Ctrl-C, printing one ``interrupted: …`` line; 141,
    silently, when the reader of its output closed the pipe (``… list | head -1``). An error that
    is none of the course's own says its type, and ``TRIPLET_COURSE_DEBUG=1`` shows its traceback
    instead, as in ``python -m helpers``."""
    try:
        _command(argv)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return 0
    except KeyboardInterrupt as err:  # a chapter's says where it stopped
        _say(f"interrupted: {err or 'the command did not finish'}")
        return 130
    except BrokenPipeError:  # `... list | head -1`: the reader has seen enough; no error then
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # what a shell reports for a program that SIGPIPE ended
    except OSError as err:
        _say(f"error: {err.filename}: {err.strerror}" if err.filename and err.strerror else f"error: {err}")
        return 2
    except SystemExit:  # --help
        raise
    except BaseException as err:  # ours say what went wrong; anything else says its type too
        if type(err).__module__.startswith("helpers."):
            _say(f"error: {err}")
        elif os.environ.get("TRIPLET_COURSE_DEBUG"):  # as in python -m helpers
            raise
        else:
            _say(f"error: {type(err).__name__}: {err} (TRIPLET_COURSE_DEBUG=1 shows the traceback)")
        return 2


def _command(argv: list[str] | None) -> None:
    parser = _parser()
    args, lab_options = parser.parse_known_args(argv)
    if lab_options and args.command != "lab":
        parser.error(f"unrecognized arguments: {' '.join(lab_options)}")
    if args.command in ("check", "run", "refresh", "lab"):
        from helpers.config import get_profile

        get_profile()  # a bad TRIPLET_COURSE_PROFILE fails here, not in the first cell of every chapter
        _absolute_data_path()
    if args.command == "lab-settings":
        print(f"JupyterLab settings written to {relative(install_lab_settings())}")
        return
    if args.command == "kernel":
        print(f"kernel '{KERNEL_NAME}' installed in {relative(install_kernel())}")
        return
    book = read_book(args.manifest)
    if args.command == "check":
        print(f"{book.title}: {len(book.chapters)} chapters, manifest OK")
    elif args.command == "lab":
        command = lab_command(book, lab_options)
        os.execv(command[0], command)  # JupyterLab replaces this process, Ctrl+C and all
    elif args.command == "list":
        for c in book.chapters:
            print(relative(c.notebook if args.ipynb else c.path))
    elif args.command == "run":
        into = Path(args.into) if args.into else book.root / BUILD_NOTEBOOKS
        run_course(book, args.chapters, output_dir=into, jobs=args.jobs)
        print(f"notebooks written to {relative(into)}")
    elif args.command == "refresh":
        run_course(book, args.chapters, jobs=args.jobs)
    elif args.command == "render":
        from helpers.render import render_book

        index = render_book(book, args.output, notebooks=args.notebooks)
        print(f"book written to {relative(index)}")


def _absolute_data_path() -> None:
    """Chapters run from chapters/: a relative ``TRIPLET_COURSE_DATA`` path (``_build/mnist_standin``)
    is made absolute here, against the folder the command was started in, so kernels find it."""
    from helpers.config import DATA_ENV

    value = os.environ.get(DATA_ENV, "").strip()
    if value and value.lower() not in ("auto", "keras", "offline") and not os.path.isabs(value) \
            and os.path.exists(value):
        os.environ[DATA_ENV] = os.path.abspath(value)


def _say(line: str) -> None:
    try:
        print(one_line(line), file=sys.stderr, flush=True)
    except (OSError, ValueError):  # no stderr left to tell
        pass

