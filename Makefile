# Two entry points on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m samplesite.demo

test: $(STAMP)
	bash .ci/ensure-redis $(BIN)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench.crawl_speed --articles 2000 --runs 3
	$(BIN)/python -m bench.costs bench/out/work/a-2000.db
	$(BIN)/python -m bench.archive_scale all --articles 100000 --db bench/out/scale-100k.db
	-$(BIN)/python -m bench.dates_quality
	-$(BIN)/python -m bench.extraction_quality

clean:
	rm -rf $(VENV) archive.db archive.db-wal archive.db-shm
