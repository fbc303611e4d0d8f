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
# JAX's persistent compilation cache stays OFF for now: a fresh `make test` with it on
# segfaulted in test_privacy.py during a cache write; a second run without it segfaulted at the
# same test inside XLA's compiler, so the cache was not proven guilty, but it is off until that
# is understood (2026-12-04). Compile once per shape is done in-process by module-level jit.
# Property tests are derandomized (tests/conftest.py); `make hypothesis-random SEED=3` draws afresh.
SEED ?= 1

.PHONY: gpu-check hypothesis-random venv book book-student book-clean system-deps test _unit-tests _nbval _browser-tests unit notebooks lab labs-dist bench

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
JUPYTERHUB_URL ?=
BRANCH ?= main
book: $(STAMP)
ifeq ($(strip $(REPOSITORY_URL)),)
	$(BIN)/jupyter-book build . -W --keep-going
else
	@mkdir -p _build
	$(BIN)/python tools/book_config.py --repository-url "$(REPOSITORY_URL)" --branch "$(BRANCH)" \
	  $(if $(JUPYTERHUB_URL),--jupyterhub-url "$(JUPYTERHUB_URL)") > _build/_config_launch.yml
	$(BIN)/jupyter-book build . --config _build/_config_launch.yml -W --keep-going
endif

# The solutions-hidden edition (sphinx-exercise hide_solutions), into _build_student/_build/html.
book-student: $(STAMP)
	@mkdir -p _build
	$(BIN)/python tools/book_config.py --student > _build/_config_student.yml
	$(BIN)/jupyter-book build . --config _build/_config_student.yml --path-output _build_student -W --keep-going

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

# CI has two cores, so `make test` keeps both busy in three stages:
#   1. the book build (executes every chapter) beside the unit tests;
#   2. the labs' autograder tests on two xdist workers, one lab per worker at a time;
#   3. nbval over every notebook beside the headless-Chromium tests of the built book.
# nbval stays out of xdist: a notebook's cells must run in order in one kernel. Each
# notebook runs with at most one other job beside it, and its 60 s budget (enforced by
# conftest.py) is measured that way.
PYTEST := $(BIN)/pytest -p no:cacheprovider
test: $(STAMP) system-deps
	$(MAKE) --no-print-directory -j2 -O book _unit-tests
	$(PYTEST) tests/test_labs.py -n 2 --dist loadgroup
	$(MAKE) --no-print-directory -j2 -O _nbval _browser-tests

# One process per test module: in one process for the whole suite, XLA's CPU compiler
# segfaulted (backend_compile_and_load, in tests/test_privacy.py, after ~3,500 tests and
# thousands of compiled programs, jax 0.10.2); each module alone passes.
UNIT_MODULES = $(filter-out tests/test_labs.py tests/test_book_browser.py,$(sort $(wildcard tests/test_*.py)))
_unit-tests: $(STAMP)
	@status=0; for f in $(UNIT_MODULES); do $(PYTEST) -q $$f || status=1; done; \
	  if [ $$status = 0 ]; then echo "unit tests: every module passed"; else echo "unit tests: FAILED"; fi; exit $$status

_nbval: $(STAMP)
	$(PYTEST) book labs --nbval-lax --nbval-current-env --nbval-cell-timeout=60

_browser-tests: $(STAMP)
	$(PYTEST) tests/test_book_browser.py

unit: $(STAMP)
	$(BIN)/pytest tests -p no:cacheprovider -m "not book"

notebooks: $(STAMP)
	$(BIN)/pytest book labs --nbval-lax --nbval-current-env -p no:cacheprovider

lab: $(STAMP)
	$(BIN)/python -m pip install -q -e ".[labs]"
	$(BIN)/jupyter lab labs/

labs-dist: $(STAMP)
	$(BIN)/python tools/labs.py assign

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e ".[bench]"
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# The unit tests and every chapter on JAX's default device (a GPU when jax[cuda] is
# installed), printed as a table with the CPU times of the last `make test` beside.
gpu-check: $(STAMP)
	$(BIN)/python tools/gpu_check.py

# The property tests with fresh random examples (not derandomized): `make hypothesis-random SEED=2`.
hypothesis-random: $(STAMP)
	$(BIN)/pytest -p no:cacheprovider -q --hypothesis-profile=random --hypothesis-seed=$(SEED) \
	  $$(grep -l '@given' tests/test_*.py)
