# Vigil: `make demo` runs the product on its embedded defaults, `make test` runs the checks.
# Both set up everything they need on a fresh Debian 12 / Python 3.11 machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
APT_STAMP := .cache/.apt-installed
# GStreamer's RTSP server (tests start a real one under /usr/bin/python3).
APT_PACKAGES := python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base \
	gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint format check-format typecheck unit bench system-deps services clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch: the CPU build (2.13.0) that this machine keeps on disk; the range in
	# pyproject.toml admits it, so the next step keeps it instead of pulling a CUDA build.
	$(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[clip,dev,kafka,postgres]"
	touch $(STAMP)

system-deps: $(APT_STAMP)
$(APT_STAMP):
	@if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
		echo "installing GStreamer RTSP server packages"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); \
	fi
	@mkdir -p $(dir $(APT_STAMP)) && touch $(APT_STAMP)

# PostgreSQL runs on these machines; start it if it is down (tests require it).
services:
	@if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
		$(SUDO) pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start || true; \
	fi

demo: $(STAMP)
	$(BIN)/vigil demo -c configs/demo.yaml

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

unit: $(STAMP)
	$(BIN)/pytest -q -m "not slow"

test: $(STAMP) system-deps services lint
	$(BIN)/pytest -q -ra

bench: $(STAMP) system-deps
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/encoder.py
	$(BIN)/python bench/durability.py
	$(BIN)/python bench/storage.py
	$(BIN)/python bench/reports.py

clean:
	rm -rf $(VENV) .cache .mypy_cache .ruff_cache .pytest_cache data/demo
