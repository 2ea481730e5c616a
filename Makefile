# skintrack: two commands do all set-up on a fresh machine.
#   make run   - venv, install, demo data, app on http://localhost:8501
#   make test  - venv, install, the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
export SKINTRACK_DATA ?= $(CURDIR)/skintrack-data

.PHONY: run test install bench demo-images clean

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) -m skintrack load-demo
	$(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.address localhost \
		--server.headless true --browser.gatherUsageStats false

test: install
	$(PY) -m pytest

bench: install
	$(PY) bench/score_bench.py

# Regenerate sample_images/ from the seeded generator (the JPEGs are committed).
demo-images: install
	$(PY) -m skintrack demo sample_images

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
