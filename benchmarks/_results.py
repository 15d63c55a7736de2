"""What every benchmark records beside its figures, and how ``--json FILE`` writes them.

The README quotes the figures in ``benchmarks/results/*.json`` and ``tests/test_readme.py``
checks it against them; the load average at start and end says whether a timing was measured on
a quiet machine.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def environment(script: str, argv=None) -> dict:
    """The script, its command line, and the machine and stack a figure was measured on."""
    argv = sys.argv[1:] if argv is None else list(argv)
    return {"script": script, "command": " ".join(["python", script, *argv]),
            "cpu_count": os.cpu_count(), "tensorflow": _version("tensorflow"), "keras": _version("keras"),
            "python": platform.python_version(), "platform": platform.platform(terse=True),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def write(record: dict, path) -> None:
    """Add the load average at the end and write ``record`` as JSON to ``path``."""
    record["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, default=list) + "\n")
    print(f"figures written to {path}")
