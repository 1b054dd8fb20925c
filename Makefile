# Two commands for a newcomer: `make demo` and `make test`. Each builds .venv from nothing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# Debian's chromium drives the browser tests (a test tool's own browser download cannot work here).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "install Debian's chromium at $(CHROMIUM) for the browser tests"; exit 1; }
	SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium

# PostgreSQL's server binaries for the engine tests (tests/engines start a throwaway cluster on 127.0.0.1):
# Debian's postgresql package when no initdb is on PATH or in /usr/lib/postgresql/<version>/bin.
.PHONY: postgres-server
postgres-server:
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  command -v apt-get >/dev/null || { echo "install PostgreSQL's server (initdb, pg_ctl) for the engine tests"; exit 1; }; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql; }

# A headless Java runtime for Spark local[2] (the spark engine's tests): Debian's default-jre-headless when no java.
.PHONY: java-runtime
java-runtime:
	@command -v java >/dev/null || { \
	  command -v apt-get >/dev/null || { echo "install a Java 17+ runtime for the Spark engine tests"; exit 1; }; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq default-jre-headless; }

# The local OpenID provider the sign-in tests log in through (idp/, tests only): npm ci from its lockfile
# whenever the lockfile changes. The stamp sits inside node_modules, so removing that folder reinstalls too.
IDP_STAMP := idp/node_modules/.closedloop-installed
$(IDP_STAMP): idp/package-lock.json idp/package.json
	@command -v node >/dev/null && command -v npm >/dev/null || { \
	  echo "install Node.js 20+ with npm (Debian: apt-get install nodejs npm) for the sign-in tests (idp/)"; exit 1; }
	cd idp && npm ci --no-audit --no-fund --loglevel=error
	touch $(IDP_STAMP)

demo: $(STAMP)
	$(BIN)/closedloop demo --tier s

test: $(STAMP) $(CHROMIUM) $(IDP_STAMP) postgres-server java-runtime
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n 2 --dist worksteal

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP) $(CHROMIUM)
	$(BIN)/closedloop bench

clean:
	rm -rf $(VENV) idp/node_modules data/demo data/warehouse data/ops.sqlite
