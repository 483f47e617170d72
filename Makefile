# direkt — two commands: `make run` serves the product, `make test` runs the suite.
# Both create .venv and install the project when needed; nothing is installed by hand.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test lint typecheck unit bench browser coturn oidcprovider screenshots clean bytecode

run: $(STAMP)
	$(BIN)/direkt serve --demo

# Two workers, a whole module each at a time (module fixtures start servers once): the suite
# waits on server processes, browsers and coturn as much as it computes.
test: $(STAMP) lint typecheck browser coturn oidcprovider bytecode
	PYTHONSAFEPATH=1 $(BIN)/python -m pytest -n 2 --dist loadfile

browser:
	@scripts/ensure-chromium

# The suite starts about 150 server processes. Where PYTHONDONTWRITEBYTECODE is set (as on our
# machines) none of them writes bytecode, so each compiled every module of ours again: 0.1-0.3 s
# of CPU per start (direkt bench start). compileall writes it once (and again only for files that changed).
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q -j 0 server queue triage signaling loadtests tests >/dev/null

# Debian's coturn and faketime for the TURN tests (tests/calls/test_turn_server.py).
coturn:
	@scripts/ensure-coturn

# The third-party OpenID provider the identity tests run (panva's oidc-provider, pinned in
# tests/oidcprovider/package-lock.json): Debian's Node.js when missing, then npm ci once per lock file.
OIDCP := tests/oidcprovider
oidcprovider:
	@scripts/ensure-node
	@if ! command -v npm >/dev/null 2>&1; then :; \
	elif cmp -s $(OIDCP)/package-lock.json $(OIDCP)/node_modules/.package-lock.json.installed; then :; \
	else echo "Installing oidc-provider for the tests (npm ci in $(OIDCP))" && \
	  (cd $(OIDCP) && npm ci --no-audit --no-fund --loglevel=error) && \
	  cp $(OIDCP)/package-lock.json $(OIDCP)/node_modules/.package-lock.json.installed; fi

# The README's screenshots, from the last browser test run (var/screenshots).
screenshots:
	mkdir -p docs/screenshots
	for f in widget-phone-triage widget-reason-search widget-waiting widget-chat widget-112 console-queue console-chat call-console call-consent console-earlier-transcript \
	  supervisor-board supervisor-steering widget-waiting-intake-closed stats-page admin-staff admin-unit console-phrases \
	  console-chat-referred console-referral console-chat-booked console-booking console-guidance widget-vaccination-booking; do \
	  cp var/screenshots/$$f.png docs/screenshots/; done

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	@rm -rf .typecheck && mkdir -p .typecheck/direkt
	@for d in server queue triage signaling loadtests; do ln -s ../../$$d .typecheck/direkt/$$d; done
	cd .typecheck && MYPYPATH=. ../$(BIN)/mypy --strict --explicit-package-bases -p direkt

unit: $(STAMP)
	PYTHONSAFEPATH=1 $(BIN)/python -m pytest tests/unit

bench: $(STAMP)
	$(BIN)/direkt bench queue
	$(BIN)/direkt bench ws

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "direkt needs Python 3.11 or newer; set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,load]'
	rm -f $(VENV)/.installed-* && touch $@

clean:
	rm -rf $(VENV) .typecheck .pytest_cache .mypy_cache .ruff_cache .hypothesis var $(OIDCP)/node_modules
