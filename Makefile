# mmdarts: the README's commands. `make setup` builds .venv from nothing; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup test test-slow test-gpu lint demo clean

setup:
	PYTHON=$(PYTHON) VENV=$(VENV) bash tools/setup_env.sh

# The suite without its end-to-end runs (a few minutes); `make test-slow` runs those: tools/train.py searches and
# their interruptions, the benchmark tool, the wheel build, README commands as written (about 15 minutes).
test:
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-2} $(PY) -m pytest tests -q -p no:cacheprovider -m "not slow" $(PYTEST_ARGS)

test-slow:
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-2} $(PY) -m pytest tests -q -p no:cacheprovider -m slow $(PYTEST_ARGS)

# The tests marked `cuda` (skipped without CUDA, so CI stays CPU-only), on a GPU machine:
#   bash .device/gpu_env.sh make test-gpu PY=python3   (see tools/gpu_checks.sh)
test-gpu:
	$(PY) -m pytest tests -q -p no:cacheprovider -m cuda -rA $(PYTEST_ARGS)

lint:
	$(VENV)/bin/ruff check mmdarts mmdarts_startup.py setup.py tools tests configs

demo:
	$(PY) tools/train.py configs/darts_digits_demo.py --work-dir work_dirs/darts_digits_demo
	$(PY) -c "from mmdarts.models import Genotype; g = Genotype.from_file('work_dirs/darts_digits_demo/genotype.json'); print(g)"

clean:
	rm -rf $(VENV) work_dirs build *.egg-info
