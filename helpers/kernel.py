"""The course's Jupyter kernel launcher: ipykernel with TensorFlow's banner kept off stderr
(chapter 0; ``python -m helpers.book kernel`` registers it).

Run as ``python -m helpers.kernel -f {connection_file} ...`` (any ipykernel option works). Before
it starts ipykernel, it routes the process's file descriptor 2 through a filter for good: a pipe
whose reading end a daemon thread drains, dropping the lines that hold one of
``helpers._quiet.BANNER`` and writing every other line to the original stderr — the terminal that
started JupyterLab — as soon as the line is complete. So each chapter's ``import tensorflow``
stays quiet there, while real warnings and errors still arrive. It imports no TensorFlow itself.

The thread drains the pipe as fast as it can, so the kernel never waits on the filter (only, as
without it, on a terminal that stops reading); a line still unfinished after
``PARTIAL_LINE_SECONDS`` is written as it is (a prompt, say). At exit the original fd 2 comes back
and whatever is still in the pipe is written. ``faulthandler``, when enabled
(``PYTHONFAULTHANDLER``), writes crash reports straight to the original fd 2.
"""

from __future__ import annotations

import atexit
import os
import select
import sys
import threading
from pathlib import Path

from helpers._quiet import without_banner, write_all

#: How long a line without its newline waits for the rest before it is written anyway.
PARTIAL_LINE_SECONDS = 0.2
_CHUNK = 65536


class StderrFilter:
    """File descriptor 2 through a pipe and a daemon thread that drops banner lines.

    ``start()`` installs it; ``stop()`` puts the original fd 2 back and writes what is left.
    """

    def __init__(self, noise: tuple = ()):
        self.noise = tuple(noise)
        self._original = self._read_end = None
        self._thread = None

    def start(self) -> StderrFilter:
        if self._thread is not None:
            raise RuntimeError("the stderr filter is already running")
        sys.stderr.flush()
        self._original = os.dup(2)
        self._read_end, write_end = os.pipe()
        _grow_pipe(write_end)
        os.dup2(write_end, 2)
        os.close(write_end)
        self._thread = threading.Thread(target=self._pump, name="stderr-banner-filter", daemon=True)
        self._thread.start()
        import faulthandler

        if faulthandler.is_enabled():  # a crash report must not wait for a thread that died too
            faulthandler.enable(file=self._original, all_threads=True)
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Restore the original fd 2; the thread writes what is still in the pipe, then ends."""
        if self._thread is None:
            return
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(self._original, 2)  # closes the pipe's last writer, unless a child process holds it
        self._thread.join(timeout)
        self._thread = None

    def _emit(self, data: bytes) -> None:
        kept = without_banner(data, self.noise)
        if kept:
            try:
                write_all(self._original, kept)
            except OSError:  # the terminal is gone: drop the output, never the kernel
                pass

    def _pump(self) -> None:
        pending = b""
        while True:
            if pending:  # wait a little for the rest of an unfinished line
                ready, _, _ = select.select([self._read_end], [], [], PARTIAL_LINE_SECONDS)
                if not ready:
                    self._emit(pending)
                    pending = b""
                    continue
            try:
                chunk = os.read(self._read_end, _CHUNK)
            except InterruptedError:
                continue
            except OSError:
                chunk = b""
            if not chunk:  # every writer closed the pipe
                self._emit(pending)
                os.close(self._read_end)
                return
            pending += chunk
            cut = pending.rfind(b"\n") + 1
            if cut:
                self._emit(pending[:cut])
                pending = pending[cut:]
            if len(pending) > _CHUNK:  # a very long line: no use holding it back
                self._emit(pending)
                pending = b""


def _grow_pipe(fd: int, size: int = 1 << 20) -> None:
    """Give the pipe a larger buffer where Linux allows it (the default 64 KiB is enough too)."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), size)
    except (ImportError, OSError):
        pass


def launch_kernel() -> None:
    """Start ipykernel the way ``python -m ipykernel_launcher`` does, with this process's argv."""
    # Like ipykernel_launcher: leave the working folder off sys.path while ipykernel loads;
    # IPython puts it back for the notebook's own imports.
    if sys.path and (sys.path[0] == "" or Path(sys.path[0]) == Path.cwd()):
        del sys.path[0]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


def main() -> None:
    atexit.register(StderrFilter().start().stop)
    launch_kernel()


if __name__ == "__main__":
    main()
