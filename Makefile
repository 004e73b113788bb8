# Neural Networks in Fifty Questions: every command creates (once) and reuses .venv.
#   make book   install everything, execute every chapter, build the website
#   make test   install everything, run the whole test suite
# Use another interpreter with `make PYTHON=python3.12 ...` (3.11 or newer).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8000
PYTEST_WORKERS ?= 2

export TF_CPP_MIN_LOG_LEVEL  ?= 3
export TF_ENABLE_ONEDNN_OPTS ?= 0
export TQDM_DISABLE          ?= 1
export PYDEVD_DISABLE_FILE_VALIDATION ?= 1
# Matplotlib's font cache lives in the virtualenv, built once at install: a cache in ~/.cache
# that names the fonts of a deleted virtualenv makes the first formula in a figure log
# "findfont: Font family ... not found" to a chapter's stderr, and a fresh cache logs
# "Matplotlib is building the font cache" there (the website build fails on stderr).
export MPLCONFIGDIR ?= $(CURDIR)/$(VENV)/matplotlib

.PHONY: install book test test-browser lab serve bench bench-nnlib robustness clean strip toc

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt Makefile
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; found " + sys.version.split()[0] + ". Run: make PYTHON=python3.11 ...")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --constraint constraints.txt --editable ".[all]"
	$(PY) -c "import matplotlib.font_manager"
	touch $(STAMP)

# book/build.py executes the chapters in parallel into the execution cache, then runs
# `jupyter-book build . -W -n --keep-going`, which renders them from it.
book: $(STAMP)
	$(PY) book/build.py
	@echo "The website is at $(CURDIR)/_build/html/index.html (open it, or run: make serve)"

test: $(STAMP)
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile --nbval-lax --nbval-current-env -p nbval_book_cache -m "not book" tests notebooks
	$(PY) -m pytest -q -m book tests
	$(PY) tests/browser_check.py --if-available

# Every built page in headless Chromium with the network blocked (needs `make book` first).
test-browser: $(STAMP)
	$(PY) tests/browser_check.py

# JupyterLab on localhost only; LAB_ARGS adds options (e.g. LAB_ARGS=--port=8890; tests/test_lab.py uses it).
lab: $(STAMP)
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --ServerApp.root_dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

serve:
	@test -f _build/html/index.html || { echo "No website yet: run make book first."; exit 1; }
	$(PY) -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

bench: $(STAMP)
	$(PY) tests/bench.py $(if $(JOBS),-j $(JOBS))

# nnlib time / Keras time for the same computation, measured side by side (ROWS="conv lstm" picks some).
bench-nnlib: $(STAMP)
	$(PY) tests/bench_nnlib.py $(ROWS)

# Every chapter (or CHAPTERS="16 23") under other BLAS kernels, thread counts and seeds, and twice
# as it is; ENVS="seed-1 seed-2" picks environments (see tests/robustness.py). Not part of `make test`.
robustness: $(STAMP)
	$(PY) tests/robustness.py $(if $(CHAPTERS),--chapters $(CHAPTERS)) $(if $(ENVS),--envs $(ENVS))

toc: $(STAMP)
	$(PY) book/sync_toc.py

strip: $(STAMP)
	$(VENV)/bin/jupyter nbconvert --clear-output --inplace notebooks/*.ipynb

clean:
	rm -rf _build .pytest_cache .hypothesis
	find . -name __pycache__ -not -path "./$(VENV)/*" -prune -exec rm -rf {} +
