# Tidings: `make run` to try it, `make test` to check it, `make demo` to watch it work.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
DATA ?= ./data
HOST ?= 127.0.0.1
PORT ?= 8080
DEMO_PORT ?=

.PHONY: install run demo test test-min lint bench fuzz clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/tidings db upgrade --data $(DATA)
	$(BIN)/tidings admin ensure-admin --data $(DATA)
	@echo ""
	@echo "  Tidings is starting at http://$(HOST):$(PORT)"
	@echo "    Web console:    http://$(HOST):$(PORT)/console  (moderators, auditors, admins)"
	@echo "    API docs:       http://$(HOST):$(PORT)/api/docs"
	@echo "    Public channel: http://$(HOST):$(PORT)/c/<handle>"
	@echo "    Transparency:   http://$(HOST):$(PORT)/transparency"
	@echo "  Log in with the admin account printed above (first start only);"
	@echo "  forgot it? $(BIN)/tidings admin set-password admin --password-stdin --data $(DATA)"
	@echo "  Try the CLI: $(BIN)/tidings --help   (or the chat client: $(BIN)/tidings tui)"
	@echo "  Watch the whole story instead: make demo"
	@echo ""
	$(BIN)/tidings serve --data $(DATA) --host $(HOST) --port $(PORT)

# The guided story on a throwaway server (8080 if free; DEMO_PORT=N to choose), which
# then keeps running for you to look around; Ctrl-C stops it and deletes its data.
demo: install
	$(BIN)/tidings demo $(if $(DEMO_PORT),--port $(DEMO_PORT),)

lint: install
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy src

# Three workers on two cores (most tests wait on sockets and subprocesses; each test
# module on one worker; PostgreSQL databases and
# Redis prefixes are per process/test), then the tests that stop and restart the local
# Redis, alone, since they would break the other worker's Redis tests.
TEST_WORKERS ?= 3
test: lint
	$(PY) -m pytest -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile -m "not fuzz and not redis_restart"
	$(PY) -m pytest -p no:cacheprovider -m "redis_restart and not fuzz"

# The dependency floors in pyproject.toml, tested: a second environment with the lowest
# version of every direct dependency (uv's lowest-direct resolution) runs a smoke subset.
MIN_VENV ?= .venv-min
SMOKE ?= tests/server/test_limits_and_health.py tests/server/test_accounts_api.py \
	tests/server/test_posts_api.py tests/server/test_gateway.py tests/client/test_messaging.py \
	tests/server/test_webhooks.py tests/server/test_uvicorn_internals.py tests/moderation/test_pdq.py
test-min: install
	$(BIN)/pip install -q uv
	test -x $(MIN_VENV)/bin/python || $(BIN)/uv venv -q -p $(PY) $(MIN_VENV)
	VIRTUAL_ENV=$(MIN_VENV) $(BIN)/uv pip install -q --resolution lowest-direct -e . \
		'pytest>=8' 'pytest-asyncio>=0.24' 'pytest-timeout>=2.3' 'hypothesis>=6.100'
	$(MIN_VENV)/bin/python -m pytest -p no:cacheprovider -q $(SMOKE)

bench: install
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) -m pip install -q --no-deps ultralytics imgaug
	$(PY) benchmarks/run_all.py

fuzz: install
	TIDINGS_FUZZ_EXAMPLES=500 $(PY) -m pytest -p no:cacheprovider -m fuzz

clean:
	rm -rf $(VENV) $(MIN_VENV) .mypy_cache .ruff_cache .pytest_cache
