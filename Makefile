# The two commands a new user needs:
#   make run    set up (once) and start the playground (local backend when there is no token)
#   make test   set up (once) and run the whole test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=

.PHONY: run test bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

# torch is installed first, alone, so the pinned CPU build is what sentence-transformers finds.
$(VENV)/.run-deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -r requirements.txt
	touch $@

$(VENV)/.test-deps: requirements-dev.txt $(VENV)/.run-deps
	$(BIN)/pip install -r requirements-dev.txt
	touch $@

run: $(VENV)/.run-deps
	$(BIN)/python app.py $(ARGS)

test: $(VENV)/.test-deps
	$(BIN)/python -m pytest tests

bench: $(VENV)/.test-deps
	$(BIN)/python bench/bench_service.py

clean:
	rm -rf $(VENV)
