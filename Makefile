# synfin: `make demo` and `make test` do all set-up on a fresh machine.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
APT_STAMP := $(VENV)/.apt-installed
BENCH_STAMP := $(VENV)/.bench-installed
APT_PKGS  := tshark tcpdump iproute2

.PHONY: demo test lint typecheck unit bench clean setup system-deps

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Debian packages the tests use (tshark reads our pcaps back). Installed once, as root.
system-deps: $(APT_STAMP)

$(APT_STAMP): | $(STAMP)
	@if ! command -v tshark >/dev/null 2>&1 || ! command -v tcpdump >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PKGS) >/dev/null; \
	  else \
	    echo "note: tshark/tcpdump missing and not root; pcap checks against tshark will be skipped"; \
	  fi; \
	fi
	touch $@

demo: $(STAMP)
	$(BIN)/synfin demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy --strict

unit: $(STAMP) system-deps
	$(BIN)/pytest

test: lint typecheck unit

# Benchmarks (bench/): writes bench/results.json, bench/RESULTS.md and bench/results.png.
# Needs matplotlib (the `bench` extra); the TUN figures need root, ip and /dev/net/tun.
$(BENCH_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

bench: $(STAMP) $(BENCH_STAMP) system-deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) out build src/*.egg-info .mypy_cache .ruff_cache .pytest_cache
