# Two commands matter: `make run` serves the chat, `make test` runs the tests.
# Both set up .venv first; nothing is downloaded at run time.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install browser test run eval tune train-reader bench bench-store clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[test,tune,milvus]"
	touch $(STAMP)

install: $(STAMP)

# The browser tests drive Debian's Chromium (Playwright's own browser download is not used).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

test: install browser
	$(BIN)/python -m pytest -m "slow or not slow"

run: install
	$(BIN)/qa serve

eval: install
	$(BIN)/python tools/heldout.py >/dev/null
	$(BIN)/qa eval tests/data/dev_questions.jsonl
	$(BIN)/qa eval ../shared/eval/squad2-tune
	$(BIN)/qa eval ../shared/eval/news-tune
	$(BIN)/qa eval build/synthetic-val

# Refits the ranker, the rerank and the confidence models on held-out training articles and the
# synthetic-news "fit" stories (about 15-20 min).
tune: install
	$(BIN)/python tools/heldout.py
	$(BIN)/python tools/tune.py --write

# Trains the span reader in two stages (about 50 + 2 x 40 minutes on 2 cores with AMX): on
# ../shared/train/squad from MiniLM, then on synthetic-news mixed with SQuAD from the first stage's
# reader, in two passes; then measures it and writes its model card. Resumes where an interrupted
# run stopped. The shipped weights were trained with oneDNN's AMX bf16 kernels; a CPU without AMX
# trains with its AVX512-BF16 ones (about 80 + 2 x 75 minutes) and rounds differently.
# READER_ISA=AVX512_CORE_BF16 holds an AMX CPU to those.
READER_ISA ?=
READER_KERNELS = $(if $(READER_ISA),ONEDNN_MAX_CPU_ISA=$(READER_ISA))
train-reader: install
	$(READER_KERNELS) $(BIN)/python tools/train_reader.py --stage squad
	$(READER_KERNELS) $(BIN)/python tools/train_reader.py --stage news
	$(BIN)/python tools/heldout.py
	$(READER_KERNELS) $(BIN)/python tools/reader_card.py

clean:
	rm -rf $(VENV) .pytest_cache build dist *.egg-info test-artifacts

bench: install
	$(BIN)/python bench/run.py

# The Milvus store beside the default index: news-tune built into each (about 25 minutes here), two
# replicas answering alike, a 100k-sentence store's answer time (bench/store.py).
bench-store: install
	$(BIN)/python bench/store.py
