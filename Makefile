# The course's commands. On a fresh machine with python3 (3.11), make and access to PyPI:
#   make course     run every chapter (the reader's profile) into _build/notebooks, render the book
#   make test       everything CI checks: pytest on helpers, nbval on every chapter (quick profile),
#                   and every chapter again on a full-size (60,000-image) MNIST stand-in
#   make standin    write that stand-in (IDX files made offline from the 5,000 real images) to
#                   _build/mnist_standin; `TRIPLET_COURSE_DATA=_build/mnist_standin make course` runs
#                   the course at full MNIST's size
#   make lab        JupyterLab on the chapters, .py files opening as notebooks
#   make notebooks  (maintainers) re-execute the chapters into the committed chapters/*.ipynb

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.setup-done
KERNEL := triplet-course
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONDONTWRITEBYTECODE := 1

STANDIN := _build/mnist_standin

.PHONY: setup course chapters notebooks book test pytest nbval fullsize standin lab benchmarks browser clean

setup: $(STAMP)

# Re-run the install only when the dependencies, or the kernel and lab settings it registers
# (helpers/lab.py), change; otherwise `make setup` is instant.
$(STAMP): pyproject.toml Makefile helpers/lab.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(PY) -m helpers.book kernel
	$(PY) -m helpers.book lab-settings
	@touch $(STAMP)
	@echo "setup done: $(VENV) with the '$(KERNEL)' kernel"

# The course writes only into _build/ (ignored by git): running it changes no tracked file.
course: setup
	@start=$$(date +%s); \
	$(PY) -m helpers.book run --jobs 2 --into _build/notebooks && \
	$(PY) -m helpers.book render --notebooks _build/notebooks && \
	echo "make course: $$(( $$(date +%s) - start )) s in all"

chapters: setup
	$(PY) -m helpers.book run --into _build/notebooks

# Maintainers, after editing a chapter's .py: regenerate the committed notebooks (and commit them).
notebooks: setup
	$(PY) -m helpers.book refresh

book: setup
	$(PY) -m helpers.book render

test: setup
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory browser pytest nbval fullsize && \
	echo "make test: $$(( $$(date +%s) - start )) s in all"

pytest: setup
	TRIPLET_COURSE_PROFILE=quick $(PY) -m pytest tests

nbval: setup
	$(PY) -m helpers.book check
	TRIPLET_COURSE_PROFILE=quick $(PY) -m pytest -p no:cacheprovider --nbval-lax \
	    --nbval-kernel-name $(KERNEL) $$($(PY) -m helpers.book list --ipynb)

# Full MNIST's size without a download: 60,000 / 10,000 images jittered from the offline subset
# (helpers/standin.py). `fullsize` runs every chapter on it in the quick profile (the reader
# profile's limits make its time the offline subset's: see the README).
standin: setup
	$(PY) -m helpers.standin $(STANDIN)

fullsize: standin
	@start=$$(date +%s); \
	TRIPLET_COURSE_PROFILE=quick TRIPLET_COURSE_DATA=$(STANDIN) $(PY) -m helpers.book run --jobs 2 \
	    --into _build/fullsize_notebooks && \
	echo "every chapter ran on the full-size stand-in: $$(( $$(date +%s) - start )) s"

# JupyterLab on chapters/ (the command is helpers.book.lab_command, which the browser test runs too).
lab: setup
	$(PY) -m helpers.book lab

# Every benchmark, each writing the figures the README quotes to benchmarks/results/ (tests/test_readme.py
# checks the README against them). Run on a quiet machine: they time things. Choose recipes first.
benchmarks: setup
	$(PY) benchmarks/recipe_selection.py --json benchmarks/results/recipe_selection.json
	$(PY) benchmarks/embedding_quality.py --json benchmarks/results/embedding_quality.json
	$(PY) benchmarks/training_throughput.py --json benchmarks/results/training_throughput.json
	$(PY) benchmarks/loss_scaling.py --json benchmarks/results/loss_scaling.json

# Debian's Chromium, for the browser test of the rendered book. Installed where this user can
# (root with apt-get); elsewhere the browser test is skipped and says why.
browser:
	@if command -v chromium >/dev/null; then echo "chromium: $$(command -v chromium)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the browser test …"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "could not install chromium: the browser test will be skipped"; \
	else echo "chromium is absent and cannot be installed here: the browser test will be skipped"; fi

clean:
	rm -rf _build runs .pytest_cache
