"""The course manifest (``book.toml``) and the course runner (chapter 0; ``make course``).

``book.toml`` uses mdBook's keys so it reads familiar: a ``[book]`` table (``title``, ``authors``,
``description``, ``language``, ``src``) and an ordered ``[[chapters]]`` array, each with ``path``
(``"chapters/00_setup_and_data.py"``), ``title`` and optionally ``summary``. ``read_book`` rejects
a broken manifest with a clear error; ``run_course`` executes every chapter in order, writing each
``.ipynb`` (with outputs) from its ``.py``.

Command line::

    python -m helpers.book kernel           # register the course's Jupyter kernel
    python -m helpers.book check            # validate book.toml
    python -m helpers.book list [--ipynb]   # chapter files in reading order
    python -m helpers.book run [CHAPTER…]   # execute chapters, regenerate their notebooks
    python -m helpers.book render           # the HTML book in _build/book
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

import helpers

#: The Jupyter kernel ``make setup`` registers; every chapter's metadata names it.
KERNEL_NAME = "triplet-course"
KERNEL_DISPLAY_NAME = "Python (triplet course)"
BOOK_KEYS = ("title", "authors", "description", "language", "src")


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


def install_kernel() -> Path:
    """Register this environment's Jupyter kernel (``make setup`` calls it).

    The kernel silences TensorFlow's C++ logging and leaves output written straight to the
    process's file descriptors (the C++ start-up banner) in the terminal instead of the notebook.
    """
    import json
    from ipykernel.kernelspec import install

    folder = Path(install(kernel_name=KERNEL_NAME, display_name=KERNEL_DISPLAY_NAME,
                          prefix=sys.prefix, env={"TF_CPP_MIN_LOG_LEVEL": "3"}))
    spec_file = folder / "kernel.json"
    spec = json.loads(spec_file.read_text())
    if "--IPKernelApp.capture_fd_output=False" not in spec["argv"]:
        spec["argv"].append("--IPKernelApp.capture_fd_output=False")
    spec_file.write_text(json.dumps(spec, indent=1))
    return folder


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


def run_chapter(chapter: Chapter | str | Path, *, timeout: int = 1800) -> float:
    """Execute one chapter's ``.py`` in a fresh kernel and write its ``.ipynb``; return seconds."""
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
            kernel_stderr.seek(0)
            helpers._echo_without_banner(kernel_stderr.read(), _KERNEL_NOISE)
    seconds = time.perf_counter() - start
    _scrub(nb)
    jupytext.write(nb, path.with_suffix(".ipynb"), fmt="ipynb")
    return seconds


def run_course(book: Book, only: list[str] | None = None) -> dict[str, float]:
    """Run the chapters (all, or those whose file name contains one of ``only``) in order."""
    chosen = [c for c in book.chapters if not only or any(o in c.path.name for o in only)]
    if only and not chosen:
        raise BookError(f"no chapter matches {only}")
    times, total = {}, time.perf_counter()
    for n, chapter in enumerate(chosen, 1):
        print(f"[{n}/{len(chosen)}] {chapter.path.name} — {chapter.title} …", flush=True)
        times[chapter.path.name] = seconds = run_chapter(chapter)
        print(f"      done in {seconds:.1f} s", flush=True)
    print(f"{len(chosen)} chapter(s) in {time.perf_counter() - total:.1f} s", flush=True)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.book", description=__doc__.split("\n")[0])
    parser.add_argument("--manifest", help="path of book.toml (default: found from the current folder)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="validate book.toml against the chapters folder")
    sub.add_parser("kernel", help=f"register the '{KERNEL_NAME}' Jupyter kernel for this environment")
    lister = sub.add_parser("list", help="print the chapter files in reading order")
    lister.add_argument("--ipynb", action="store_true", help="print the notebooks instead of the sources")
    runner = sub.add_parser("run", help="execute chapters and regenerate their notebooks")
    runner.add_argument("chapters", nargs="*", help="run only chapters whose file name contains these")
    render = sub.add_parser("render", help="render the executed chapters as an HTML book")
    render.add_argument("--output", default=None, help="output folder (default: _build/book)")
    args = parser.parse_args(argv)
    if args.command == "kernel":
        print(f"kernel '{KERNEL_NAME}' installed in {_relative(install_kernel())}")
        return 0
    try:
        book = read_book(args.manifest)
        if args.command == "check":
            print(f"{book.title}: {len(book.chapters)} chapters, manifest OK")
        elif args.command == "list":
            for c in book.chapters:
                print(_relative(c.notebook if args.ipynb else c.path))
        elif args.command == "run":
            run_course(book, args.chapters)
        elif args.command == "render":
            from helpers.render import render_book

            index = render_book(book, args.output)
            print(f"book written to {_relative(index)}")
    except BookError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def _relative(path: Path) -> str:
    import os

    return os.path.relpath(path, Path.cwd())


if __name__ == "__main__":
    sys.exit(main())
