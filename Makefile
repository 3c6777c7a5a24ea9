# One-command set-up: `make demo` and `make test` each install first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA ?= data/synthetic
PYTEST_ARGS ?=

.PHONY: install test demo lint clean-demo

install: $(STAMP)

# Re-runs only when requirements.txt changes; pip itself is quick when
# everything is already satisfied.
$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	$(PY) -c "import custom_modules, mmdet, mmselfsup; print('stack OK:', custom_modules.compat.install())"
	@echo 'Installed in $(VENV). Enter it for python tools/... commands: source $(VENV)/bin/activate (tools/*.sh use it by themselves).'
	@touch $@

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

demo: install
	$(PY) tools/demo.py --data $(DATA) --work-dir work_dirs/demo

lint: install
	$(PY) -m flake8 custom_modules ssdet tools tests configs

clean-demo:
	rm -rf work_dirs/demo
