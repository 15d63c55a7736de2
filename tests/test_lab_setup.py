"""helpers.lab: the JupyterLab settings make setup installs, and the command make lab runs."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import book as bookmod
from helpers import lab

ROOT = Path(__file__).resolve().parents[1]


def test_lab_settings_open_py_as_a_notebook_and_keep_other_settings(tmp_path):
    target = tmp_path / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps({"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"},
                                  "@jupyterlab/docmanager-extension:plugin": {"autosave": False}}))
    assert lab.install_lab_settings(tmp_path) == target
    settings = json.loads(target.read_text())
    docmanager = settings["@jupyterlab/docmanager-extension:plugin"]
    assert docmanager["defaultViewers"]["python"] == "Jupytext Notebook" and docmanager["autosave"] is False
    assert settings["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    assert settings["@jupyterlab/apputils-extension:themes"]["theme"] == "JupyterLab Dark"
    lab.install_lab_settings(tmp_path)  # idempotent
    assert json.loads(target.read_text()) == settings


def test_broken_lab_settings_file_is_named(tmp_path):
    target = tmp_path / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    target.parent.mkdir(parents=True)
    target.write_text("{not json")
    with pytest.raises(lab.LabSetupError, match="overrides.json: not valid JSON"):
        lab.install_lab_settings(tmp_path)


def test_lab_command_serves_the_chapters_folder_with_extra_options():
    command = lab.lab_command(bookmod.read_book(ROOT / "book.toml"), ["--no-browser"])
    assert command[:3] == [sys.executable, "-m", "jupyterlab"]
    assert f"--notebook-dir={ROOT / 'chapters'}" in command and command[-1] == "--no-browser"


def test_jupytext_config_sits_in_the_served_folder_and_pairs_outside_git():
    """make lab serves chapters/: jupytext reads its configuration there (not at the root), pairs a
    chapter with my-runs/ (ignored by git), and never adds its version to the headers."""
    assert not (ROOT / "jupytext.toml").exists()
    config = (ROOT / "chapters" / "jupytext.toml").read_text()
    assert 'formats = "my-runs//ipynb,py:percent"' in config
    ignored = subprocess.run(["git", "check-ignore", "-q", "chapters/my-runs/01_x.ipynb"], cwd=ROOT)
    assert ignored.returncode == 0, "chapters/my-runs/ must be ignored by git"
    for chapter in bookmod.read_book(ROOT / "book.toml").chapters:
        header = chapter.path.read_text().split("# ---", 2)[1]
        assert "notebook_metadata_filter: -jupytext.text_representation.jupytext_version" in header
        assert "formats:" not in header, f"{chapter.path.name}: a formats line would pair it with the committed notebook"
