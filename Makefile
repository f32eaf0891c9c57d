# Tollgate: build, run, test, benchmark.   `make help` lists the targets.
#
# Quick start:  make run     (installs what is missing, builds the release binary, serves
#                             Config/tollgate.yaml)
#               make test    (unit tests, then Tests/e2e against the built binary)

SHELL         := /bin/bash
.SHELLFLAGS   := -eu -o pipefail -c
.DEFAULT_GOAL := help

SWIFT   ?= swift
PYTHON  ?= python3
CONFIG  ?= Config/tollgate.yaml
# The release binary is the one users run and the one measured. --static-swift-stdlib links the
# Swift runtime in, so only the pages used are resident (idle RSS ~17 MiB; ~3 MiB more with
# the shared Swift libraries).
RELEASE_FLAGS ?= -c release --static-swift-stdlib
BIN           := .build/release/tollgate
# Opt-in allocator experiment (Benchmarks/README.md): `make build ALLOC=mimalloc` (or jemalloc)
# links Debian's libmimalloc-dev / libjemalloc-dev into the release binary, built apart in
# .build-$(ALLOC) so the default build stays as it is. Measured not worth adopting (yet).
ALLOC         ?=
ifneq ($(ALLOC),)
RELEASE_FLAGS += -Xlinker -l$(ALLOC) --scratch-path .build-$(ALLOC)
BIN           := .build-$(ALLOC)/release/tollgate
endif
# Tests/e2e runs this binary (exported as TOLLGATE_BIN). The debug build comes free with
# `swift build --build-tests`; `make test E2E_BIN=.build/release/tollgate` after `make build`
# runs the end-to-end tests against the release binary instead.
E2E_BIN       ?= .build/debug/tollgate

# Bounds for `make test`, in seconds: 10 + 5 + 5 minutes at most.
TEST_BUILD_TIMEOUT ?= 600
UNIT_TEST_TIMEOUT  ?= 300
E2E_TIMEOUT        ?= 300
TIMEOUT := timeout --kill-after=15s

.PHONY: help deps build run test unit e2e bench bench-routing fuzz check-config clean

help:
	@echo "make deps          install missing Debian packages and Python test packages (idempotent)"
	@echo "make build         release build: $(BIN) ($(RELEASE_FLAGS)); ALLOC=mimalloc|jemalloc links that allocator (an experiment)"
	@echo "make run           deps + build + $(BIN) serve --config $(CONFIG)"
	@echo "make test          deps, then swift build --build-tests, swift test, pytest Tests/e2e (bounded)"
	@echo "make bench         deps + build + Benchmarks/run.sh (Tollgate vs nginx; BENCH_PROXY=1 for more)"
	@echo "make bench-routing build + one routing decision over 20 candidates (ns/decision, goal < 2000)"
	@echo "make fuzz          FuzzTesting/run.sh"
	@echo "make check-config  tollgate check-config on every Config/**/*.yaml but prices.yaml, and the Docker config"
	@echo "make clean         remove build products and benchmark output"

deps:
	@bash scripts/deps.sh

build:
	$(SWIFT) build $(RELEASE_FLAGS)

run: deps build
	@test -f "$(CONFIG)" || { echo "make run: $(CONFIG) does not exist (CONFIG=path/to/file.yaml to pick another)" >&2; exit 1; }
	./$(BIN) serve --config $(CONFIG)

test: deps
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory e2e

unit:
	$(TIMEOUT) $(TEST_BUILD_TIMEOUT) $(SWIFT) build --build-tests
	$(TIMEOUT) $(UNIT_TEST_TIMEOUT) $(SWIFT) test --skip-build

# pytest's exit status 5 means "no test collected"; it is reported, not treated as a failure.
e2e:
	@if ! compgen -G 'Tests/e2e/test_*.py' >/dev/null && ! compgen -G 'Tests/e2e/*_test.py' >/dev/null; then \
	    echo "Tests/e2e: no test files yet, skipped"; exit 0; fi; \
	test -x "$(E2E_BIN)" || { echo "e2e: $(E2E_BIN) missing: run 'make unit' (debug) or 'make build' (release) first" >&2; exit 1; }; \
	rc=0; TOLLGATE_BIN="$(abspath $(E2E_BIN))" $(TIMEOUT) $(E2E_TIMEOUT) \
	    $(PYTHON) -m pytest -q -p no:cacheprovider Tests/e2e || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "Tests/e2e: pytest collected no test"; rc=0; fi; \
	exit $$rc

bench: deps build
	./$(dir $(BIN))writer_bench
	./$(dir $(BIN))tollgate-routing-bench
	TOLLGATE_BIN="$${TOLLGATE_BIN:-$(abspath $(BIN))}" bash Benchmarks/run.sh
	TOLLGATE_BIN="$${TOLLGATE_BIN:-$(abspath $(BIN))}" $(PYTHON) Benchmarks/uploads.py
	$(PYTHON) Benchmarks/runpod_latency.py --bin "$${TOLLGATE_BIN:-$(abspath $(BIN))}"

bench-routing: build
	./$(dir $(BIN))tollgate-routing-bench

fuzz:
	@if [ -f FuzzTesting/run.sh ]; then bash FuzzTesting/run.sh; \
	else echo "make fuzz: FuzzTesting/run.sh does not exist yet; nothing to fuzz"; fi

check-config: build
	@found=0; failed=0; \
	while IFS= read -r f; do \
	    found=1; \
	    if ./$(BIN) check-config "$$f"; then echo "ok      $$f"; else echo "FAILED  $$f"; failed=1; fi; \
	done < <(find Config -type f \( -name '*.yaml' -o -name '*.yml' \) ! -name prices.yaml | sort); \
	[ $$found = 1 ] || echo "check-config: no YAML under Config/"; \
	if TOLLGATE_UPSTREAM_URL=http://127.0.0.1:8000 TOLLGATE_UPSTREAM_MODEL=example \
	   TOLLGATE_API_KEY=tg-example-key-0000000000000000 ./$(BIN) check-config deploy/docker/tollgate.yaml; \
	then echo "ok      deploy/docker/tollgate.yaml (with example values for its variables)"; \
	else echo "FAILED  deploy/docker/tollgate.yaml"; failed=1; fi; \
	exit $$failed

clean:
	rm -rf .build .build-* .build_* Benchmarks/out FuzzTesting/.build
