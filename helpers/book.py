"""The course manifest (``book.toml``) and the course runner (chapter 0; ``make course``).

``book.toml`` uses mdBook's keys so it reads familiar: a ``[book]`` table (``title``, ``authors``,
``description``, ``language``, ``src``) and an ordered ``[[chapters]]`` array, each with ``path``
(``"chapters/00_setup_and_data.py"``), ``title`` and optionally ``summary``. ``read_book`` rejects
a broken manifest with a clear error; ``run_course`` executes every chapter in order, writing each
``.ipynb`` (with outputs) from its ``.py``.

Where the executed notebooks go: ``run`` (``make course``) writes them into ``_build/notebooks/``,
which git ignores, so running the course never changes a tracked file; ``refresh`` (``make
notebooks``, for maintainers after editing a chapter) rewrites the committed ``chapters/*.ipynb``.

Command line::

    python -m helpers.book kernel            # register the course's Jupyter kernel
    python -m helpers.book check             # validate book.toml
    python -m helpers.book list [--ipynb]    # chapter files in reading order
    python -m helpers.book run [CHAPTER…]    # execute chapters into _build/notebooks
    python -m helpers.book refresh [CHAPTER…]  # execute chapters into the committed chapters/*.ipynb
    python -m helpers.book render [--notebooks DIR]  # the HTML book in _build/book
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from helpers.lab import (KERNEL_DISPLAY_NAME, KERNEL_NAME, LabSetupError, install_kernel,  # noqa: F401
                         install_lab_settings, lab_command)

BOOK_KEYS = ("title", "authors", "description", "language", "src")
#: Where ``run`` (``make course``) writes the executed notebooks, relative to the book's root.
BUILD_NOTEBOOKS = Path("_build") / "notebooks"


class BookError(ValueError):
    """book.toml is missing or broken, or disagrees with the chapters folder."""


@dataclass(frozen=True)
class Chapter:
    path: Path  # the .py source, absolute
    title: str
    summary: str = ""

    @property
    def notebook(self) -> Path:
        return self.path.with_suffix(".ipynb")

    @property
    def stem(self) -> str:
        return self.path.stem


@dataclass(frozen=True)
class Book:
    root: Path
    title: str
    authors: tuple[str, ...]
    description: str
    language: str
    src: Path
    chapters: tuple[Chapter, ...] = field(default_factory=tuple)


def find_root(start: Path | None = None) -> Path:
    """The folder holding book.toml: ``start`` or one of its parents, else this package's parent."""
    for folder in [Path(start or Path.cwd()).resolve(), *Path(start or Path.cwd()).resolve().parents]:
        if (folder / "book.toml").is_file():
            return folder
    here = Path(__file__).resolve().parent.parent
    if (here / "book.toml").is_file():
        return here
    raise BookError(f"no book.toml in {Path(start or Path.cwd()).resolve()} or its parents")


