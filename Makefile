# Every target creates and reuses .venv, so a fresh machine needs only python3 and make.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
LISTEN  ?= 127.0.0.1:8750
DATA    ?= .demo

.PHONY: demo demo-chain test soak lint bench bench-growth bench-hq-reports browser-deps shell-deps schema clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

# CONFIG=FILE is merged over the demo's defaults, e.g. make demo CONFIG=demo/shop.toml
demo: $(STAMP)
	$(BIN)/gatewayd $(if $(CONFIG),--config $(CONFIG)) demo --listen $(LISTEN) --data $(DATA)

# Head office with two demo tills of two stores, enrolled and selling (docs/headoffice.md).
demo-chain: $(STAMP)
	$(BIN)/gatewayd hq demo --listen 127.0.0.1:8760 --data $(DATA)-chain

# Chromium for the browser tests comes from Debian (Playwright drives /usr/bin/chromium).
browser-deps:
	@{ command -v chromium && dpkg -s fonts-noto-cjk fonts-noto-color-emoji; } >/dev/null 2>&1 || { \
	  echo "installing Debian chromium and CJK/emoji fonts for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-cjk fonts-noto-color-emoji >/dev/null; }

# zsh for the shell-completion tests (bash is there already).
shell-deps:
	@command -v zsh >/dev/null 2>&1 || { \
	  echo "installing zsh for the completion tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq zsh >/dev/null; }

test: $(STAMP) browser-deps shell-deps
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

# The long runs behind the small ones in `make test` (their size knobs turned up): the
# fuzzer's 100k frames; the full link fault run: 20 tills x 500 sales through cuts, partitions and kill -9 of
# tills, head office and its database connections, on SQLite and PostgreSQL.
soak: $(STAMP)
	GATEWAYD_FUZZ_FRAMES=100000 $(BIN)/python -m pytest -s tests/security/test_fuzz_frames.py
	GATEWAYD_SOAK_TILLS=20 GATEWAYD_SOAK_SALES=500 $(BIN)/python -m pytest -s tests/hq/test_chaos.py
	GATEWAYD_TEST_BACKLOG=245000 $(BIN)/python -m pytest -s tests/hq/test_backlog_memory.py
	GATEWAYD_TEST_BIG_SALES=200000 GATEWAYD_TEST_IMPORT_ITEMS=200000 \
	  $(BIN)/python -m pytest tests/store tests/sales/test_catalog_stage.py -q
	$(MAKE) bench-growth

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/ruff format --check . || true

bench: $(STAMP)
	$(BIN)/python -m bench all

# A store of 1.6M sales (three years of a busy till, ~10 GB; kept in BENCH_GROWTH_DIR,
# default a temp dir) against a fresh one: docs/bench.md, issue 18's targets.
bench-growth: $(STAMP)
	BENCH_GROWTH_SALES=$${BENCH_GROWTH_SALES:-1600000} $(BIN)/python -m bench growth

# A year of a 50-store chain at head office (~20M sale lines; several GB in a temp dir, and a
# PostgreSQL database made and dropped): every report timed, docs/bench.md, issue 16's targets.
bench-hq-reports: $(STAMP)
	GATEWAYD_BENCH_HQR_LINES=$${GATEWAYD_BENCH_HQR_LINES:-20000000} $(BIN)/python -m bench hqreports

schema: $(STAMP)
	$(BIN)/gatewayd schema

clean:
	rm -rf $(VENV) .pytest_cache .demo
