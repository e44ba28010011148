# Thin wrappers. Everything installs itself: a venv in .venv, testbed binaries in ~/.cache.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# The tests get their own testbed, so `make test` never disturbs a running `make demo`.
TEST_TESTBED := $(CURDIR)/.testbed-test
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: demo test unit bench testbed-up testbed-down clean venv dist

venv: $(VENV)/.installed
$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

## demo: a local cluster with Jenkins X secrets, then the main job
demo: venv
	$(PY) hack/testbed up > /dev/null
	eval "$$($(PY) hack/testbed env)" && $(PY) hack/seed-demo.py && \
	  { kubectl jxsecret verify; status=$$?; [ $$status -le 3 ]; }  # 3 = some not populated: the demo's point
	@echo; echo "The demo cluster stays up. Use it with:  eval \"\$$($(PY) hack/testbed env)\""; \
	 echo "Stop it with:  make testbed-down"

## test: unit + integration tests against a fresh testbed, torn down afterwards
test: venv
	bash hack/system-packages.sh
	JXSECRET_TESTBED_DIR=$(TEST_TESTBED) $(PY) hack/testbed up > /dev/null
	JXSECRET_TESTBED_DIR=$(TEST_TESTBED) $(PY) -m pytest; status=$$?; \
	  JXSECRET_TESTBED_DIR=$(TEST_TESTBED) $(PY) hack/testbed down; exit $$status

## unit: the tests that need no cluster
unit: venv
	$(PY) -m pytest tests/unit

## bench: verify scaling (10..5000 ExternalSecrets) on its own testbed (.testbed-bench), torn down afterwards
bench: venv
	$(PY) bench/verify_scaling.py

## dist: the krew archive for this platform, its sha256 and the manifest rendered for it, in dist/ (cached by content)
dist: venv
	PYTHON=$(CURDIR)/$(PY) bash hack/build-dist.sh

testbed-up: venv
	$(PY) hack/testbed up

testbed-down:
	$(PY) hack/testbed down

clean: testbed-down
	rm -rf $(VENV) build dist *.egg-info
