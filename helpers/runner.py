"""Executing one chapter: the heart of the course runner (chapter 0; ``python -m helpers.book run``,
``make course``).

:func:`run_chapter` executes a chapter's ``.py`` in a fresh kernel (the course's, ``triplet-course``)
and writes its ``.ipynb`` with outputs; ``helpers.book.run_course`` runs a book's chapters in order.

When a chapter fails — a cell raises, the kernel dies, a cell outlasts the time limit — it raises
a :class:`ChapterError` whose message is one line: the chapter, the cell, its line in the ``.py``,
the exception (ANSI colours stripped), and where the notebook as far as it ran was written. Ctrl-C
stops the kernel and raises :class:`ChapterInterrupted`, saying the same.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from pathlib import Path

from helpers.lab import KERNEL_DISPLAY_NAME, KERNEL_NAME
from helpers.manifest import BookError, Chapter, read_text


class ChapterError(BookError):
    """A chapter failed while it ran: ``notebook`` is where its partly run notebook was written."""

    def __init__(self, message: str, notebook: Path | None = None):
        super().__init__(message)
        self.notebook = notebook


class ChapterInterrupted(KeyboardInterrupt):
    """Ctrl-C while a chapter ran; its kernel is stopped and the message says where it was."""


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


#: ANSI escape sequences (colours, cursor moves, terminal titles) as IPython puts in tracebacks.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
#: A percent-format marker that starts a code cell (not ``[markdown]``, ``[md]`` or ``[raw]``).
_CODE_MARKER = re.compile(r"^# %%(?!.*\[(?:markdown|md|raw)\])")


def one_line(text, limit: int | None = None) -> str:
    """``text`` as one line: no ANSI codes or control characters, each run of whitespace
    (newlines too) a single space; longer than ``limit`` characters, cut with an ellipsis."""
    text = _ANSI.sub("", str(text))
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return text[:limit - 1] + "…" if limit and len(text) > limit else text


class _Stopped(Exception):
    """Ctrl-C came while nbclient's SIGINT handler was in place, yet the chapter ran to its end."""


def _client(nb, *, timeout: int, cwd: Path):
    """nbclient's NotebookClient for ``nb`` in the course's kernel, made to stop cleanly at Ctrl-C
    and to log nothing (failures are reported by ``run_chapter``, in one line).

    While the kernel runs, nbclient's own SIGINT handler replaces KeyboardInterrupt: it shuts the
    kernel down and records ``_async_cleanup_kernel_future``, after which the cell being run fails
    (DeadKernelError, or an assertion, or a cancelled wait while the kernel starts) — or, if the
    last cell had just finished, nothing fails at all. ``interrupted`` reads that record, so that
    ``run_chapter`` reports every one of these as Ctrl-C. The kernel is killed rather than asked to
    stop after Ctrl-C and after a time-out (asking a busy kernel interrupts it, which only adds noise),
    and cleaned up only once. ``running`` is the index of the cell the kernel runs.
    """
    import logging

    from nbclient import NotebookClient

    class Client(NotebookClient):
        running: int | None = None
        timed_out = False

        @property
        def interrupted(self) -> bool:
            return getattr(self, "_async_cleanup_kernel_future", None) is not None

        def create_kernel_manager(self):
            km = super().create_kernel_manager()
            km.log = self.log
            return km

        async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
            if cell.cell_type == "code" and cell.source.strip():
                self.running = cell_index
            return await super().async_execute_cell(cell, cell_index, *args, **kwargs)

        async def _async_handle_timeout(self, timeout, cell=None):
            self.timed_out = True
            return await super()._async_handle_timeout(timeout, cell)

        async def _async_cleanup_kernel(self):
            if self.km is None:  # cleaned up already (by the SIGINT handler)
                return
            if self.interrupted or self.timed_out:  # a busy kernel: asking it to stop interrupts it
                self.shutdown_kernel = "immediate"
            await super()._async_cleanup_kernel()

    log = logging.getLogger("helpers.book.nbclient")
    log.propagate = False
    if not log.handlers:
        log.addHandler(logging.NullHandler())
    return Client(nb, kernel_name=KERNEL_NAME, timeout=timeout, record_timing=False, log=log,
                  resources={"metadata": {"path": str(cwd)}})


