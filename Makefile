# One-command set-up: `make demo` and `make test` each install first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA ?= data/synthetic
PYTEST_ARGS ?=

.PHONY: install test demo demo-kitti lint clean-demo

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

# The real path on the 75 KITTI frames of the tests: convert, a short
# fine-tuning on CPU, both KITTI tables and a picture of detections.
KITTI75 ?= ../shared/fixtures/kitti_75
demo-kitti: install
	$(PY) tools/demo_kitti.py --data $(KITTI75) --work-dir work_dirs/demo_kitti

lint: install
	$(PY) -m flake8 custom_modules ssdet tools tests configs

clean-demo:
	rm -rf work_dirs/demo
