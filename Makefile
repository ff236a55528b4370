# Two commands for a newcomer: `make run` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench screenshots docs install clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/incident-response

# Tests need PostgreSQL, Prometheus and Alertmanager binaries (the suite starts its own on loopback).
test: $(STAMP)
	@scripts/ensure-servers
	@scripts/run-tests $(BIN)/python

bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/command_center.py $(BENCH_ARGS)
	$(BIN)/python bench/detection.py $(BENCH_ARGS)
	$(BIN)/python bench/detection_latency.py $(BENCH_ARGS)
	$(BIN)/python bench/delivery.py $(BENCH_ARGS)
	$(BIN)/python bench/declare_to_received.py $(BENCH_ARGS)
	$(BIN)/python bench/report.py $(BENCH_ARGS)
	$(BIN)/python bench/mixed.py $(BENCH_ARGS)
	$(BIN)/python bench/import_validation.py $(BENCH_ARGS)
	$(BIN)/python bench/search.py $(BENCH_ARGS)
	$(BIN)/python bench/oncall.py $(BENCH_ARGS)

# Every main screen at 80x24 and 160x48 from the demo data at a frozen clock.
screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py

# docs/configuration.md is generated from the configuration model (a test fails when it drifts).
docs: $(STAMP)
	$(BIN)/python -c "from reports.configuration import reference_markdown; import sys; sys.stdout.write(reference_markdown())" > docs/configuration.md

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
