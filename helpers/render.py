"""Render the executed chapters as an offline HTML book (``make course``; issue: the HTML book).

``render_book(book)`` writes ``_build/book/index.html`` — the title, description and the chapters of
``book.toml`` in order with their summaries — and one page per executed chapter (outputs and
figures inline, previous / next links). Pages load nothing from the network: figures are embedded,
styles are inline, and nbconvert's CDN scripts (RequireJS, MathJax) are left out, so the book reads
the same from ``file://`` on a machine with no network.

Formulas (``$…$`` and ``$$…$$`` in markdown cells) are typeset by MathJax 2.7 as the PyPI package
``jupyter-server-mathjax`` ships it: ``render_book`` copies the part of it the pages use (the
``TeX-AMS-MML_HTMLorMML-full`` configuration, the TeX input, the HTML-CSS output and its STIX-Web
fonts; no localisations, no accessibility extensions) into ``mathjax/`` beside the pages, and
every chapter page loads ``mathjax/MathJax.js`` from there by a relative path.
"""

from __future__ import annotations

import html
import importlib.util
import re
import shutil
from pathlib import Path

#: Script and stylesheet tags that would fetch from the network.
_REMOTE_TAG = re.compile(
    r"<script[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^>]*>\s*</script>"
    r"|<link[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^>]*>",
    re.IGNORECASE,
)
#: Inline scripts that import code from the network (nbconvert's Mermaid loader).
_REMOTE_IMPORT = re.compile(r"<script[^>]*>(?:(?!</script>).)*?import\(\s*[\"']https?://.*?</script>", re.S)
#: nbconvert's MathJax block (a CDN script and its configuration), replaced by ``_MATHJAX``.
_MATHJAX_CONFIG = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)

#: The book's folder for MathJax, relative to the pages.
MATHJAX_DIR = "mathjax"
#: What of ``jupyter_server_mathjax/static`` the pages use, as paths relative to it (a folder is
#: copied whole). The HTML-CSS output loads the font metrics it needs from
#: ``jax/output/HTML-CSS/fonts/STIX-Web`` and the glyphs from ``fonts/HTML-CSS/STIX-Web/woff``;
#: ``extensions/TeX`` holds the macros MathJax autoloads (``\cancel``, ``\boldsymbol``…); the
#: other extensions serve MathJax's right-click menu (zoom, "show math as", help).
MATHJAX_FILES = (
    "LICENSE", "MathJax.js", "config/TeX-AMS-MML_HTMLorMML-full.js", "config/Safe.js",
    "extensions/Safe.js", "extensions/MathMenu.js", "extensions/MathZoom.js", "extensions/MathEvents.js",
    "extensions/HelpDialog.js", "extensions/FontWarnings.js", "extensions/MatchWebFonts.js",
    "extensions/toMathML.js", "extensions/AssistiveMML.js", "extensions/TeX", "extensions/HTML-CSS",
    "jax/input/TeX", "jax/element/mml", "jax/output/HTML-CSS", "fonts/HTML-CSS/STIX-Web/woff",
)
#: Loaded by every chapter page: the configuration first (MathJax reads it when it starts), then
#: MathJax. nbconvert's settings, with the STIX-Web web fonts (the ones the package ships) and no
#: look-up of fonts installed on the reader's machine, so every reader sees the same glyphs.
_MATHJAX = f"""<script type="text/x-mathjax-config">
MathJax.Hub.Config({{
  tex2jax: {{inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]], displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]],
             processEscapes: true, processEnvironments: true}},
  TeX: {{equationNumbers: {{autoNumber: "AMS", useLabelIds: true}}}},
  "HTML-CSS": {{availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null,
               linebreaks: {{automatic: true}}}},
  displayAlign: "center",
  messageStyle: "none"
}});
</script>
<script src="{MATHJAX_DIR}/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"></script>
"""

_STYLE = """
.book-nav { display: flex; justify-content: space-between; gap: 1em; align-items: center;
  font: 15px/1.4 system-ui, sans-serif; padding: 0.6em 1.2em; background: #f3f5f8;
  border-bottom: 1px solid #d0d7de; }
.book-nav.bottom { border-top: 1px solid #d0d7de; border-bottom: none; margin-top: 2em; }
.book-nav a { color: #0b5cad; text-decoration: none; }
.book-nav a:hover { text-decoration: underline; }
.book-nav .disabled { color: #aaa; }
"""

_INDEX = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font: 17px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 52em;
  margin: 2.5em auto; padding: 0 1.2em; color: #1f2328; }}
