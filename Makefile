# The two commands of README: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test check venv bench clean vendor screenshots

venv: $(STAMP)

$(STAMP): pyproject.toml $(wildcard devices/*/*.c telemetry/*.c)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/fieldgate demo

WEB    := fieldservice/web
WEBDEV := $(WEB)/node_modules/.installed

# the web app's linter and type checker, pinned in $(WEB)/package-lock.json (npm registry)
$(WEBDEV): $(WEB)/package.json $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund --ignore-scripts
	touch $(WEBDEV)

# the lint and type gate (docs/development.md): a finding fails `make test`, and so CI
check: $(STAMP) $(WEBDEV)
	$(BIN)/ruff check .
	$(BIN)/mypy
	cd $(WEB) && npx --no-install eslint . && npx --no-install tsc -p .

test: check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# the web app's third-party browser code (fieldservice/web/package.json) from the npm registry,
# copied into the package; the copies are committed, so installing never needs npm
LEAFLET := fieldservice/web/static/vendor/leaflet
vendor: $(WEBDEV)
	mkdir -p $(LEAFLET)
	cp -r fieldservice/web/node_modules/leaflet/dist/leaflet.js \
	      fieldservice/web/node_modules/leaflet/dist/leaflet.css \
	      fieldservice/web/node_modules/leaflet/dist/images \
	      fieldservice/web/node_modules/leaflet/LICENSE $(LEAFLET)/

# the screenshots of docs/web.md, taken by the browser tests (so they show what the tests saw)
screenshots: $(STAMP)
	FIELDGATE_SHOTS=docs/screens $(BIN)/python -m pytest -q tests/web

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .fieldgate $(WEB)/node_modules
