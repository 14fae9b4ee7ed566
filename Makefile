# Segue's two commands are `make demo` and `make test`; everything else here helps them.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Offline-safe defaults for every tool started from here (a user's setting wins).
export DAGSTER_HOME ?= $(CURDIR)/dagster_home
export DO_NOT_TRACK ?= 1
export DBT_SEND_ANONYMOUS_USAGE_STATS ?= false
export GX_ANALYTICS_ENABLED ?= false
export DBT_PROFILES_DIR ?= $(CURDIR)/dbt_project
export PIP_DISABLE_PIP_VERSION_CHECK := 1

DEMO_CUSTOMERS ?= 20000
DEMO_SEED ?= 42
DEMO_WAREHOUSE ?= $(CURDIR)/warehouse.duckdb
# "Now" for the demo: the current hour, so generate and run agree on it.
DEMO_AS_OF ?= $(shell date -u +%Y-%m-%dT%H:00:00)
PYTEST_ARGS ?= -n 2
# Where `make demo` serves the destination emulators while it syncs.
DEMO_EMULATOR_PORT ?= 8900

.PHONY: install demo test test-e2e test-engines lint format bench dev clean

$(STAMP): pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "Python 3.11 is required (python3.11 not found)"; exit 1; }
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Segue needs Python 3.11, found " + sys.version.split()[0]'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing Segue and its pinned dependencies into $(VENV) (first time: about 2 minutes)..."
	@$(BIN)/python -m pip install --quiet --no-input -c constraints.txt -e '.[dev]' 2>&1 \
		| grep -v "is ignored: it is neither a file nor a directory" || true
	@$(BIN)/python -c 'import orchestration, dagster_dbt, dbt.version, great_expectations' \
		|| { echo "installation failed"; exit 1; }
	@touch $(STAMP)

install: $(STAMP)

demo: install
	@mkdir -p $(DAGSTER_HOME)
	$(BIN)/segue generate --customers $(DEMO_CUSTOMERS) --seed $(DEMO_SEED) --warehouse $(DEMO_WAREHOUSE) --as-of $(DEMO_AS_OF)
	@# The syncs deliver to the local destination emulators, started for the run and stopped after it.
	@$(BIN)/segue emulators --port $(DEMO_EMULATOR_PORT) > $(DAGSTER_HOME)/emulators.log 2>&1 & emulators=$$!; \
	trap 'kill $$emulators 2>/dev/null' EXIT; \
	$(BIN)/python -m destinations.emulators --wait http://127.0.0.1:$(DEMO_EMULATOR_PORT)/ && \
	echo "destination emulators on http://127.0.0.1:$(DEMO_EMULATOR_PORT) (each destination under its prefix: demo.env)" && \
	SEGUE_EMULATORS=http://127.0.0.1:$(DEMO_EMULATOR_PORT) && set -a && . ./demo.env && set +a && \
		$(BIN)/segue run --warehouse $(DEMO_WAREHOUSE) --as-of $(DEMO_AS_OF)
	@echo
	@echo "Open the Dagster UI on this warehouse (then browse http://127.0.0.1:3000):"
	@echo "  SEGUE_WAREHOUSE=$(DEMO_WAREHOUSE) SEGUE_AS_OF=$(DEMO_AS_OF) make dev"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	SEGUE_WAREHOUSE=$${SEGUE_LINT_WAREHOUSE:-/tmp/segue-sqlfluff.duckdb} $(BIN)/sqlfluff lint dbt_project/models dbt_project/macros dbt_project/tests

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: install lint
	$(BIN)/pytest $(PYTEST_ARGS) -m "not e2e"

# The end-to-end tests: whole `segue run`s on the sample retailer and on the real UCI data,
# the Dagster UI in a real browser, the build benches' smoke runs. CI runs it after `make test`.
test-e2e: install
	$(BIN)/pytest $(PYTEST_ARGS) -m e2e

