# `make check` runs what CI runs (lint, types, tests). Use inside the project's virtualenv.
.PHONY: check lint types test docs bench fuzz

check: lint types test

lint:
	ruff check hyouka tests benchmarks
	ruff format --check hyouka tests benchmarks

types:
	mypy

test:
	python -m pytest -q

docs:
	python -m hyouka.docs_gen

bench:
	python benchmarks/runner_overhead.py

# The long fuzz profile (issue 12): >= 10,000 cases per target, figures printed.
fuzz:
	python benchmarks/fuzz_long.py
