"""Running chapters side by side (``python -m helpers.book run --jobs N``; ``make course``).

A chapter spends much of its time in single-threaded Python and in small TensorFlow steps that
leave a second core idle, so on two cores two chapters at once finish the course sooner than one
after the other. :func:`run_side_by_side` runs each chapter in its own child process
(``python -m helpers.book run CHAPTER``, so with its own kernel and all the one-line error and
Ctrl-C handling of a single run), at most ``jobs`` at a time:

* a chapter starts only after the chapters it ``needs`` (``book.toml``) have finished;
* among the chapters ready to start, one that another chapter needs goes first (chapter 4, whose
  saved network chapter 5 reads, is the course's longest), then book order;
* when a chapter finishes, the two lines a sequential run prints for it appear together:
  ``[n/N] file — title …`` and ``      done in S s`` (``n`` its place in the run, so with several
  jobs the lines can come out of order; ``S`` is the time it took while sharing the machine);
* a chapter that fails stops the run: no chapter starts after it, the others still running are
  interrupted (each stops its kernel), and the child's one-line error becomes a ``ChapterError``;
* Ctrl-C reaches every child from the terminal; the run waits for them and raises
  ``ChapterInterrupted``.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from helpers.manifest import Book, Chapter
from helpers.runner import ChapterError, ChapterInterrupted, one_line

_DONE = re.compile(r"^\s+done in (\d+(?:\.\d+)?) s$", re.M)
_GRACE = 60.0  # seconds an interrupted child gets to stop its kernel and write its notebook
_STAGGER = 1.0  # seconds between two starts: kernels are not launched in the same instant


class _Child:
    def __init__(self, n: int, chapter: Chapter, command: list[str]):
        self.n, self.chapter, self.start = n, chapter, time.perf_counter()
        self.out = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        self.err = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        # Files, not pipes: a kernel that writes a lot to stderr must never block on a full pipe.
        self.process = subprocess.Popen(command, stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL)

    def text(self, stream) -> str:
        stream.seek(0)
        return stream.read()

    def last_line(self) -> str:
        lines = [line for line in self.text(self.err).splitlines() if line.strip()]
        return lines[-1] if lines else f"exit status {self.process.returncode} and no message"

    def close(self) -> None:
        self.out.close()
        self.err.close()


def _command(book: Book, chapter: Chapter, output_dir: Path | None) -> list[str]:
    base = [sys.executable, "-m", "helpers.book", "--manifest", str(book.root / "book.toml")]
    if output_dir is None:
        return [*base, "refresh", str(chapter.path)]
    return [*base, "run", str(chapter.path), "--into", str(output_dir)]


def _stop(children: list[_Child]) -> None:
    """Interrupt the children still running (as Ctrl-C would) and wait for them."""
    for child in children:
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + _GRACE
    for child in children:
        try:
            child.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()


def run_side_by_side(book: Book, chosen: list[Chapter], *, jobs: int,
                     output_dir: Path | None) -> dict[str, float]:
    """Run ``chosen`` (in book order), at most ``jobs`` at a time; {file name: seconds}."""
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    place = {chapter.path: n for n, chapter in enumerate(chosen, 1)}
    needed = {path for chapter in chosen for path in chapter.needs}
    pending, running, done, times = list(chosen), [], set(), {}

    def ready(chapter):
        return all(path in done or path not in place for path in chapter.needs)

    try:
        while pending or running:
            while len(running) < jobs and (startable := [c for c in pending if ready(c)]):
                chapter = min(startable, key=lambda c: (c.path not in needed, place[c.path]))
                pending.remove(chapter)
                running.append(_Child(place[chapter.path], chapter, _command(book, chapter, output_dir)))
                time.sleep(_STAGGER)
            time.sleep(0.2)
            for child in [c for c in running if c.process.poll() is not None]:
                running.remove(child)
                name = child.chapter.path.name
                if child.process.returncode != 0:
                    _stop(running)
                    message = one_line(child.last_line())
                    if child.process.returncode == 130 or message.startswith("interrupted:"):
                        raise ChapterInterrupted(message.removeprefix("interrupted: "))
                    raise ChapterError(message.removeprefix("error: "))
                found = _DONE.search(child.text(child.out))
                seconds = float(found.group(1)) if found else time.perf_counter() - child.start
                times[name] = seconds
                done.add(child.chapter.path)
                print(f"[{child.n}/{len(chosen)}] {name} — {child.chapter.title} …\n"
                      f"      done in {seconds:.1f} s", flush=True)
                child.close()
    except KeyboardInterrupt:
        _stop(running)  # the terminal interrupted them too; this covers a signal sent to us alone
        names = ", ".join(c.chapter.path.name for c in running) or "no chapter"
        raise ChapterInterrupted(f"{names} did not finish; the chapters that finished have their "
                                 f"notebooks") from None
    finally:
        for child in running:
            if child.process.poll() is None:
                child.process.kill()
    return times


__all__ = ["run_side_by_side"]
