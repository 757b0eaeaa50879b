# restorelab: `make demo` and `make test` set everything up on a fresh machine.
#
# VENV: the virtual environment to use (created when missing). It sees the
# system's site-packages, so a torch you already have is kept. When no torch is
# importable, torch==2.13.0 is installed first: an unpinned torch would pull a
# multi-GB CUDA build.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.restorelab-installed
WEBUI_STAMP := $(VENV)/.restorelab-webui-installed
BROWSER_STAMP := $(VENV)/.restorelab-browser-test-installed
DEPLOY_STAMP := $(VENV)/.restorelab-deploy-installed
ZOO_STAMP := $(VENV)/.restorelab-zoo-installed
PYTEST_ARGS ?=

.PHONY: install install-webui install-browser-test install-deploy install-zoo demo webui test test-slow test-all gpu-check clean

install: $(STAMP)

# The web app (tools/webui.py): gradio.
install-webui: $(WEBUI_STAMP)

# What the web app's browser tests (tests/webui) drive: selenium, and Debian's chromium and
# chromium-driver, installed with apt-get when running as root (as CI does); otherwise those
# tests skip, naming what is missing.
install-browser-test: $(BROWSER_STAMP)

# ONNX export and the onnxruntime backend (tools/deploy/export_onnx.py, tools/derain.py
# --backend onnxruntime): onnx and onnxruntime. `make test` installs them so that tests/deploy
# runs; `make demo` and `make install` do not need them.
install-deploy: $(DEPLOY_STAMP)

# Released weights on Google Drive (tools/zoo.py download NAME): gdown. `make test` installs it so
# that the Drive tests (against a local server) run; weights in git repositories need nothing.
install-zoo: $(ZOO_STAMP)

$(PY):
	python3 -m venv --system-site-packages $(VENV)

$(STAMP): $(PY) setup.py
	$(PY) -m pip install -q --upgrade 'pip>=23'
	@$(PY) -c "import torch" 2>/dev/null \
		&& echo "keeping installed torch $$($(PY) -c 'import torch; print(torch.__version__)')" \
		|| $(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

$(WEBUI_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[test,webui]'
	@touch $(WEBUI_STAMP)

$(BROWSER_STAMP): $(WEBUI_STAMP)
	$(PY) -m pip install -q -e '.[test,webui,browser-test]'
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then \
		echo "keeping installed $$(chromium --version 2>/dev/null)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			chromium chromium-driver >/dev/null; \
	else \
		echo "note: Debian's chromium and chromium-driver are not installed and this is not root:" \
			"the browser tests (tests/webui) will skip; sudo apt-get install chromium chromium-driver"; \
	fi
	@touch $(BROWSER_STAMP)

$(DEPLOY_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[test,deploy]'
	@touch $(DEPLOY_STAMP)

$(ZOO_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[test,zoo]'
	@touch $(ZOO_STAMP)

demo: install
	$(PY) tools/demo.py

webui: install-webui
	$(PY) tools/webui.py

test: install install-browser-test install-deploy install-zoo
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-slow: install install-browser-test install-deploy install-zoo
	$(PY) -m pytest -q --runslow $(PYTEST_ARGS)

# Everything, as CI runs it: the slow tests (--runslow -m slow: full-size models, killed and
# restarted distributed runs, signals; they mostly wait on process start-ups, restarts and
# timeouts) in a second pytest process beside the others, each with its own temporary folder.
# The slow tests' output follows the others'; the status is that of the first to fail.
test-all: install install-browser-test install-deploy install-zoo
	@tmp=$$(mktemp -d); \
	$(PY) -m pytest -q --runslow -m slow --basetemp=$$tmp/slow $(PYTEST_ARGS) > $$tmp/slow.log 2>&1 & slow=$$!; \
	$(PY) -m pytest -q -m 'not slow' --basetemp=$$tmp/rest $(PYTEST_ARGS); rest=$$?; \
	wait $$slow; slowrc=$$?; \
	echo "---- the slow tests (--runslow -m slow) ----"; cat $$tmp/slow.log; rm -rf $$tmp; \
	if [ $$rest -ne 0 ]; then exit $$rest; fi; exit $$slowrc

# On a machine with a GPU: the CUDA tests, plain vs fast speed, memory and agreement, and AMP and
# distributed training runs, in one summary (docs/gpu.md); without one, a short CPU report.
gpu-check: install
	PYTHON=$(PY) bash benchmarks/gpu_check.sh

clean:
	rm -rf work_dirs .pytest_cache
