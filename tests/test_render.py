"""The HTML book: built from a small fixture manifest and from the course itself, every local link
resolves, nothing is fetched from the network, and in a real browser (Playwright driving Debian's
Chromium) the index lists the chapters and chapter 1's formulas are typeset by the book's own MathJax."""

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import jupytext
import nbformat
import pytest

from helpers import book as bookmod
from helpers import render as rendermod
from helpers.render import MATHJAX_DIR, RenderError, render_book

ROOT = Path(__file__).resolve().parents[1]

TITLES = ["First steps", "Second steps", "Third steps"]


#: A URL that leaves the machine: http(s), or protocol-relative ``//host/…``.
REMOTE = re.compile(r"\s*(https?:)?//", re.I)
#: ``url(…)`` and ``@import "…"`` in CSS (a stylesheet can fetch fonts and other stylesheets).
CSS_URL = re.compile(r"""url\(\s*["']?([^"')\s]+)|@import\s+["']([^"']+)""", re.I)


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids, self.remote_loads, self.local_loads = [], set(), [], []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            if tag in ("script", "link", "img", "iframe", "source", "embed") and value \
                    and not value.startswith(("data:", "#")):
                (self.remote_loads if REMOTE.match(value) else self.local_loads).append(value)
        for url in CSS_URL.findall(attrs.get("style") or ""):
            self._css(url)
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            for url in CSS_URL.findall(data):
                self._css(url)

    def _css(self, found):
        url = next(u for u in found if u)
        if REMOTE.match(url):
            self.remote_loads.append(url)


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


@pytest.fixture(scope="module")
def course_book(tmp_path_factory):
    """The course's own book, rendered once from the committed notebooks."""
    course = bookmod.read_book(ROOT / "book.toml")
    return course, render_book(course, tmp_path_factory.mktemp("course-book"))


def test_the_parser_sees_remote_scripts_stylesheets_and_css_urls():
    """The network test below relies on ``Links``: it must catch each way a page can fetch."""
    for tag in ('<script src="https://cdn.example.org/x.js"></script>',
                '<link rel="stylesheet" href="//cdn.example.org/x.css">',
                '<style>@font-face { src: url("https://fonts.example.org/a.woff") }</style>',
                "<style>@import 'http://example.org/x.css';</style>",
                '<div style="background: url(https://example.org/a.png)"></div>'):
        parser = Links()
        parser.feed(tag)
        assert len(parser.remote_loads) == 1, tag
    parser = Links()
    parser.feed('<script src="mathjax/MathJax.js?config=X"></script><a href="https://example.org">ref</a>'
                '<style>.a { background: url(data:image/png;base64,AAAA) }</style>')
    assert parser.remote_loads == [] and parser.local_loads == ["mathjax/MathJax.js?config=X"]


@pytest.mark.parametrize("which", ["built", "course_book"])
def test_nothing_is_loaded_from_the_network(which, request):
    """No page of the fixture book or of the course's book names an http(s) script, stylesheet,
    image or CSS url(); every file a page loads is in the book's folder."""
    index = request.getfixturevalue(which)
    index = index[1] if isinstance(index, tuple) else index
    pages = sorted(index.parent.glob("*.html"))
    assert len(pages) >= 4
    for page in pages:
        parsed = parse(page)
        assert parsed.remote_loads == [], page.name
        assert not re.search(r"import\(\s*[\"']https?:", page.read_text()), page.name
        for url in parsed.local_loads:
            assert (page.parent / unquote(urlparse(url).path)).is_file(), f"{page.name}: {url} is not in the book"


def test_every_chapter_page_loads_the_books_own_mathjax(course_book):
    course, index = course_book
    folder = index.parent / MATHJAX_DIR
    for chapter in course.chapters:
        loads = parse(index.parent / f"{chapter.stem}.html").local_loads
        assert [u for u in loads if "MathJax" in u] == [f"{MATHJAX_DIR}/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"]
    for name in ("MathJax.js", "LICENSE", "config/TeX-AMS-MML_HTMLorMML-full.js", "config/Safe.js",
                 "jax/output/HTML-CSS/fonts/STIX-Web/fontdata.js",
                 "fonts/HTML-CSS/STIX-Web/woff/STIXMathJax_Main-Regular.woff"):
        assert (folder / name).is_file(), name
    # Only what the pages use: no localisations, accessibility extensions or SVG output (MB).
    assert not any((folder / name).exists() for name in ("localization", "extensions/a11y", "jax/output/SVG"))
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    assert 1_000_000 < size < 4_000_000, size


def test_without_mathjax_nothing_is_written(tmp_path, monkeypatch):
    manifest = make_fixture(tmp_path)
    real = rendermod.importlib.util.find_spec
    monkeypatch.setattr(rendermod.importlib.util, "find_spec",
                        lambda name, *a: None if name == "jupyter_server_mathjax" else real(name, *a))
    with pytest.raises(RenderError, match="jupyter-server-mathjax"):
        render_book(bookmod.read_book(manifest), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unexecuted_chapter_is_refused(tmp_path):
    manifest = make_fixture(tmp_path, execute=False)
    with pytest.raises(RenderError, match="run the chapter first"):
        render_book(bookmod.read_book(manifest), tmp_path / "out")


def test_the_course_book_renders(course_book):
    course, index = course_book
    assert all((index.parent / f"{c.stem}.html").is_file() for c in course.chapters)
    assert course.title in index.read_text()


# ------------------------------------------------------------------------------ in a real browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
#: Chromium flags for a headless run as root on a machine without a network (as tests/test_lab.py).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (make browser installs Debian's chromium); "
                    "the browser tests of the book are skipped")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_offline(browser, page_path: Path):
    """A new browser page showing ``page_path`` from file://, every http(s) request refused.
    Returns the page and what it asked for: ``{"requested": URLs, "refused": the http(s) ones,
    "failed": "URL (reason)" of the requests that failed}`` (lists that keep filling)."""
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    seen = {"requested": [], "refused": [], "failed": []}

    def refuse(route):
        seen["refused"].append(route.request.url)
        route.abort()

    page.route(re.compile(r"^(https?|wss?)://"), refuse)
    page.on("request", lambda request: seen["requested"].append(request.url))
    page.on("requestfailed", lambda request: seen["failed"].append(f"{request.url} ({request.failure})"))
    page.goto(page_path.as_uri())
    return page, seen


