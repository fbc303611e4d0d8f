# OptLab: the three commands of the README, and a few helpers.
#   make book   build the book into _build/html (creates .venv and installs what it needs)
#   make test   run every test: unit tests, nbval over every notebook, the labs' autograders,
#               the book build with -W and the headless-Chromium figure test
#   make lab    open JupyterLab on labs/
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PYTHONHASHSEED := 0
export XLA_PYTHON_CLIENT_PREALLOCATE := false
# JAX's persistent compilation cache, in _build (not the user's home), shared by the book
# build, nbval, the labs' autograders and the unit tests (kernels inherit the environment):
# what the book build compiled, nbval loads from disk. Chapter 3 under nbval: 56 s cold,
# 23 s warm (2026-12-04). Two segfaults in XLA's CPU compiler seen earlier came from one
# pytest process for the whole unit suite (thousands of compiled programs; one run had the
# cache on, one had it off), so unit tests run one process per test module.
export JAX_COMPILATION_CACHE_DIR := $(CURDIR)/_build/jax-cache
export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS := 0.1
# Property tests are derandomized (tests/conftest.py); `make hypothesis-random SEED=3` draws afresh.
SEED ?= 1

.PHONY: lint gpu-check hypothesis-random venv book book-student book-clean system-deps test _unit-tests _labs-tests _nbval _browser-tests _jupyterlab-tests unit notebooks lab labs-dist bench book-mutants

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[book,test,labs]"
	@touch $@

venv: $(STAMP)

# With REPOSITORY_URL (the book's public git repository), every chapter also gets launch
# buttons (JupyterLab on Binder; on your hub too with JUPYTERHUB_URL=...) and a repository link:
#   make book REPOSITORY_URL=https://github.com/<you>/optlab
REPOSITORY_URL ?=
# The book shows every viz.Explorer as static slider frames (no kernel behind the HTML);
# nbval, the labs and JupyterLab show the live widget (optlab/viz/explorer.py).
STATIC_FIGURES := OPTLAB_STATIC_FIGURES=1
JUPYTERHUB_URL ?=
BRANCH ?= main
book: $(STAMP)
ifeq ($(strip $(REPOSITORY_URL)),)
	$(STATIC_FIGURES) $(BIN)/jupyter-book build . -W --keep-going
else
	@mkdir -p _build
	$(BIN)/python tools/book_config.py --repository-url "$(REPOSITORY_URL)" --branch "$(BRANCH)" \
	  $(if $(JUPYTERHUB_URL),--jupyterhub-url "$(JUPYTERHUB_URL)") > _build/_config_launch.yml
	$(STATIC_FIGURES) $(BIN)/jupyter-book build . --config _build/_config_launch.yml -W --keep-going
endif

# The solutions-hidden edition (sphinx-exercise hide_solutions), into _build_student/_build/html.
book-student: $(STAMP)
	@mkdir -p _build
	$(BIN)/python tools/book_config.py --student > _build/_config_student.yml
	$(STATIC_FIGURES) $(BIN)/jupyter-book build . --config _build/_config_student.yml --path-output _build_student -W --keep-going

book-clean:
	rm -rf _build _build_student

# Chromium drives the browser tests. Installed with apt when missing (needs root, as in CI).
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else \
	    echo "chromium is missing: run 'sudo apt-get install -y chromium' (Debian/Ubuntu)"; exit 1; \
	  fi; }

# CI has two cores, and `make test` keeps both busy in two stages of independent jobs
# (make -j2 starts the next job as soon as a core is free; -k reports every failure):
#   1. the book build (executes every chapter cold, filling the compilation cache), the labs'
#      autograder tests (LAB_SHARDS jobs), ruff and mypy over src/optlab, and the unit tests,
#      one pytest process per test module;
#   2. the headless-Chromium tests of the built book, nbval over every notebook (warm: it
#      loads what the book build compiled), and a chapter and a lab run in a real JupyterLab
#      (tests/test_jupyterlab.py).
# nbval runs the notebooks one at a time in one process (a notebook's cells run in order in
# one kernel), with at most one other job beside it; its 60 s budget per notebook (enforced
# by conftest.py) is measured that way.
# One process per test module: in one process for the whole suite, XLA's CPU compiler
# segfaulted (backend_compile_and_load, in tests/test_privacy.py, after ~3,500 tests and
# thousands of compiled programs, jax 0.10.2); each module alone passes.
PYTEST := $(BIN)/pytest -p no:cacheprovider
UNIT_MODULES = $(filter-out tests/test_labs.py tests/test_book_browser.py tests/test_jupyterlab.py,$(sort $(wildcard tests/test_*.py)))
# The slowest modules first, so that the last job of the stage is a short one.
UNIT_FIRST = tests/test_bad_inputs.py tests/test_second_order.py tests/test_ot.py tests/test_stochastic.py
UNIT_JOBS = $(addprefix _unit/,$(UNIT_FIRST) $(filter-out $(UNIT_FIRST),$(UNIT_MODULES)))
# The labs' autograder tests need no book: they run in stage 1 as LAB_SHARDS jobs (each grades
# a set of labs that tests/test_labs.py balances by their number of mutants), started first
# because they are the longest jobs, so that the short unit modules fill the end of the stage.
LAB_SHARDS = 4
LAB_JOBS = $(addprefix _labs/,$(shell seq 1 $(LAB_SHARDS)))
test: $(STAMP) system-deps
	@mkdir -p $(JAX_COMPILATION_CACHE_DIR)  # created once, before parallel jobs write entries into it
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory -k -j2 -O book $(LAB_JOBS) lint $(UNIT_JOBS) || status=1; \
	echo "stage 1 (book build, labs, unit tests): $$(( $$(date +%s) - start )) s"; \
	$(MAKE) --no-print-directory -k -j2 -O _browser-tests _nbval _jupyterlab-tests || status=1; \
	echo "make test: $$(( $$(date +%s) - start )) s in all"; \
	if [ "$${status:-0}" = 0 ]; then echo "make test: everything passed"; else echo "make test: FAILED (see above)"; exit 1; fi

