# The two commands a new user needs:
#   make run    set up (once) and start the playground (local backend when there is no token)
#   make test   set up (once) and run the whole test suite (installs Chromium with apt when missing)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=

# llama.cpp is compiled from source by pip. Its default is -march=native, which on some CPUs (AVX-512/AMX
# Xeons) builds a library that dies with SIGILL at the first token. We build a portable baseline instead:
# native detection off, which on x86-64 means SSE4.2, AVX, AVX2, BMI2, FMA and F16C (x86-64-v3) and never
# AVX-512 or AMX; on an x86-64 CPU without AVX2 the AVX family is turned off too.
LLAMA_CPP_VERSION := 0.3.36
HAS_AVX2 := $(shell grep -qw avx2 /proc/cpuinfo 2>/dev/null && echo yes)
ifeq ($(shell uname -m),x86_64)
  ifneq ($(HAS_AVX2),yes)
    LLAMA_CPU_ARGS := -DGGML_AVX=OFF -DGGML_AVX2=OFF -DGGML_BMI2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF
  endif
endif
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF $(LLAMA_CPU_ARGS)

.PHONY: run test test-fast bench clean system-test-deps system-run-deps

# System packages the set-up itself needs: a C/C++ compiler (llama.cpp is compiled from source) and Python's venv
# module. Installed with apt when run as root; otherwise it stops at once and names what to install.
system-run-deps:
	@need=""; \
	{ command -v cc && command -v c++; } >/dev/null 2>&1 || need="$$need build-essential"; \
	$(PY) -c "import ensurepip, venv" >/dev/null 2>&1 || need="$$need python3-venv"; \
	if [ -n "$$need" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need >/dev/null; \
	  else echo "The set-up needs:$$need. Install them (e.g. sudo apt-get install$$need) and run make again." >&2; exit 1; fi; \
	fi

$(BIN)/python: | system-run-deps
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

# The engine is built with the portable flags and without pip's wheel cache (a wheel built earlier with
# -march=native would otherwise be reused). Its stamp names the version and the flags: it is rebuilt when
# either changes, not when another requirement does.
ENGINE_STAMP := $(VENV)/.engine-$(LLAMA_CPP_VERSION)-$(shell echo '$(LLAMA_CMAKE_ARGS)' | cksum | cut -d' ' -f1)
$(ENGINE_STAMP): | $(BIN)/python
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --no-cache-dir --force-reinstall --no-deps \
		llama-cpp-python==$(LLAMA_CPP_VERSION)
	touch $@

# torch is installed first, alone, so the pinned CPU build is what sentence-transformers finds.
$(VENV)/.run-deps: requirements.txt $(ENGINE_STAMP) | $(BIN)/python
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -r requirements.txt
	touch $@

$(VENV)/.test-deps: requirements-dev.txt $(VENV)/.run-deps
	$(BIN)/pip install -r requirements-dev.txt
	touch $@

# System packages the tests start themselves (Chromium for the browser journeys).
system-test-deps:
	@bash tests/setup_system.sh

run: $(VENV)/.run-deps
	$(BIN)/python app.py $(ARGS)

test: $(VENV)/.test-deps system-test-deps
	$(BIN)/python -m pytest tests

# The fast tests alone (no browser journeys, no slow engine runs).
test-fast: $(VENV)/.test-deps
	$(BIN)/python -m pytest tests -m "not slow"

bench: $(VENV)/.test-deps
	$(BIN)/python bench/bench_service.py

clean:
	rm -rf $(VENV)
