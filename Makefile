# toil-lab: `make lab-up`, `make test`, `make shell NODE=worker-2`. `make help` lists all.
# Every target runs the `lab` CLI from the project's virtualenv (.venv), made on first use.

PYTHON ?= python3
VENV := .venv
LAB := $(VENV)/bin/lab
PYTEST := $(VENV)/bin/pytest
RESULTS := test-results
# `make test` runs the suite as a few pytests side by side, no two on the same lab (tests/shards.py:
# the first's output as it comes, the others' as each ends; test-results/<shard>.log). Most of a
# lab test's time is spent waiting on the schedulers' timers, not on the 2 cores; it fails when
# any shard fails. An argument narrows every shard by a marker expression ("not faults").
SHARDS = $(VENV)/bin/python -m tests.shards
NODE ?= leader

# The lab's settings reach `lab` through the environment (see README.md).
export LAB_NAME WORKERS BATCH_SYSTEM CWL MESOS_PACKAGE MESOS_EXTRA_PACKAGES MESOS_SOURCE TOIL_VERSION TOIL_SOURCE BASE_IMAGE WORKER_MEMORY SLOTS_PER_CPU LAB_REUSE REQUIRE_MESOS TOIL_TESTS_LAB_NAME CWL_SPEC CWL_CONFORMANCE_LAB_NAME SCENARIOS_LAB_NAME

.DEFAULT_GOAL := help
.PHONY: help venv mesos lab-up lab-down lab-clean status logs shell export-logs test test-unit test-integration test-fast test-faults test-mesos toil-tests cwl-conformance scenarios bench lint

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'
	@echo "  options: WORKERS=N (default 3)  BATCH_SYSTEM=auto|slurm|mesos  MESOS_PACKAGE=path-or-URL  MESOS_SOURCE=path-or-URL  LAB_NAME=name (default toil-lab)  NODE=worker-2"

venv: $(VENV)/.installed ## create the project's virtualenv (.venv) with the lab CLI

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	# Toil itself and its CWL runner, at the version the image pins, for the unit tests of the
	# in-node plugin and of the options the lab gives toil-cwl-runner.
	$(VENV)/bin/pip install --quiet "toil[cwl]==$$($(VENV)/bin/python -c 'import lab.config as c; print(c.DEFAULT_TOIL_VERSION)')"
	@touch $@

mesos: venv ## build Apache Mesos from source once (40-70 min on 2 cores); new labs then run on Mesos (MESOS_SOURCE=path-or-URL)
	$(LAB) build-mesos

lab-up: venv ## build what is missing, start the lab, return when every worker is ready
	$(LAB) up

lab-down: venv ## stop the lab; keep its volumes (the job store included)
	$(LAB) down

lab-clean: venv ## remove the lab and DELETE its volumes (the job store included)
	$(LAB) clean --yes

status: venv ## nodes, container state and the scheduler's view of each worker
	$(LAB) status

logs: venv ## container logs (NODE=worker-1 for one node)
	$(LAB) logs $(if $(filter command line,$(origin NODE)),$(NODE))

shell: venv ## interactive shell on the leader (NODE=worker-2 for a worker)
	$(LAB) shell $(NODE)

export-logs: venv ## write every node's logs and inspect output to test-results/logs
	$(LAB) export-logs $(RESULTS)/logs

test: venv ## the whole test suite: unit and integration tests, on Slurm and Mesos labs side by side
	@$(SHARDS)

test-unit: venv ## unit tests only (no Docker)
	$(PYTEST) tests/unit

test-integration: venv ## integration tests only (brings a test lab up)
	$(PYTEST) --junitxml=$(RESULTS)/junit-integration.xml tests/integration

test-fast: venv ## everything but the fault tests
	@$(SHARDS) "not faults"

test-faults: venv ## the fault tests alone (kill, pause, partition, scheduler and leader restarts)
	@$(SHARDS) faults

test-mesos: venv ## the Mesos-marked tests alone (needs MESOS_PACKAGE; README.md, 'Mesos')
	$(PYTEST) -m mesos --junitxml=$(RESULTS)/junit-mesos.xml tests/integration

# Not part of `make test`: a failing Toil test is a finding about Toil, not about the lab.
toil-tests: venv ## Toil's own tests, unmodified, on a Mesos lab (TOIL_SOURCE=~/src/toil; ARGS="--family appliance -k testRestart")
	$(LAB) toil-tests $(ARGS)

# Not part of `make test` either: a failing conformance test is a finding (make test runs a handful).
cwl-conformance: venv ## the CWL v1.2 conformance suite on Slurm (and Mesos) labs beside single_machine (CWL_SPEC=path; ARGS="-j 4 --tags scatter")
	$(LAB) cwl-conformance $(ARGS)

# Not part of `make test` either (it plays a subset): a verdict is a finding about Toil.
scenarios: venv ## Toil's multi-node bugs, reproduced: every scenario on Slurm (and Mesos) with its verdict (ARGS="--batch-systems slurm")
	$(LAB) scenario all $(ARGS)

bench: venv ## benchmarks: lab start-up, 64 Toil jobs on Slurm and Mesos beside single_machine, recovery per fault
	$(VENV)/bin/python -m lab.bench --json $(RESULTS)/bench.json
	$(VENV)/bin/python -m lab.bench.recovery --json $(RESULTS)/recovery.json

lint: venv ## ruff, and mypy --strict on lab/ (host), innode/ (in-node) and the test runner
	$(VENV)/bin/ruff check lab innode tests
	$(VENV)/bin/ruff format --check lab innode tests
	$(VENV)/bin/mypy lab innode tests/shards.py tests/labs.py
