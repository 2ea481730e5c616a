# skintrack: two commands do all set-up on a fresh machine.
#   make run   - venv, install, demo data (and the simulated demo clinic, once), app on http://localhost:8501
#   make test  - venv, install, the test suite without the tests marked slow (under 10 minutes on 2 cores)
#   make test-slow - the honest long checks (real-photo studies, load and fuzz runs); .ci/run runs both
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
export SKINTRACK_DATA ?= $(CURDIR)/skintrack-data

.PHONY: run test test-slow test-all install bench lock demo-images clean

$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) -m skintrack load-demo --cohort
	$(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.address localhost \
		--server.headless true --browser.gatherUsageStats false

# Two processes, one per core; a test file stays in one process (its module fixtures are made once).
# Each keeps to one thread (numpy's BLAS here, OpenCV and scoring in tests/conftest.py): two processes
# each running threads on 2 cores spent a sixth of the suite's time switching between them.
TEST_WORKERS ?= 2

test: install
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(PY) -m pytest -m "not slow" -n $(TEST_WORKERS) --dist loadfile

test-slow: install
	$(PY) -m pytest -m slow

test-all: install
	$(PY) -m pytest

bench: install
	$(PY) bench/intake_bench.py
	$(PY) bench/score_bench.py
	$(PY) bench/align_bench.py
	$(PY) bench/app_bench.py
	$(PY) bench/batch_bench.py
	$(PY) bench/report_bench.py
	$(PY) bench/hostile_bench.py
	$(PY) bench/cohort_bench.py

# Re-resolve requirements.txt to the newest allowed versions and record them in constraints.txt.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -r requirements.txt
	{ head -n 2 constraints.txt; .lock-venv/bin/pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt && rm -rf .lock-venv

# Regenerate sample_images/ from the seeded generator (the JPEGs are committed).
demo-images: install
	$(PY) -m skintrack demo sample_images
	$(PY) tools/demo_face.py sample_images/demo-002

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
