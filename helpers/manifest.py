"""The course manifest, ``book.toml`` (chapter 0; ``python -m helpers.book check`` validates it).

``book.toml`` uses mdBook's keys so it reads familiar: a ``[book]`` table (``title``, ``authors``,
``description``, ``language``, ``src``) and an ordered ``[[chapters]]`` array, each with ``path``
(``"chapters/00_setup_and_data.py"``), ``title``, optionally ``summary`` and ``needs`` (the earlier
chapters whose files it reads, e.g. chapter 5 reads chapter 4's saved network: a runner that runs
chapters side by side starts it only after those finished). :func:`read_book`
rejects a broken manifest — not UTF-8, not TOML, a key missing or of the wrong type, a chapter
file missing, listed twice or not listed — with a :class:`BookError` whose message is one line
naming the file; :func:`select_chapters` turns chapter names given on a command line into chapters.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

BOOK_KEYS = ("title", "authors", "description", "language", "src")


class BookError(ValueError):
    """book.toml is missing or broken, or disagrees with the chapters folder; or a chapter cannot
    run. The message is one line."""


@dataclass(frozen=True)
class Chapter:
    path: Path  # the .py source, absolute
    title: str
    summary: str = ""
    needs: tuple[Path, ...] = ()  # earlier chapters whose files this one reads (run before it)

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


def not_utf8(err: UnicodeDecodeError) -> str:
    """Where a file is not UTF-8: ``byte 0xff at line 3 (byte offset 57) is not UTF-8``."""
    data, start = err.object, err.start
    line = data.count(b"\n", 0, start) + 1
    return f"byte 0x{data[start]:02x} at line {line} (byte offset {start}) is not UTF-8"


def read_text(path: Path, what: str) -> str:
    """The text of ``path``, or a one-line BookError if it cannot be read or is not UTF-8."""
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise BookError(f"{path}: {what} must be UTF-8 text: {not_utf8(err)}") from None
    except OSError as err:
        raise BookError(f"{path}: cannot read it ({err.strerror})") from None


def read_book(manifest: str | Path | None = None) -> Book:
    """Read and validate ``book.toml`` (default: the one above the current folder; a folder
    means the ``book.toml`` in it)."""
    manifest = Path(manifest) if manifest else find_root() / "book.toml"
    if manifest.is_dir():
        manifest = manifest / "book.toml"
    if not manifest.is_file():
        raise BookError(f"{manifest}: no such file")
    try:
        data = tomllib.loads(read_text(manifest, "the manifest"))
    except tomllib.TOMLDecodeError as err:
        raise BookError(f"{manifest}: not valid TOML ({err})") from None
    root = manifest.resolve().parent

    def text(value, what):
        if not isinstance(value, str) or "\0" in value:
            raise BookError(f"{manifest}: {what} must be a string, got {value!r}")
        return value

    meta = data.get("book")
    if not isinstance(meta, dict):
        raise BookError(f"{manifest}: missing the [book] table")
    missing = [k for k in BOOK_KEYS if k not in meta]
    if missing:
        raise BookError(f"{manifest}: [book] is missing {', '.join(missing)}")
    authors = meta["authors"]
    if not (isinstance(authors, list) and all(isinstance(a, str) for a in authors)):
        raise BookError(f"{manifest}: [book] authors must be a list of strings")
    for key in ("title", "description", "language", "src"):
        text(meta[key], f"[book] {key}")
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
        unknown = set(entry) - {"path", "title", "summary", "needs"}
        if unknown:
            raise BookError(f"{manifest}: chapter #{i} has unknown keys {sorted(unknown)}")
        needs = entry.pop("needs", [])
        if not (isinstance(needs, list) and all(isinstance(n, str) for n in needs)):
            raise BookError(f"{manifest}: chapter #{i} needs must be a list of chapter paths")
        for key in entry:
            text(entry[key], f"chapter #{i} {key}")
        needed = tuple((root / n).resolve() for n in needs)
        for n, path_needed in zip(needs, needed):
            if path_needed not in seen:
                raise BookError(f"{manifest}: chapter #{i} needs {n!r}, which is not an earlier chapter")
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
        chapters.append(Chapter(path, entry["title"], entry.get("summary", ""), needed))
    unlisted = sorted(p.name for p in src.glob("*.py") if p.resolve() not in seen)
    if unlisted:
        raise BookError(f"{manifest}: chapter files not listed in [[chapters]]: {', '.join(unlisted)}")
    return Book(root, meta["title"], tuple(authors), meta["description"], meta["language"], src,
                tuple(chapters))


def select_chapters(book: Book, names: list[str] | None = None) -> list[Chapter]:
    """The chapters (in reading order) that ``names`` pick: all of them when there are no names;
    otherwise those whose file name contains a name, or whose ``.py`` or ``.ipynb`` a name is the
    path of. A name that picks nothing (the empty name included) is an error, before anything runs."""
    if not names:
        return list(book.chapters)
    picked, unknown = set(), []
    for name in names:
        found = {c for c in book.chapters if name.strip() and (
            name in c.path.name or name in c.notebook.name or _same_file(name, c))}
        picked |= found
        unknown += [] if found else [name]
    if unknown:
        raise BookError(f"no chapter matches {', '.join(map(repr, unknown))}; the chapters are "
                        f"{', '.join(c.stem for c in book.chapters)}")
    return [c for c in book.chapters if c in picked]


def _same_file(name: str, chapter: Chapter) -> bool:
    try:
        return Path(name).resolve() in (chapter.path, chapter.notebook)
    except (OSError, ValueError):
        return False