def read_book(manifest: str | Path | None = None) -> Book:
    """Read and validate ``book.toml`` (default: the one above the current folder)."""
    manifest = Path(manifest) if manifest else find_root() / "book.toml"
    if not manifest.is_file():
        raise BookError(f"{manifest}: no such file")
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise BookError(f"{manifest}: not valid TOML ({err})") from err
    root = manifest.resolve().parent
    meta = data.get("book")
    if not isinstance(meta, dict):
        raise BookError(f"{manifest}: missing the [book] table")
    missing = [k for k in BOOK_KEYS if k not in meta]
    if missing:
        raise BookError(f"{manifest}: [book] is missing {', '.join(missing)}")
    authors = meta["authors"]
    if not (isinstance(authors, list) and all(isinstance(a, str) for a in authors)):
        raise BookError(f"{manifest}: [book] authors must be a list of strings")
    src = (root / meta["src"]).resolve()
    if not src.is_dir():
        raise BookError(f"{manifest}: src = {meta['src']!r} is not a folder")
    entries = data.get("chapters")
    if not isinstance(entries, list) or not entries:
        raise BookError(f"{manifest}: no [[chapters]] listed")
    chapters, seen = [], set()
    for i, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or "path" not in entry or "title" not in entry:
            raise BookError(f"{manifest}: chapter #{i} needs both 'path' and 'title'")
        unknown = set(entry) - {"path", "title", "summary"}
        if unknown:
            raise BookError(f"{manifest}: chapter #{i} has unknown keys {sorted(unknown)}")
        path = (root / entry["path"]).resolve()
        if path.suffix != ".py":
            raise BookError(f"{manifest}: chapter #{i} path {entry['path']!r} must be a .py source")
        if path.parent != src:
            raise BookError(f"{manifest}: chapter #{i} {entry['path']!r} is not inside src = {meta['src']!r}")
        if not path.is_file():
            raise BookError(f"{manifest}: chapter #{i} {entry['path']!r}: no such file")
        if path in seen:
            raise BookError(f"{manifest}: chapter {entry['path']!r} is listed twice")
        seen.add(path)
        chapters.append(Chapter(path, str(entry["title"]), str(entry.get("summary", ""))))
    unlisted = sorted(p.name for p in src.glob("*.py") if p.resolve() not in seen)
    if unlisted:
        raise BookError(f"{manifest}: chapter files not listed in [[chapters]]: {', '.join(unlisted)}")
    return Book(root, str(meta["title"]), tuple(authors), str(meta["description"]),
                str(meta["language"]), src, tuple(chapters))


def _scrub(nb) -> None:
    """Drop what changes from run to run and says nothing: timings and kernel metadata noise."""
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
    nb.metadata.pop("widgets", None)


#: A line the kernel prints at every start: a local kernel talks to its client over loopback TCP.
_KERNEL_NOISE = ("Kernel is running over TCP without encryption",)


def stable_cell_ids(nb) -> None:
    """Give every cell an id derived from its type and source, so that regenerating a notebook
    keeps the ids of unchanged cells (jupytext draws new random ones each time); a repeated cell
    gets a numbered suffix."""
    seen: dict[str, int] = {}
    for cell in nb.cells:
        digest = hashlib.sha1(f"{cell.cell_type}\0{cell.source}".encode()).hexdigest()[:10]
        seen[digest] = seen.get(digest, 0) + 1
        cell["id"] = digest if seen[digest] == 1 else f"{digest}-{seen[digest]}"


def run_chapter(chapter: Chapter | str | Path, *, output_dir: str | Path | None = None,
                timeout: int = 1800) -> float:
    """Execute one chapter's ``.py`` in a fresh kernel and write its ``.ipynb``; return seconds.

    The notebook goes into ``output_dir`` (created if needed), or beside the ``.py`` when it is
    None. Either way the kernel runs in the chapter's own folder, as in JupyterLab.
    """
    import jupytext
    from nbclient import NotebookClient

    path = chapter.path if isinstance(chapter, Chapter) else Path(chapter).resolve()
    nb = jupytext.read(path)
    stable_cell_ids(nb)
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": KERNEL_DISPLAY_NAME,
                                 "language": "python"}
    start = time.perf_counter()
    # The kernel's own stderr (not the notebook's) goes through a file, so that TensorFlow's
    # start-up banner and ipykernel's note on local TCP are not printed once per chapter.
    with tempfile.TemporaryFile() as kernel_stderr:
        try:
            NotebookClient(nb, kernel_name=KERNEL_NAME, timeout=timeout, record_timing=False,
                           resources={"metadata": {"path": str(path.parent)}}).execute(stderr=kernel_stderr)
        finally:
            from helpers._quiet import echo_without_banner

            kernel_stderr.seek(0)
            echo_without_banner(kernel_stderr.read(), _KERNEL_NOISE)
    seconds = time.perf_counter() - start
    _scrub(nb)
    target = path.with_suffix(".ipynb") if output_dir is None else Path(output_dir) / f"{path.stem}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(nb, target, fmt="ipynb")
    return seconds