def test_index_renders_in_chromium(built, browser):
    page, seen = open_offline(browser, built)
    assert page.locator("h1").inner_text() == "Fixture book"
    items = page.locator("ol.chapters li a")
    assert [(items.nth(i).get_attribute("href"), items.nth(i).inner_text()) for i in range(items.count())] \
        == [(f"0{i}_part.html", t) for i, t in enumerate(TITLES)]
    assert seen["refused"] == []
    page.close()


def formulas(notebook: Path) -> list[str]:
    """The TeX of every ``$$…$$`` and ``$…$`` formula in the notebook's markdown cells (display
    formulas of a cell first), code spans and escaped dollars left out."""
    found = []
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "markdown":
            continue
        text = re.sub(r"`[^`]*`", "", cell.source).replace("\\$", "")
        found += [m.strip() for m in re.findall(r"\$\$(.+?)\$\$", text, re.S)]
        found += [m.strip() for m in re.findall(r"\$([^$\n]+?)\$", re.sub(r"\$\$.+?\$\$", "", text, flags=re.S))]
    return found


#: Resolves once MathJax has finished starting up, the typesetting of the page included.
MATHJAX_DONE = """() => new Promise(done => MathJax.Hub.Register.StartupHook("End", () => done(true)))"""
#: For every formula MathJax found: its TeX, whether its output is shown (a box with a size), and
#: the messages MathJax posted about errors (TeX parse errors, undefined macros, font failures).
MATHJAX_REPORT = """() => ({
  formulas: [...document.querySelectorAll('script[type^="math/tex"]')].map(script => {
    const jax = MathJax.Hub.getJaxFor(script), shown = script.previousElementSibling;
    const box = shown ? shown.getBoundingClientRect() : {width: 0, height: 0};
    return {tex: script.textContent.trim(), typeset: !!jax,
            output: shown ? shown.className : "", width: box.width, height: box.height};
  }),
  errorElements: document.querySelectorAll(".MathJax_Error, .merror, .noError").length,
  messages: MathJax.Hub.signal.posted.map(String).filter(m => /error|undefined|fail|image font/i.test(m)),
  font: MathJax.OutputJax["HTML-CSS"].fontInUse,
  markdownText: [...document.querySelectorAll(".jp-MarkdownCell")].map(cell => cell.innerText).join("\\n"),
})"""


def test_chapter_1_formulas_are_typeset_offline(course_book, browser, tmp_path_factory):
    """Chapter 1's page, opened from file:// with the network refused, typesets every formula of its
    notebook with the book's MathJax: each one has an HTML-CSS output box, none is left as TeX text,
    MathJax reports no error, and every file it loaded was in the book's folder. A screenshot around
    the first displayed formula is saved (its path printed, ``pytest -s``) for a person to look at."""
    course, index = course_book
    chapter = next(c for c in course.chapters if c.stem.startswith("01_"))
    expected = formulas(chapter.notebook)
    assert any(r"\lVert f(x)\rVert" in tex for tex in expected), "chapter 1 changed: pick another known formula"
    page, seen = open_offline(browser, index.parent / f"{chapter.stem}.html")
    page.wait_for_function("() => window.MathJax && MathJax.Hub && MathJax.Hub.Register", timeout=60_000)
    page.evaluate(MATHJAX_DONE)
    report = page.evaluate(MATHJAX_REPORT)

    assert sorted(f["tex"] for f in report["formulas"]) == sorted(expected)
    for f in report["formulas"]:
        assert f["typeset"] and f["output"] in ("MathJax", "MathJax_Display"), f
        assert f["width"] > 0 and f["height"] > 0, f
    assert report["errorElements"] == 0 and report["messages"] == []
    assert report["font"] == "STIX-Web"
    for tex in expected:  # the reader sees the typeset formula, not its source
        assert f"${tex}$" not in report["markdownText"] and ("\\" not in tex or tex not in report["markdownText"])
    assert "$$" not in report["markdownText"]
    assert seen["refused"] == []
    book_folder = index.parent.as_uri() + "/"
    assert [f for f in seen["failed"] if f.startswith("file:")] == []
    assert [u for u in seen["requested"] if not u.startswith((book_folder, "data:", "about:"))] == []
    assert any(u.startswith(book_folder + "mathjax/fonts/") for u in seen["requested"])

    shots = tmp_path_factory.mktemp("screenshots")
    page.locator(".MathJax_Display").first.evaluate("e => e.scrollIntoView({block: 'center'})")
    page.screenshot(path=shots / "01_formulas.png")
    print(f"screenshot of chapter 1's formulas: {shots / '01_formulas.png'}")
    page.close()


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
