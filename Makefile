# mmdarts: the README's commands. `make setup` builds .venv from nothing; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup test test-slow test-gpu lint demo clean

setup:
	PYTHON=$(PYTHON) VENV=$(VENV) bash tools/setup_env.sh

# The suite without its end-to-end runs (a few minutes); `make test-slow` runs those: tools/train.py searches and
# their interruptions, the benchmark tool, the wheel build, README commands as written (about 10 minutes).
# Both spread their tests over one process per core (pytest-xdist), each with one thread, and the interpreters a
# test starts take that thread too (tests/helpers.py, subprocess_env): the suite's tensors are small, so processes
# gain where threads do not. TEST_WORKERS=0 runs them in one process (then give it OMP_NUM_THREADS).
TEST_WORKERS ?= auto
XDIST = -n $(TEST_WORKERS) --dist worksteal
test:
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) -m pytest tests -q -p no:cacheprovider -m "not slow" $(XDIST) \
		$(PYTEST_ARGS)

test-slow:
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) -m pytest tests -q -p no:cacheprovider -m slow $(XDIST) $(PYTEST_ARGS)

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