def run_course(book: Book, only: list[str] | None = None, *,
               output_dir: str | Path | None = None) -> dict[str, float]:
    """Run the chapters (all, or those whose file name contains one of ``only``) in order,
    writing their notebooks into ``output_dir`` (None: the committed ``chapters/*.ipynb``)."""
    chosen = [c for c in book.chapters if not only or any(o in c.path.name for o in only)]
    if only and not chosen:
        raise BookError(f"no chapter matches {only}")
    times, total = {}, time.perf_counter()
    for n, chapter in enumerate(chosen, 1):
        print(f"[{n}/{len(chosen)}] {chapter.path.name} — {chapter.title} …", flush=True)
        times[chapter.path.name] = seconds = run_chapter(chapter, output_dir=output_dir)
        print(f"      done in {seconds:.1f} s", flush=True)
    print(f"{len(chosen)} chapter(s) in {time.perf_counter() - total:.1f} s", flush=True)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.book", description=__doc__.split("\n")[0])
    parser.add_argument("--manifest", help="path of book.toml (default: found from the current folder)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="validate book.toml against the chapters folder")
    sub.add_parser("kernel", help=f"register the '{KERNEL_NAME}' Jupyter kernel for this environment")
    sub.add_parser("lab-settings", help="install the course's JupyterLab settings for this environment")
    sub.add_parser("lab", help="start JupyterLab on the chapters (make lab); other options go to JupyterLab")
    lister = sub.add_parser("list", help="print the chapter files in reading order")
    lister.add_argument("--ipynb", action="store_true", help="print the notebooks instead of the sources")
    runner = sub.add_parser("run", help=f"execute chapters into {BUILD_NOTEBOOKS}/ (tracked files untouched)")
    runner.add_argument("chapters", nargs="*", help="run only chapters whose file name contains these")
    runner.add_argument("--into", default=None, metavar="DIR",
                        help=f"folder for the executed notebooks (default: {BUILD_NOTEBOOKS})")
    refresh = sub.add_parser("refresh", help="execute chapters and rewrite the committed chapters/*.ipynb")
    refresh.add_argument("chapters", nargs="*", help="refresh only chapters whose file name contains these")
    render = sub.add_parser("render", help="render the executed chapters as an HTML book")
    render.add_argument("--output", default=None, help="output folder (default: _build/book)")
    render.add_argument("--notebooks", default=None, metavar="DIR",
                        help="render the notebooks in DIR (e.g. _build/notebooks) instead of the committed ones")
    args, lab_options = parser.parse_known_args(argv)
    if lab_options and args.command != "lab":
        parser.error(f"unrecognized arguments: {' '.join(lab_options)}")
    try:
        if args.command == "lab-settings":
            print(f"JupyterLab settings written to {_relative(install_lab_settings())}")
            return 0
        if args.command == "kernel":
            print(f"kernel '{KERNEL_NAME}' installed in {_relative(install_kernel())}")
            return 0
        book = read_book(args.manifest)
        if args.command == "check":
            print(f"{book.title}: {len(book.chapters)} chapters, manifest OK")
        elif args.command == "lab":
            import os

            command = lab_command(book, lab_options)
            os.execv(command[0], command)  # JupyterLab replaces this process, Ctrl+C and all
        elif args.command == "list":
            for c in book.chapters:
                print(_relative(c.notebook if args.ipynb else c.path))
        elif args.command == "run":
            into = Path(args.into) if args.into else book.root / BUILD_NOTEBOOKS
            run_course(book, args.chapters, output_dir=into)
            print(f"notebooks written to {_relative(into)}")
        elif args.command == "refresh":
            run_course(book, args.chapters)
        elif args.command == "render":
            from helpers.render import render_book

            index = render_book(book, args.output, notebooks=args.notebooks)
            print(f"book written to {_relative(index)}")
    except (BookError, LabSetupError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def _relative(path: Path) -> str:
    import os

    return os.path.relpath(path, Path.cwd())


if __name__ == "__main__":
    sys.exit(main())