h1 {{ font-size: 2em; margin-bottom: 0.2em; }}
.authors {{ color: #57606a; margin-top: 0; }}
ol.chapters {{ padding-left: 0; list-style: none; counter-reset: none; }}
ol.chapters li {{ margin: 1.1em 0; padding: 0.8em 1em; border: 1px solid #d0d7de; border-radius: 8px; }}
ol.chapters a {{ font-size: 1.15em; font-weight: 600; color: #0b5cad; text-decoration: none; }}
ol.chapters .num {{ display: inline-block; min-width: 1.6em; font-weight: 600; color: #57606a; }}
ol.chapters .summary {{ margin: 0.35em 0 0; color: #3d444d; }}
.missing {{ color: #a40e26; }}
footer {{ margin-top: 3em; color: #57606a; font-size: 0.9em; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="authors">{authors}</p>
<p class="description">{description}</p>
<h2>Chapters</h2>
<ol class="chapters">
{items}
</ol>
<footer>Every page was generated by executing its chapter; the numbers are the ones measured in that run.
Source: <code>book.toml</code> and <code>{src}/</code>.</footer>
</body>
</html>
"""


class RenderError(RuntimeError):
    """A chapter cannot be rendered (for example, it was never executed)."""


def page_name(chapter) -> str:
    return f"{chapter.stem}.html"


def _nav(book, i: int, where: str) -> str:
    chapters = book.chapters

    def link(j, rel, word):
        if not 0 <= j < len(chapters):
            return f'<span class="disabled">{word}</span>'
        title = html.escape(chapters[j].title)
        text = f"← {word}: {title}" if rel == "previous" else f"{word}: {title} →"
        return f'<a href="{page_name(chapters[j])}" rel="{rel}">{text}</a>'

    return (f'<nav class="book-nav {where}">{link(i - 1, "previous", "Previous")}'
            f'<a href="index.html">{html.escape(book.title)} — contents</a>'
            f'{link(i + 1, "next", "Next")}</nav>')


def _executed(book, i: int, notebooks: str | Path | None) -> Path:
    """The executed notebook of chapter ``i``: in the folder ``notebooks``, else beside its ``.py``."""
    chapter = book.chapters[i]
    source = chapter.notebook if notebooks is None else Path(notebooks) / chapter.notebook.name
    if not source.is_file():
        raise RenderError(f"{source} does not exist: run the chapter first "
                          f"(python -m helpers.book run {chapter.stem})")
    return source


def render_chapter(book, i: int, notebooks: str | Path | None = None) -> str:
    """The HTML page of chapter ``i`` (its executed notebook, with navigation).

    The notebook is read from the folder ``notebooks`` (e.g. ``_build/notebooks``, where
    ``make course`` executes the chapters), or, when it is None, the committed one beside the
    chapter's ``.py``.
    """
    import nbformat
    from nbconvert import HTMLExporter

    source = _executed(book, i, notebooks)
    try:
        nb = nbformat.read(source, as_version=4)
    except Exception as err:  # not JSON, not a notebook, not UTF-8, unreadable: one line says which
        first = (str(err).strip().splitlines() or [""])[0]
        raise RenderError(f"{source}: not a notebook nbformat can read ({type(err).__name__}: {first})") from None
    if not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"):
        raise RenderError(f"{source} has no outputs: run the chapter first")
    exporter = HTMLExporter(template_name="lab", embed_images=True)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": book.chapters[i].title}})
    for pattern in (_MATHJAX_CONFIG, _REMOTE_TAG, _REMOTE_IMPORT):
        body = pattern.sub("", body)
    body = body.replace("</head>", f"<style>{_STYLE}</style>\n{_MATHJAX}</head>", 1)
    body = re.sub(r"<body([^>]*)>", lambda m: f"<body{m.group(1)}>\n{_nav(book, i, 'top')}", body, count=1)
    body = body.replace("</body>", f"{_nav(book, i, 'bottom')}\n</body>", 1)
    return body


def mathjax_source() -> Path:
    """The ``static`` folder of the installed ``jupyter_server_mathjax`` (found without importing
    it, which would import the Jupyter server)."""
    spec = importlib.util.find_spec("jupyter_server_mathjax")
    static = Path(spec.submodule_search_locations[0]) / "static" if spec else None
    if static is None or not (static / "MathJax.js").is_file():
        raise RenderError("the book's formulas need MathJax from the package jupyter-server-mathjax: "
                          "pip install -e '.[dev]'")
    return static


def copy_mathjax(out: str | Path) -> Path:
    """Copy ``MATHJAX_FILES`` into ``out/mathjax`` (replacing an older copy); returns that folder."""
    source, target = mathjax_source(), Path(out) / MATHJAX_DIR
    missing = [name for name in MATHJAX_FILES if not (source / name).exists()]
    if missing:
        raise RenderError(f"{source} lacks {', '.join(missing)}: not the MathJax 2.7 the book was built for")
    shutil.rmtree(target, ignore_errors=True)
    for name in MATHJAX_FILES:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        if (source / name).is_dir():
            shutil.copytree(source / name, target / name)
        else:
            shutil.copy2(source / name, target / name)
    return target


def render_book(book, output: str | Path | None = None, notebooks: str | Path | None = None) -> Path:
    """Write the index, one page per chapter and the MathJax they load (``mathjax/``) into
    ``output`` (default ``_build/book``), from the executed notebooks in ``notebooks`` (default:
    the committed ones). A missing notebooks folder or notebook, a missing MathJax, or an output
    that cannot be a folder, is a RenderError before any page is written."""
    if notebooks is not None and not Path(notebooks).is_dir():
        raise RenderError(f"{notebooks}: no such folder; run the chapters into it first "
                          f"(python -m helpers.book run --into {notebooks})")
    for i in range(len(book.chapters)):
        _executed(book, i, notebooks)
    mathjax_source()
    out = Path(output) if output else book.root / "_build" / "book"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RenderError(f"{out}: cannot make it the book's folder ({err.strerror})") from None
    copy_mathjax(out)
    items = []
    for i, chapter in enumerate(book.chapters):
        (out / page_name(chapter)).write_text(render_chapter(book, i, notebooks), encoding="utf-8")
        summary = f'<p class="summary">{html.escape(chapter.summary)}</p>' if chapter.summary else ""
        number = f'<span class="num">{int(chapter.stem[:2])}</span>' if chapter.stem[:2].isdigit() else ""
        items.append(f'<li>{number}<a href="{page_name(chapter)}">{html.escape(chapter.title)}</a>{summary}</li>')
    index = out / "index.html"
    index.write_text(_INDEX.format(
        lang=html.escape(book.language), title=html.escape(book.title),
        authors=html.escape(", ".join(book.authors)), description=html.escape(book.description),
        items="\n".join(items), src=html.escape(book.src.name)), encoding="utf-8")
    return index