def run_chapter(chapter: Chapter | str | Path, *, output_dir: str | Path | None = None,
                timeout: int = 1800, failed_dir: str | Path | None = None) -> float:
    """Execute one chapter's ``.py`` in a fresh kernel and write its ``.ipynb``; return seconds.

    The notebook goes into ``output_dir`` (created if needed), or beside the ``.py`` when it is
    None. Either way the kernel runs in the chapter's own folder, as in JupyterLab.

    A cell that raises, a kernel that dies and a cell still running after ``timeout`` seconds
    raise :class:`ChapterError`, whose one-line message names the cell, its line in the ``.py``
    and the exception; the notebook as far as it ran (and what the kernel wrote to its stderr, if
    anything) goes into ``failed_dir`` (default: ``output_dir``, else a new temporary folder) —
    never over a committed notebook. Ctrl-C stops the kernel and raises
    :class:`ChapterInterrupted`, saying the same.
    """
    from asyncio import CancelledError

    import jupytext

    path = chapter.path if isinstance(chapter, Chapter) else Path(chapter).resolve()
    read_text(path, "a chapter")
    nb = jupytext.read(path)
    stable_cell_ids(nb)
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": KERNEL_DISPLAY_NAME,
                                 "language": "python"}
    client = _client(nb, timeout=timeout, cwd=path.parent)
    start = time.perf_counter()
    # The kernel's own stderr (not the notebook's) goes through a file, so that TensorFlow's
    # start-up banner and ipykernel's note on local TCP are not printed once per chapter.
    with tempfile.TemporaryFile() as kernel_stderr:
        try:
            client.execute(stderr=kernel_stderr)
            if client.interrupted:  # Ctrl-C after the last cell: the course stops all the same
                raise _Stopped
        except (Exception, KeyboardInterrupt, CancelledError) as err:  # nbclient's end after Ctrl-C
            kernel_stderr.seek(0)
            _chapter_stopped(err, client, path, failed_dir or output_dir, kernel_stderr.read())
        from helpers._quiet import echo_without_banner

        kernel_stderr.seek(0)
        echo_without_banner(kernel_stderr.read(), _KERNEL_NOISE)
    seconds = time.perf_counter() - start
    _scrub(nb)
    _write_notebook(nb, path.with_suffix(".ipynb") if output_dir is None
                    else Path(output_dir) / f"{path.stem}.ipynb")
    return seconds