# ruff (lint and format) and mypy over the library (configured in pyproject.toml); over the
# notebooks (chapters and lab masters), pyflakes and syntax errors only (undefined, unused or
# redefined names): their style is the chapters' own.
lint: $(STAMP)
	$(BIN)/ruff check src/optlab
	$(BIN)/ruff format --check src/optlab
	$(BIN)/mypy src/optlab
	$(BIN)/ruff check --select F,E9 book labs

_unit/%: $(STAMP)
	$(PYTEST) -q $*

_unit-tests: $(STAMP)
	$(MAKE) --no-print-directory -k -j2 -O $(UNIT_JOBS)

_labs-tests: $(STAMP)
	$(PYTEST) tests/test_labs.py

_labs/%: $(STAMP)
	OPTLAB_LAB_SHARD=$*/$(LAB_SHARDS) $(PYTEST) -q --durations=12 tests/test_labs.py

# The labs' masters hold the solutions: their experiments must build (viz.experiment raises).
_nbval: $(STAMP)
	OPTLAB_STRICT_EXPERIMENTS=1 $(PYTEST) book labs --nbval-lax --nbval-current-env --nbval-cell-timeout=60

_browser-tests: $(STAMP)
	$(PYTEST) --durations=8 tests/test_book_browser.py

# A chapter and a lab in a real JupyterLab (one server, headless chromium): Run All, no
# error, the live explorer's slider moved and its round trip timed in the browser; the
# chapter's theorems and macros rendered by jupyterlab-myst.
_jupyterlab-tests: $(STAMP)
	$(PYTEST) tests/test_jupyterlab.py

unit: $(STAMP)
	$(BIN)/pytest tests -p no:cacheprovider -m "not book"

notebooks: $(STAMP)
	OPTLAB_STRICT_EXPERIMENTS=1 $(BIN)/pytest book labs --nbval-lax --nbval-current-env -p no:cacheprovider

# Installs tools/jupyter into the venv's Jupyter config (any `jupyter lab` run from the venv
# reads it): the book's TeX macros for jupyterlab-myst, widget state saved with the notebook,
# and JupyterLab's floating cell toolbar turned off (labconfig/page_config.json): it reads
# the rendered-Markdown widget that jupyterlab-myst's cells do not have, and threw a
# TypeError on every active Markdown cell (JupyterLab 4.5 and 4.6, jupyterlab-myst 2.6 and 2.7).
lab: $(STAMP)
	$(BIN)/python -m pip install -q -e ".[labs]"
	@mkdir -p $(VENV)/etc/jupyter/labconfig
	cp tools/jupyter/jupyter_server_config.py book/_ext/tex_macros.json $(VENV)/etc/jupyter/
	cp tools/jupyter/labconfig/default_setting_overrides.json tools/jupyter/labconfig/page_config.json \
	  $(VENV)/etc/jupyter/labconfig/
	$(BIN)/jupyter lab labs/

labs-dist: $(STAMP)
	$(BIN)/python tools/labs.py assign

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e ".[bench]"
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# Book mutation testing: every chapter with each of its deliberate library bugs
# (book/mutants/<chapter>.yml) must fail an assert; records book/mutants/results.md.
# One chapter: make book-mutants CHAPTERS=01_gradient_descent
CHAPTERS ?=
book-mutants: $(STAMP)
	$(BIN)/python tools/book_mutants.py --write $(CHAPTERS)

# The unit tests and every chapter on JAX's default device (a GPU when jax[cuda] is
# installed), printed as a table with the CPU times of the last `make test` beside.
gpu-check: $(STAMP)
	$(BIN)/python tools/gpu_check.py

# The property tests with fresh random examples (not derandomized): `make hypothesis-random SEED=2`.
hypothesis-random: $(STAMP)
	$(BIN)/pytest -p no:cacheprovider -q --hypothesis-profile=random --hypothesis-seed=$(SEED) \
	  $$(grep -l '@given' tests/test_*.py)
