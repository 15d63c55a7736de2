"""The learner's door: JupyterLab started as `make lab` starts it, in a real browser.

Double-clicking a chapter's ``.py`` must open it as a notebook (rendered markdown, code cells, the
course kernel), with no extension error in the browser console; running it and saving it, unedited,
must leave ``git status`` clean. The lab serves a git copy of the chapters as they are in this work
tree, with a fresh user-settings folder, on loopback. Playwright drives Debian's Chromium
(``make browser`` installs it); without it the test is skipped and says why.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from helpers import book as bookmod

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make browser)")

#: Chromium flags for a headless run as root on a machine without a network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: Console messages that mean a lab extension did not load (what jupytext's did when JupyterLab and
#: jupytext were built for different minor versions).
EXTENSION_FAILURE = re.compile(r"shared module|not found|failed to (load|set)|extension", re.I)


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def course_copy(tmp_path_factory) -> Path:
    """A git repository holding this work tree's course files as they are now, committed."""
    copy = tmp_path_factory.mktemp("course")
    for name in ("book.toml", ".gitignore"):
        shutil.copy2(ROOT / name, copy / name)
    (copy / "chapters").mkdir()
    for path in (ROOT / "chapters").iterdir():
        if path.is_file():
            shutil.copy2(path, copy / "chapters" / path.name)
    _git(copy, "init", "-q")
    _git(copy, "add", "-A")
    _git(copy, "-c", "user.name=test", "-c", "user.email=test@localhost", "commit", "-qm", "course")
    return copy


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(course_copy, tmp_path_factory):
    """JupyterLab started by `make lab`'s command, on loopback, with fresh user settings."""
    home = tmp_path_factory.mktemp("lab-home")
    port, token = _free_port(), "course-browser-test"
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "TRIPLET_COURSE_PROFILE": "quick"}
    command = bookmod.lab_command(bookmod.read_book(course_copy / "book.toml"),
                                  ["--no-browser", "--ip=127.0.0.1", f"--port={port}",
                                   f"--IdentityProvider.token={token}", "--ServerApp.port_retries=0"])
    log = open(home / "lab.log", "w")
    server = subprocess.Popen(command, cwd=course_copy, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"JupyterLab did not start: {(home / 'lab.log').read_text()[-2000:]}")
            time.sleep(0.5)
    yield f"{url}/lab?token={token}"
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


#: True once every code cell of the visible notebook shows an execution count, e.g. ``[7]:``
#: (textContent: the lab leaves innerText empty for cells scrolled out of view).
ALL_CELLS_RAN = """() => {
  const prompts = [...document.querySelectorAll(
      '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-prompt')];
  return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}"""


def _open_chapter(browser, url: str, name: str):
    """A fresh page of the lab (its own empty workspace) with chapter ``name`` opened by
    double-click in the file browser; returns the page, the notebook panel and the console errors
    seen so far (a list that keeps filling)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url.replace("/lab?", f"/lab/workspaces/{Path(name).stem}?reset&"))
    item = page.locator(f'.jp-DirListing-item[title^="Name: {name}"]')
    item.wait_for(timeout=60_000)
    item.dblclick()
    panel = page.locator(".jp-NotebookPanel:visible")
    try:
        panel.wait_for(timeout=60_000)
    except playwright_api.TimeoutError:
        editor = page.locator(".jp-FileEditor:visible").count()
        page.close()
        pytest.fail(f"{name} did not open as a notebook{' but in a text editor' if editor else ''}; "
                    f"browser console errors: {errors}")
    return page, panel, errors


@pytest.mark.parametrize("stem", ["01_triplet_theory", "04_training"])
def test_chapter_opens_as_a_notebook_and_saving_it_changes_nothing(browser, lab, course_copy, stem):
    source = course_copy / "chapters" / f"{stem}.py"
    before = source.stat().st_mtime_ns
    page, panel, errors = _open_chapter(browser, lab, f"{stem}.py")
    try:
        title = panel.locator(".jp-MarkdownCell .jp-RenderedMarkdown h1").first
        title.wait_for(timeout=30_000)
        assert title.inner_text().startswith("Chapter"), "the first markdown cell is rendered"
        page.wait_for_function(  # code cells, not a text editor (the lab renders them in turn)
            "() => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell').length >= 5",
            timeout=30_000)
        kernel = panel.locator(".jp-Toolbar-kernelName")
        kernel.wait_for(timeout=30_000)
        page.wait_for_function("n => document.querySelector(n).innerText.includes('triplet course')",
                               arg=".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar-kernelName", timeout=60_000)
        # Cells run before the kernel is connected are dropped: wait for it, as a learner sees it.
        page.wait_for_function("() => document.querySelector('.jp-StatusBar-Widget').innerText"
                               ".includes('(triplet course) | Idle')", timeout=120_000, polling=500)
        # Run every cell, as a learner would (Run > Run All Cells), then save, unedited.
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        page.wait_for_function(ALL_CELLS_RAN, timeout=300_000, polling=1000)
        # The lab autosaves while a long chapter runs: what counts is the save after the last cell,
        # so compare with the files as they are just before Ctrl+S, not as they were at the start.
        run = course_copy / "chapters" / "my-runs" / f"{stem}.ipynb"
        before = source.stat().st_mtime_ns
        run_before = run.stat().st_mtime_ns if run.is_file() else None
        page.keyboard.press("Control+s")
        deadline = time.monotonic() + 30
        while source.stat().st_mtime_ns == before and time.monotonic() < deadline:
            time.sleep(0.2)
        assert source.stat().st_mtime_ns != before, "the lab saved the chapter"
        deadline = time.monotonic() + 30
        while (not run.is_file() or run.stat().st_mtime_ns == run_before) and time.monotonic() < deadline:
            time.sleep(0.2)
        executed = json.loads(run.read_text())
        code = [c for c in executed["cells"] if c["cell_type"] == "code"]
        assert all(c["execution_count"] for c in code), "the outputs were saved in my-runs/"
        assert not [o for c in code for o in c["outputs"] if o["output_type"] == "error"], \
            f"{stem} raised an error in the lab"
        assert _git(course_copy, "status", "--porcelain") == "", "saving an unedited chapter changed tracked files"
        failures = [e for e in errors if EXTENSION_FAILURE.search(e)]
        assert not failures, f"lab extension errors in the browser console: {failures}"
        assert not errors, f"errors in the browser console: {errors}"
    finally:
        page.screenshot(path=str(course_copy.parent / f"{stem}.png"))
        page.close()
