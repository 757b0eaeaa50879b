# restorelab: `make demo` and `make test` set everything up on a fresh machine.
#
# VENV: the virtual environment to use (created when missing). It sees the
# system's site-packages, so a torch you already have is kept. When no torch is
# importable, torch==2.13.0 is installed first: an unpinned torch would pull a
# multi-GB CUDA build.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.restorelab-installed
PYTEST_ARGS ?=

.PHONY: install demo test test-slow clean

install: $(STAMP)

$(PY):
	python3 -m venv --system-site-packages $(VENV)

$(STAMP): $(PY) setup.py
	$(PY) -m pip install -q --upgrade 'pip>=23'
	@$(PY) -c "import torch" 2>/dev/null \
		&& echo "keeping installed torch $$($(PY) -c 'import torch; print(torch.__version__)')" \
		|| $(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

demo: install
	$(PY) tools/demo.py

test: install
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-slow: install
	$(PY) -m pytest -q --runslow $(PYTEST_ARGS)

clean:
	rm -rf work_dirs .pytest_cache
