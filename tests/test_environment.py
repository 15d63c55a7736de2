"""environment.yml (conda, Binder) names the same packages and versions as pyproject.toml (pip),
and installs the course's own package only in postBuild, after the repository is there."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _split(requirement: str) -> tuple[str, str]:
    """("scikit-learn", ">=1.4,<1.9") from "scikit-learn>=1.4,<1.9" (names normalised)."""
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*", requirement)
    assert match, f"cannot read the requirement {requirement!r}"
    return re.sub(r"[-_.]+", "-", match.group(1)).lower(), match.group(2).replace(" ", "")


def _pyproject() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return dict(_split(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"])


def _environment() -> tuple[dict[str, str], list[str]]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = {}, []
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            pip += entry["pip"]
        else:
            name, spec = _split(entry.replace("=", "==", 1) if re.fullmatch(r"[\w\-]+=[\d.]+", entry) else entry)
            conda[name] = spec
    return conda, pip


def test_environment_names_what_pyproject_names_with_the_same_versions():
    conda, pip = _environment()
    named = {**{k: v for k, v in conda.items() if k not in ("python", "pip")}, **dict(map(_split, pip))}
    assert named == _pyproject()
    python = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert conda["python"] == "==3.11" and ">=3.11" in python


def test_environment_does_not_install_the_repository_itself():
    """repo2docker builds the environment before it copies the repository: no `-e .` there."""
    _, pip = _environment()
    assert not [p for p in pip if p.startswith(("-e", ".")) or "/" in p]
    post = (ROOT / "postBuild").read_text()
    assert "pip install --no-deps" in post and "-e ." in post
    assert "helpers.book kernel" in post and "helpers.book lab-settings" in post
