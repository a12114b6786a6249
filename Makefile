# make serve: set everything up, serve examples/app.script on port 8080.
# make test:  set everything up, run the whole test suite (its data is in tests/data), and,
#             when ../shared is there, the shared conformance runner as an extra.
# make fuzz:  the long fuzz runs: 100,000 cases per protocol and language fuzzer, and 40
#             batches of composed hostile programs (FUZZ_CASES=N, FUZZ_BATCHES=N to change;
#             RT_FUZZ_SEED=N replays a run). `make test` runs the same fuzzers briefly.
# make test-random: the suite in a random order (pytest-randomly; SEED=N replays an order).
#             `make test` keeps the fixed order: a failure there is reproducible from its
#             name alone, and the shared servers of a module start once either way.
PYTHON ?= python3
VENV := .venv
RT := $(VENV)/bin/rt
STAMP := $(VENV)/.installed
CONFORMANCE := ../shared/conformance

.PHONY: serve test test-random fuzz bench clean

FUZZ_CASES ?= 100000
FUZZ_BATCHES ?= 40

$(STAMP): pyproject.toml setup.py constraints.txt lang/_measure.c
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

serve: $(STAMP)
	$(RT) serve examples/app.script --port 8080

test: $(STAMP)
	$(VENV)/bin/python -m pytest
	@if [ -x $(CONFORMANCE)/run ]; then $(CONFORMANCE)/run --rt $(RT); fi

test-random: $(STAMP)
	$(VENV)/bin/python -m pytest -p randomly $(if $(SEED),--randomly-seed=$(SEED))

fuzz: $(STAMP)
	RT_FUZZ_CASES=$(FUZZ_CASES) RT_FUZZ_PROGRAM_BATCHES=$(FUZZ_BATCHES) $(VENV)/bin/python -m pytest \
		tests/test_fuzz_protocol.py tests/test_fuzz_lang.py tests/test_fuzz_programs.py

# The benchmarks (peers installed from the pinned `bench` extra; wrk from Debian): each
# prints ratios against its peers measured in the same run and updates bench/RESULTS.md.
bench: $(STAMP)
	$(VENV)/bin/python -m pip install -q -c constraints.txt -e '.[test,bench]'
	$(VENV)/bin/python -P bench/interp.py
	$(VENV)/bin/python -P bench/closures.py
	$(VENV)/bin/python -P bench/parse.py
	$(VENV)/bin/python -P bench/router.py
	$(VENV)/bin/python -P bench/http_bench.py
	$(VENV)/bin/python -P bench/idle_conns.py

clean:
	rm -rf $(VENV) build *.egg-info
