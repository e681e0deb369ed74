# Two commands matter: `make run` serves the chat, `make test` runs the tests.
# Both set up .venv first; nothing is downloaded at run time.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0

.PHONY: install test run eval clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

test: install
	$(BIN)/python -m pytest

run: install
	$(BIN)/qa serve

eval: install
	$(BIN)/qa eval ../shared/eval/dev_questions.jsonl
	$(BIN)/qa eval ../shared/eval/squad2-tune

clean:
	rm -rf $(VENV) .pytest_cache build dist *.egg-info
