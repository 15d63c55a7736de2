"""TensorFlow's start-up banner, kept off stderr (course tooling; chapter 0 explains the kernel).

TensorFlow's C++ start-up writes a few lines straight to file descriptor 2 before its logger reads
``TF_CPP_MIN_LOG_LEVEL``, so the variable alone does not silence them. This private module knows
those lines (``BANNER``) and offers two ways to drop them while letting every other line through:

- ``import_tensorflow_quietly()`` imports TensorFlow with fd 2 filtered, for programs that run
  TensorFlow (``python -m helpers``);
- ``echo_without_banner(data)`` writes captured output to fd 2 without the banner (the course
  runner, ``helpers.book.run_chapter``).

``helpers.kernel`` filters the course's Jupyter kernel the same way, for its whole life.
Importing this module imports no TensorFlow and changes nothing.
"""

from __future__ import annotations

import os
import sys

#: Texts of the lines TensorFlow writes to stderr at start-up whatever ``TF_CPP_MIN_LOG_LEVEL``
#: says (its absl logger is not initialised yet). A line holding one of them is dropped.
BANNER = (
    "All log messages before absl::InitializeLog() is called are written to STDERR",
    "Could not find cuda drivers on your machine, GPU will not be used.",
    "oneDNN custom operations are on",
)

#: The log level the course asks TensorFlow's C++ code for: errors only (3 hides warnings too).
QUIET_LEVEL = "3"


def is_banner(line: str, noise: tuple = ()) -> bool:
    """True when ``line`` holds one of the ``BANNER`` texts (or of ``noise``)."""
    return any(text in line for text in BANNER + tuple(noise))


def without_banner(data: bytes, noise: tuple = ()) -> bytes:
    """``data`` without the lines that hold a ``BANNER`` (or ``noise``) text; the lines kept are
    passed on byte for byte."""
    lines = data.splitlines(keepends=True)
    return b"".join(line for line in lines if not is_banner(line.decode(errors="replace"), noise))


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to file descriptor ``fd`` (``os.write`` may write part)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def echo_without_banner(data: bytes, noise: tuple = ()) -> None:
    """Write ``data`` to file descriptor 2, where it was headed (in a Jupyter kernel that is the
    terminal, not the notebook), without the lines holding a ``BANNER`` (or ``noise``) text."""
    out = without_banner(data, noise)
    try:
        write_all(2, out)
    except OSError:  # no usable file descriptor 2: Python's stderr is all there is
        sys.stderr.write(out.decode(errors="replace"))


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its C++ start-up banner filtered out of file descriptor 2.

    A program that calls this asks for quiet C++ logging: ``TF_CPP_MIN_LOG_LEVEL`` is set to 3
    unless the environment already chose a level. The banner is filtered only when that level is
    2 or 3 (a user who asked for logs gets all of them) and TensorFlow is not imported yet; every
    other line written to fd 2 meanwhile is written back in order, and errors propagate.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_LEVEL)
    if "tensorflow" in sys.modules or os.environ["TF_CPP_MIN_LOG_LEVEL"] not in ("2", "3"):
        import tensorflow  # noqa: F401
        return
    import tempfile

    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (AttributeError, OSError, ValueError):  # no usable file descriptor 2
        import tensorflow  # noqa: F401
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            try:
                sys.stderr.flush()
            finally:
                os.dup2(saved, 2)
                os.close(saved)
            captured.seek(0)
            echo_without_banner(captured.read())


def exit_with(status: int) -> None:
    """``sys.exit(status)``; for 130 (an interruption) flush and end at once. Under ``python -m``,
    once a KeyboardInterrupt has passed through exec() or eval() of a string (dataclasses and named
    tuples run those at import), CPython ends the process by SIGINT at exit whatever we return,
    caught or not (status -2): ending now keeps the status promised."""
    if status == 130:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(130)
    sys.exit(status)
