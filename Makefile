# The suite's commands. `make test` and `make demo` work on a fresh machine: they install what is missing.
SHELL := /bin/bash
PY := .venv/bin/python
TUITION := .venv/bin/tuition

.PHONY: help setup infra-up infra-down infra-status test test-unit lint proto proto-release demo bench fuzz chaos image clean

help:
	@echo "make test        install what is missing, start PostgreSQL + Kafka, run the whole suite"
	@echo "make demo        start everything and seed a realistic district (see README)"
	@echo "make infra-up    start the local PostgreSQL and Kafka (127.0.0.1 only)"
	@echo "make infra-down  stop them"
	@echo "make proto       regenerate the Python code of proto/"
	@echo "make proto-release  record proto/ as the released event contract (proto/contract.json)"
	@echo "make bench       run the benchmarks, write bench/results.json"
	@echo "make chaos       payments under crashes and restarts; prints the invariants (about 10 minutes)"
	@echo "make fuzz        the property and schemathesis tests with many more, random inputs (about 15 minutes)"
	@echo "make image       build deploy/Dockerfile with buildah and start the four services from it (root; about 1 minute)"

setup:
	@./scripts/bootstrap.sh

infra-up: setup
	$(TUITION) infra up

infra-down: setup
	$(TUITION) infra down

infra-status: setup
	$(TUITION) infra status

proto: setup
	./scripts/gen_proto.sh
	$(PY) scripts/proto_contract.py

proto-release: setup
	$(PY) scripts/proto_contract.py --update

test: setup
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest -q -p no:cacheprovider

test-unit: setup
	$(PY) -m pytest -q -p no:cacheprovider -m "not integration"

lint: setup
	$(PY) -m ruff check .
	$(PY) -m mypy

clean:
	rm -rf .venv .cache

# `make test` runs the same tests with a fixed, derandomized set of inputs.
FUZZ_TESTS := services/invoicing/tests/unit/test_parser_properties.py \
	services/reconciliation/tests/unit/test_parser_properties.py \
	services/receipts/tests/unit/test_verifier_properties.py \
	tests/integration/test_api_fuzz.py

fuzz: setup
	HYPOTHESIS_PROFILE=fuzz SCHEMATHESIS_EXAMPLES=150 $(PY) -m pytest -q -s -p no:cacheprovider \
		--hypothesis-show-statistics $(FUZZ_TESTS)

chaos: setup
	$(PY) -m simulator.chaos

bench: setup
	$(PY) -m bench.run

demo: setup
	$(TUITION) demo

image: setup
	$(PY) -m devinfra.image