# The same dbt project on DuckDB, PostgreSQL and Spark (README, "Scaling out"); not part of
# `make test`. Needs Java 17 and PostgreSQL: a server from SEGUE_PG_* when SEGUE_PG_HOST is
# set, else a throwaway cluster of Debian's binaries on 127.0.0.1 (.ci/postgres.sh).
ENGINES_STAMP := $(VENV)/.engines-installed-stamp
ENGINES_DIR ?= /tmp/segue-test-engines
ENGINES_PG_PORT ?= 55432

$(ENGINES_STAMP): $(STAMP)
	@echo "Installing the engines extra (dbt-postgres, dbt-spark, pyspark, psycopg) into $(VENV)..."
	@$(BIN)/python -m pip install --quiet --no-input -c constraints.txt -e '.[dev,engines]'
	@$(BIN)/python -c 'import dbt.adapters.postgres, dbt.adapters.spark, pyspark, psycopg' \
		|| { echo "installation of the engines extra failed"; exit 1; }
	@touch $(ENGINES_STAMP)

# SEGUE_ENGINES (default postgres,spark) narrows it: SEGUE_ENGINES=spark needs Java only.
SEGUE_ENGINES ?= postgres,spark
export SEGUE_ENGINES

test-engines: install $(ENGINES_STAMP)
	@case ",$(SEGUE_ENGINES)," in *,spark,*) command -v java >/dev/null \
		|| { echo "Spark needs Java 17 (apt-get install openjdk-17-jre-headless)"; exit 1; };; esac
	@if [ -n "$${SEGUE_PG_HOST:-}" ] || ! echo ",$(SEGUE_ENGINES)," | grep -q ',postgres,'; then \
		SEGUE_TEST_ENGINES=1 $(BIN)/pytest -v tests/engines; \
	else \
		trap 'bash .ci/postgres.sh stop $(ENGINES_DIR)/postgres' EXIT; \
		settings=$$(bash .ci/postgres.sh start $(ENGINES_DIR)/postgres $(ENGINES_PG_PORT)) || exit 1; \
		echo "PostgreSQL: $$settings"; \
		env $$settings SEGUE_TEST_ENGINES=1 $(BIN)/pytest -v tests/engines; \
	fi

# Every benchmark in bench/ (each appends its row to bench/results.md; about an hour on 2 cores).
# The 1M-customer retailer is generated once into $(BENCH_RAW_DIR) and reused by later runs.
BENCH_RAW_DIR ?= /tmp/segue-bench
bench: install
	@mkdir -p $(BENCH_RAW_DIR)
	$(BIN)/python bench/bench_generate.py --customers 1000000
	$(BIN)/python bench/bench_build.py --customers 1000000 --raw $(BENCH_RAW_DIR)/raw-1000000-seed42.duckdb --incremental
	$(BIN)/python bench/bench_identity_components.py --identifiers 5000000 --raw $(BENCH_RAW_DIR)/raw-5m-identifiers.duckdb
	$(BIN)/python bench/bench_profiles.py --customers 1000000 --raw $(BENCH_RAW_DIR)/raw-1000000-seed42.duckdb \
		--work $(BENCH_RAW_DIR)/profiles-1000000
	$(BIN)/python bench/bench_run_overhead.py
	$(BIN)/python bench/bench_gx.py --warehouse $(BENCH_RAW_DIR)/profiles-1000000/bench_profiles.duckdb
	$(BIN)/python bench/bench_sync_plan.py --rows 1000000 --scale 10
	$(BIN)/python bench/bench_delivery.py
	$(BIN)/python bench/bench_drt.py --profiles 100000 --drt-rows 1000 --drt-rows-limited 300

dev: install
	@mkdir -p $(DAGSTER_HOME)
	@# dagster-dbt's prepare_if_dev() runs `dbt` from PATH: put the venv's first.
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

clean:
	rm -rf $(VENV) dbt_project/target dbt_project/logs .pytest_cache .ruff_cache
