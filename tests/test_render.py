"""The HTML book: built from a small fixture manifest, every local link resolves, nothing is fetched."""

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import jupytext
import nbformat
import pytest

from helpers import book as bookmod
from helpers.render import RenderError, render_book

TITLES = ["First steps", "Second steps", "Third steps"]


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids, self.remote_loads = [], set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            if tag in ("script", "link", "img", "iframe") and re.match(r"(https?:)?//", value):
                self.remote_loads.append(value)


def parse(path):
    parser = Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def make_fixture(root: Path, execute: bool = True) -> Path:
    (root / "chapters").mkdir()
    entries = []
    for i, title in enumerate(TITLES):
        py = root / "chapters" / f"0{i}_part.py"
        py.write_text(f"# %% [markdown]\n# # {title}\n#\n# Text with a [reference](https://example.org).\n\n"
                      f"# %%\nprint('output of chapter {i}', {i} * 7)\n")
        if execute:
            nb = jupytext.read(py)
            nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                          text=f"output of chapter {i} {i * 7}\n")]
            nb.cells[1].execution_count = 1
            jupytext.write(nb, py.with_suffix(".ipynb"), fmt="ipynb")
        entries.append(f'[[chapters]]\npath = "chapters/0{i}_part.py"\ntitle = "{title}"\n'
                       f'summary = "Summary of {title.lower()}."\n')
    (root / "book.toml").write_text(
        '[book]\ntitle = "Fixture book"\nauthors = ["Tester"]\ndescription = "A book for the test."\n'
        'language = "en"\nsrc = "chapters"\n\n' + "\n".join(entries))
    return root / "book.toml"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("book")
    index = render_book(bookmod.read_book(make_fixture(root)), root / "out")
    return index


def test_index_lists_chapters_in_order_with_summaries(built):
    text = built.read_text()
    assert "Fixture book" in text and "A book for the test." in text and "Tester" in text
    positions = [text.index(t) for t in TITLES]
    assert positions == sorted(positions)
    for t in TITLES:
        assert f"Summary of {t.lower()}." in text


def test_every_local_link_resolves(built):
    pages = sorted(built.parent.glob("*.html"))
    assert [p.name for p in pages] == ["00_part.html", "01_part.html", "02_part.html", "index.html"]
    for page in pages:
        parsed = parse(page)
        assert parsed.links, f"{page.name} has no links"
        for href in parsed.links:
            url = urlparse(href)
            if url.scheme in ("http", "https", "mailto"):
                continue
            target = page if not url.path else (page.parent / unquote(url.path))
            assert target.is_file(), f"{page.name}: link {href!r} points nowhere"
            if url.fragment:
                assert unquote(url.fragment) in parse(target).ids, f"{page.name}: anchor {href!r} missing"


def test_pages_have_outputs_and_prev_next(built):
    first, middle, last = (built.parent / f"0{i}_part.html" for i in range(3))
    assert "output of chapter 1 7" in middle.read_text()
    assert 'href="00_part.html" rel="previous"' in middle.read_text()
    assert 'href="02_part.html" rel="next"' in middle.read_text()
    assert 'rel="previous"' not in first.read_text() and 'rel="next"' not in last.read_text()


def test_nothing_is_loaded_from_the_network(built):
    for page in built.parent.glob("*.html"):
        assert parse(page).remote_loads == [], page.name
        assert "import(\"http" not in page.read_text()


def test_unexecuted_chapter_is_refused(tmp_path):
    manifest = make_fixture(tmp_path, execute=False)
    with pytest.raises(RenderError, match="run the chapter first"):
        render_book(bookmod.read_book(manifest), tmp_path / "out")


def test_the_course_book_renders(tmp_path):
    course = bookmod.read_book(Path(__file__).resolve().parents[1] / "book.toml")
    index = render_book(course, tmp_path)
    assert all((tmp_path / f"{c.stem}.html").is_file() for c in course.chapters)
    assert course.title in index.read_text()


def chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_index_renders_in_headless_chromium(built):
    browser = chromium()
    if browser is None:
        pytest.skip("Chromium is not installed (make browser installs Debian's chromium); "
                    "the browser test of the book is skipped")
    run = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         f"--user-data-dir={built.parent.parent / 'chromium-profile'}", "--dump-dom", built.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    assert "<h1>Fixture book</h1>" in dom
    items = re.findall(r'<li><span class="num">\d+</span><a href="(\d\d_part\.html)">([^<]+)</a>', dom)
    assert items == [(f"0{i}_part.html", t) for i, t in enumerate(TITLES)]


def test_render_reads_the_notebooks_folder_it_is_given(tmp_path):
    """make course renders from _build/notebooks (where it executed the chapters), not from the
    committed notebooks beside the sources."""
    manifest = make_fixture(tmp_path)
    built_dir = tmp_path / "_build" / "notebooks"
    built_dir.mkdir(parents=True)
    for nb_path in (tmp_path / "chapters").glob("*.ipynb"):
        nb = nbformat.read(nb_path, as_version=4)
        nb.cells[1].outputs[0]["text"] = nb.cells[1].outputs[0]["text"].replace("output", "fresh output")
        nbformat.write(nb, built_dir / nb_path.name)
    index = render_book(bookmod.read_book(manifest), tmp_path / "out", notebooks=built_dir)
    assert "fresh output of chapter 1" in (index.parent / "01_part.html").read_text()
    (built_dir / "01_part.ipynb").unlink()
    with pytest.raises(RenderError, match="01_part.ipynb does not exist"):
        render_book(bookmod.read_book(manifest), tmp_path / "out2", notebooks=built_dir)
