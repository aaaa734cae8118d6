# Two commands on a fresh machine:
#   make demo   install what is needed, train the reference program, write its graph to out/
#   make test   install what is needed, run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: demo test install system-deps browser-deps bench mutants clean

$(PY):
	$(PYTHON) -m venv $(VENV)

install: $(PY) system-deps
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null  # the kernel the notebook tests run on

# Graphviz's `dot` binary renders the pictures; the Python package only writes DOT.
system-deps:
	@command -v dot >/dev/null 2>&1 || { \
	  echo "installing Debian package graphviz (dot is missing)"; \
	  SUDO=$$(command -v sudo >/dev/null 2>&1 && [ "$$(id -u)" != 0 ] && echo sudo); \
	  $$SUDO apt-get install -y -q graphviz >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q graphviz; }; }

# Headless Chromium for the browser tests (Playwright drives Debian's own build; no browser download).
browser-deps:
	@test -x /usr/bin/chromium || { \
	  echo "installing Debian package chromium (/usr/bin/chromium is missing)"; \
	  SUDO=$$(command -v sudo >/dev/null 2>&1 && [ "$$(id -u)" != 0 ] && echo sudo); \
	  $$SUDO apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q chromium; }; }

demo: install
	$(PY) examples/linear_regression.py

test: install browser-deps
	$(PY) -m pytest

bench: install
	$(PY) -m benchmarks

# Mutation testing, slow and not part of `make test` (CONTRIBUTING.md): `make mutants MODULE=optim`
# mutates tinygrad_loss/optim.py only; without MODULE every module is mutated. Survivors are listed.
MODULE ?=
mutants: install
	$(VENV)/bin/mutmut run $(if $(MODULE),"tinygrad_loss.$(MODULE).*")
	$(PY) tools/mutation_report.py $(MODULE)

clean:
	rm -rf $(VENV) out .pytest_cache build *.egg-info mutants
