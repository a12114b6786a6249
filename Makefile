# make serve: set everything up, serve examples/app.script on port 8080.
# make test:  set everything up, run the whole test suite (its data is in tests/data), and,
#             when ../shared is there, the shared conformance runner as an extra.
PYTHON ?= python3
VENV := .venv
RT := $(VENV)/bin/rt
STAMP := $(VENV)/.installed
CONFORMANCE := ../shared/conformance

.PHONY: serve test bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

serve: $(STAMP)
	$(RT) serve examples/app.script --port 8080

test: $(STAMP)
	$(VENV)/bin/python -m pytest
	@if [ -x $(CONFORMANCE)/run ]; then $(CONFORMANCE)/run --rt $(RT); fi

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
