# The two commands the README promises: `make demo` and `make test`. Both create .venv when it is
# missing and install what they need first, so a fresh clone needs nothing else.
# `make test-floor` runs the suite (browser tests aside) at the oldest versions pyproject.toml
# allows, in .venv-floor; CI runs both.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)

# The floor job runs on the oldest Python we support (3.10) when the machine has one, on PATH or
# installed by pyenv (whose shim on PATH fails for a version that is not selected); else on $(PY).
FLOOR_PY ?= $(or $(firstword $(shell for p in python3.10 $$(pyenv root 2>/dev/null)/versions/3.10*/bin/python3.10; do "$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null && echo "$$p"; done)),$(PY))
FLOOR_VENV := .venv-floor
FLOOR_BIN := $(FLOOR_VENV)/bin
FLOOR_STAMP := $(FLOOR_VENV)/.installed-$(shell cat pyproject.toml constraints-floor.txt | cksum | cut -d' ' -f1)
# What constraints-floor.txt is resolved from: each direct dependency at its lowest allowed
# version, everything else as PyPI served it on FLOOR_DATE (a Jupyter image of that time), except
# the official SDK (a test-only oracle, pinned in pyproject.toml) and what that pins in turn.
FLOOR_DATE := 2024-10-15
FLOOR_LATE := huaweicloudsdkcore huaweicloudsdkroma pymongo dnspython certifi pyasn1 simplejson

.PHONY: test demo lint typecheck unit bench install install-floor test-floor constraints-floor clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check uv
	$(BIN)/uv pip install -q --python $(BIN)/python -c constraints.txt -e '.[dev,demo]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check roma_nb tests bench
	$(BIN)/ruff format --check roma_nb tests bench
	$(BIN)/python -m roma_nb._check_notebooks notebooks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest

test: lint typecheck unit

$(FLOOR_BIN)/python:
	$(FLOOR_PY) -m venv $(FLOOR_VENV)

$(FLOOR_STAMP): $(FLOOR_BIN)/python pyproject.toml constraints-floor.txt
	$(FLOOR_BIN)/python -m pip install -q --disable-pip-version-check uv
	$(FLOOR_BIN)/uv pip install -q --python $(FLOOR_BIN)/python -c constraints-floor.txt -e '.[test]'
	rm -f $(FLOOR_VENV)/.installed-* && touch $(FLOOR_STAMP)

install-floor: $(FLOOR_STAMP)

test-floor: $(FLOOR_STAMP)
	$(FLOOR_BIN)/python -c 'import sys, httpx, ipykernel, ipywidgets, numpy, pandas; print("floor:", sys.version.split()[0], *(f"{m.__name__} {m.__version__}" for m in (pandas, numpy, httpx, ipywidgets, ipykernel)))'
	$(FLOOR_BIN)/python -m pytest -m "not browser"

constraints-floor: $(STAMP)
	$(BIN)/uv pip compile -q --python-version 3.10 --resolution lowest-direct \
	  --exclude-newer $(FLOOR_DATE) $(foreach p,$(FLOOR_LATE),--exclude-newer-package $(p)=2100-01-01) \
	  --extra test --no-header --no-annotate pyproject.toml -o constraints-floor.txt.new
	( printf '%s\n' \
	  '# The oldest versions pyproject.toml allows, with the rest as a Jupyter image of $(FLOOR_DATE) had' \
	  '# them. make test-floor installs exactly these (on Python 3.10 where the machine has it).' \
	  '# Regenerate with make constraints-floor after changing a range in pyproject.toml.' \
	  && cat constraints-floor.txt.new ) > constraints-floor.txt && rm constraints-floor.txt.new

bench: $(STAMP)
	$(BIN)/python -m bench

demo: $(STAMP)
	$(BIN)/roma-nb demo

clean:
	rm -rf $(VENV) $(FLOOR_VENV)
