# musim: two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
STAMP  := $(VENV)/.installed

.PHONY: install demo demo-real test test-fast test-sanitizers lint bench bench-quick lock up clean

$(STAMP): requirements.lock pyproject.toml musim/ingest/_scan360k.c musim/ingest/_prescan_rules.h musim/_cooccurrence.c musim/_buffer.h
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check "uv==0.13.9"
	# bytecode compiled once here: where PYTHONDONTWRITEBYTECODE is set (CI, containers) Python would
	# otherwise compile every module on every import (Great Expectations alone: 9 s -> 4 s per process)
	VIRTUAL_ENV=$(VENV) $(UV) pip sync -q --compile-bytecode requirements.lock
	VIRTUAL_ENV=$(VENV) $(UV) pip install -q --no-deps -e .
	$(PY) -m compileall -q -j 0 musim dags plugins
	# librosa's numba kernels compiled once here, before tests or DAG tasks compile them in parallel and race
	# on numba's cache files (numba/numba#10128): see musim/features/compile_kernels.py
	$(PY) -m musim.features.compile_kernels
	touch $(STAMP)

install: $(STAMP)  ## install the locked stack into .venv

# Debian's chromium for the browser test of the Airflow UI page (skipped with a reason when absent)
/usr/bin/chromium:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium for the UI browser test"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "could not install chromium: the browser test will be skipped"; \
	else echo "chromium is missing and cannot be installed here: the browser test will be skipped"; fi

demo: $(STAMP)  ## run the whole job end to end through Airflow on embedded defaults (./.musim)
	$(PY) -m musim.demo

demo-real: $(STAMP)  ## the audio path on the real-music corpus through Airflow (./.musim-real; corpus: $$MUSIM_REAL_MUSIC or benchmarks/data/real_music, made by benchmarks/real_music/make_corpus.sh)
	$(PY) -m musim.demo --real

test: $(STAMP) | /usr/bin/chromium  ## the whole test suite (what CI runs), one pytest-xdist worker per core, a file per worker
	$(PY) -m pytest -q -p no:cacheprovider -n auto --dist loadfile

test-fast: $(STAMP)  ## skip the slow tests
	$(PY) -m pytest -q -n auto --dist loadfile -m "not slow"

test-sanitizers: $(STAMP)  ## the C extensions built with ASan+UBSan (build/asan/): the scanner over the quirk file and a fuzz corpus, the co-occurrence kernels over random edges (part of `make test`)
	$(PY) -m pytest -q -p no:cacheprovider tests/ingest/test_scan360k_sanitizers.py tests/test_cooccurrence_sanitizers.py

lint: $(STAMP)
	$(VENV)/bin/ruff check musim dags plugins tests benchmarks
	$(VENV)/bin/lint-imports

up: $(STAMP)  ## Airflow standalone with musim's DAGs and plugin; prints the UI address and login
	$(PY) -m musim.up

bench: $(STAMP)  ## full-scale benchmarks: prints a table, writes benchmarks/results/bench.json
	$(PY) -m benchmarks.run

bench-quick: $(STAMP)
	$(PY) -m benchmarks.run --quick

lock:  ## re-resolve the whole stack (needs uv)
	$(UV) pip compile pyproject.toml --override overrides.txt --extra dev --extra bench --python 3.11 -o requirements.lock
	$(UV) pip compile pyproject.toml --override overrides.txt --override overrides-gpu.txt --extra dev --extra bench --extra gpu --python 3.11 -o requirements-gpu.lock

clean:
	rm -rf .musim .musim-real benchmarks/results
