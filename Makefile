# Set-up and entry points. Every target creates .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= config.yaml
# The browser tests drive Debian's chromium (Playwright's own browser download does not work offline).
CHROMIUM ?= /usr/bin/chromium
# An editable install leaves the package uncompiled (pip compiles only what it copies), and with
# PYTHONDONTWRITEBYTECODE set every command would compile it again at start-up (70 ms a run).
COMPILE = $(BIN)/python -m compileall -q monitor
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: test check run demo serve soak bench lint clean browser-if-needed

# Runtime install (make check/run/demo) and test install (make test) are stamped separately.
$(VENV)/.runtime: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[browser]'
	$(COMPILE)
	touch $@

$(VENV)/.test: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(COMPILE)
	touch $@ $(VENV)/.runtime

$(CHROMIUM):
	@echo "Installing Debian's chromium for the browser tests"
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

# The distributed-engine tests start their own redis-server (Debian's package) on a free loopback port.
REDIS ?= /usr/bin/redis-server
$(REDIS):
	@echo "Installing Debian's redis-server for the engine tests"
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null

test: $(VENV)/.test $(CHROMIUM) $(REDIS)
	$(BIN)/ruff check monitor tests
	MONITOR_CHROMIUM=$(CHROMIUM) MONITOR_REDIS=$(REDIS) env -u HTTP_PROXY -u HTTPS_PROXY -u http_proxy -u https_proxy -u ALL_PROXY -u all_proxy \
		$(BIN)/python -m pytest

# A longer load run than the test suite's: 1,000 targets, 20 daemon cycles; prints memory and descriptors.
soak: $(VENV)/.test
	env -u HTTP_PROXY -u HTTPS_PROXY -u http_proxy -u https_proxy $(BIN)/python -m tests.load --targets 1000 --cycles 20

# monitor vs urlwatch (and the fetch/parse floors) on ../shared/bench's corpus; writes benchmarks/results.md.
bench: $(VENV)/.test $(CHROMIUM) $(REDIS)
	env -u HTTP_PROXY -u HTTPS_PROXY -u http_proxy -u https_proxy $(BIN)/python benchmarks/bench.py \
		--md benchmarks/results.md

lint: $(VENV)/.test
	$(BIN)/ruff check monitor tests

# A config with targets fetched through the browser (fetch: {via: browser|auto}; auto is the defense.gov profile's
# default) needs Debian's chromium. The config itself says so (an invalid one installs nothing: the check says why).
NEEDS_BROWSER := import sys; from monitor.config import load_settings; \
	sys.exit(0 if any(t.via != "http" for t in load_settings(sys.argv[1]).targets) else 1)
browser-if-needed: $(VENV)/.runtime
	@if [ ! -x $(CHROMIUM) ] && $(BIN)/python -c '$(NEEDS_BROWSER)' $(CONFIG) 2>/dev/null; then \
		$(MAKE) --no-print-directory $(CHROMIUM); fi

check: $(VENV)/.runtime browser-if-needed
	$(BIN)/monitor --config $(CONFIG) check

run: $(VENV)/.runtime browser-if-needed
	$(BIN)/monitor --config $(CONFIG) -v run

serve: $(VENV)/.runtime
	$(BIN)/monitor --config $(CONFIG) -v serve

demo: $(VENV)/.runtime
	$(BIN)/monitor demo

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