def _chapter_stopped(err: BaseException, client, path: Path, folder, kernel_stderr: bytes):
    """Raise ChapterError (or ChapterInterrupted) for ``err``, after saving the notebook as far as
    it ran and the kernel's stderr into ``folder``."""
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    from helpers._quiet import without_banner

    if isinstance(err, NoSuchKernel):
        raise BookError(f"the Jupyter kernel {KERNEL_NAME!r} is not installed: run "
                        "`python -m helpers.book kernel` (make setup does)") from None
    interrupted = isinstance(err, (KeyboardInterrupt, _Stopped)) or client.interrupted
    index, saved, notebook = client.running, "", None
    where = ("before its first cell ran" if index is None
             else f"in cell {index + 1} ({_cell_location(path, client.nb, index)})")
    said = without_banner(kernel_stderr, _KERNEL_NOISE).decode(errors="replace").splitlines()
    said = [line for line in said if line.strip()]
    if index is not None or (said and not interrupted):
        folder = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="helpers-book-"))
        try:
            if index is not None:
                notebook = folder / f"{path.stem}.ipynb"
                _scrub(client.nb)
                _write_notebook(client.nb, notebook)
                saved = f"; the notebook as far as it ran is {relative(notebook)}"
            if said and not interrupted:  # after Ctrl-C it holds only the noise of the kernel's end
                log = folder / f"{path.stem}.kernel-stderr.txt"
                log.write_text("\n".join(said) + "\n", encoding="utf-8")
                saved += f"; the kernel's stderr is in {relative(log)}"
        except OSError as problem:
            saved += f"; nothing could be saved in {relative(folder)} ({problem.strerror})"
    if interrupted:
        raise ChapterInterrupted(f"{path.name} stopped {where}{saved}") from None
    if isinstance(err, CellExecutionError):
        what = f"{err.ename}: {one_line(err.evalue, 300)}" if one_line(err.evalue) else err.ename
        message = f"{path.name} failed {where}: {what}"
    elif isinstance(err, CellTimeoutError):
        message = f"{path.name}: a cell ran longer than the time limit of {client.timeout} s, {where}"
    elif isinstance(err, DeadKernelError):
        message = f"{path.name}: the kernel died {where}"
    else:
        message = f"{path.name} stopped {where}: {type(err).__name__}: {one_line(err, 300)}"
        if index is None and said:
            message += f" (the kernel's last words: {one_line(said[-1], 200)})"
    raise ChapterError(message + saved, notebook) from None


def _cell_location(path: Path, nb, index: int) -> str:
    """``chapters/00_a.py line 7: `x = 1 / 0```: the line of cell ``index`` that failed (from
    its error's traceback) or else its first line, and where that line is in the ``.py``."""
    cell = nb.cells[index]
    lines = cell.source.splitlines()
    row = next((i for i, line in enumerate(lines, 1) if line.strip()), 1)
    error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
    found = re.search(r"Cell In\[\d+\], line (\d+)", one_line("\n".join(error.get("traceback", [])))) \
        if error else None
    if found and 1 <= int(found.group(1)) <= len(lines):
        row = int(found.group(1))
    first = _cell_first_lines(path, nb).get(index)
    at = f"{relative(path)} line {first + row - 1}" if first else f"line {row} of the cell"
    return f"{at}: `{one_line(lines[row - 1] if lines else '', 80)}`"


def _cell_first_lines(path: Path, nb) -> dict[int, int]:
    """For each code cell of ``nb``, the line of the ``.py`` where its source begins (1-based):
    its first line looked up, in order, among the lines of the code cells of the ``.py``."""
    try:
        text = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    in_code = [True] * len(text)
    code = True
    for n, line in enumerate(text):
        if line.startswith("# %%"):
            code = bool(_CODE_MARKER.match(line))
            in_code[n] = False
        else:
            in_code[n] = code
    found, at = {}, 0
    for index, cell in enumerate(nb.cells):
        lines = cell.source.splitlines()
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        offset = next(i for i, line in enumerate(lines) if line.strip())
        for n in range(at, len(text)):
            if in_code[n] and text[n] in (lines[offset], f"# {lines[offset]}"):  # jupytext comments magics
                found[index], at = n + 1 - offset, n + 1
                break
    return found


def _write_notebook(nb, target: Path) -> None:
    """Write ``nb`` to ``target`` whole or not at all (through a temporary file beside it), so that
    a Ctrl-C or a full disk never leaves half a notebook."""
    import jupytext

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".ipynb", dir=target.parent)
    os.close(fd)
    try:
        jupytext.write(nb, temporary, fmt="ipynb")
        os.chmod(temporary, target.stat().st_mode & 0o777 if target.exists() else 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def relative(path: str | Path) -> str:
    """``path`` relative to the current folder when it is inside it, else as an absolute path."""
    path = Path(path).absolute()
    try:
        inside = os.path.relpath(path, Path.cwd())
    except (OSError, ValueError):
        return str(path)
    return str(path) if inside.startswith("..") else inside
