"""The course's Jupyter set-up: its kernel, its JupyterLab settings and the ``make lab`` command
(chapter 0; ``make setup`` and ``postBuild`` install the first two).

- ``install_kernel`` registers the ``triplet-course`` kernel, started through ``helpers.kernel``;
- ``install_lab_settings`` makes a chapter's ``.py`` open as a notebook and silences the news pop-up;
- ``lab_command`` is what ``make lab`` (``python -m helpers.book lab``) runs, and what the browser
  test (``tests/test_lab.py``) starts.
"""

from __future__ import annotations

import sys
from pathlib import Path

#: The Jupyter kernel ``make setup`` registers; every chapter's metadata names it.
KERNEL_NAME = "triplet-course"
KERNEL_DISPLAY_NAME = "Python (triplet course)"


class LabSetupError(RuntimeError):
    """The kernel or the lab settings cannot be installed as they are."""


def install_kernel(prefix: str | Path | None = None) -> Path:
    """Register this environment's Jupyter kernel (``make setup`` calls it), in ``prefix``
    (default: this environment, ``sys.prefix``); return the kernelspec's folder.

    The kernel silences TensorFlow's C++ logging and leaves output written straight to the
    process's file descriptors in the terminal instead of the notebook. It starts through
    ``python -m helpers.kernel``, which drops TensorFlow's start-up banner from that output.
    """
    import json
    from ipykernel.kernelspec import install

    folder = Path(install(kernel_name=KERNEL_NAME, display_name=KERNEL_DISPLAY_NAME,
                          prefix=str(prefix or sys.prefix), env={"TF_CPP_MIN_LOG_LEVEL": "3"}))
    spec_file = folder / "kernel.json"
    spec = json.loads(spec_file.read_text())
    argv = spec["argv"]
    if "-m" not in argv or argv.index("-m") + 1 >= len(argv):
        raise LabSetupError(f"{spec_file}: unexpected kernel command {argv}")
    argv[argv.index("-m") + 1] = "helpers.kernel"  # instead of ipykernel_launcher
    if "--IPKernelApp.capture_fd_output=False" not in argv:
        argv.append("--IPKernelApp.capture_fd_output=False")
    spec_file.write_text(json.dumps(spec, indent=1))
    return folder


#: JupyterLab settings the course installs for this environment (``make setup``): a chapter's
#: ``.py`` opens as a notebook on double-click, and the lab asks nobody whether to fetch news from
#: the internet (its pop-up covered the notebook on every load; the course works offline).
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"python": "Jupytext Notebook"}},
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}


def install_lab_settings(prefix: str | Path | None = None) -> Path:
    """Write :data:`LAB_SETTINGS` into the environment's ``share/jupyter/lab/settings/
    overrides.json`` (merged with what is there), where every JupyterLab started from this
    environment reads them as its defaults; a user's own settings still win."""
    import json

    target = Path(prefix or sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    current = {}
    if target.is_file():
        try:
            current = json.loads(target.read_text(encoding="utf-8") or "{}")
        except json.JSONDecodeError as err:
            raise LabSetupError(f"{target}: not valid JSON ({err}); fix or delete it") from err
    for plugin, values in LAB_SETTINGS.items():
        current.setdefault(plugin, {}).update(values)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")
    return target


def lab_command(book, extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The command ``make lab`` runs: JupyterLab from this environment, serving the chapters
    folder (``book.src``), with any ``extra`` JupyterLab options appended. As root (a container,
    a CI machine) it adds ``--allow-root``, without which JupyterLab refuses to start."""
    import os

    as_root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    return [sys.executable, "-m", "jupyterlab", f"--notebook-dir={book.src}", *as_root, *extra]
