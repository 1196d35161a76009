# Two entry points on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install bench clean browser replayweb

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m samplesite.demo

test: $(STAMP) browser replayweb
	bash .ci/ensure-redis $(BIN)
	$(BIN)/python -m pytest -q

# Headless Chromium for tests/test_browser.py: installed when missing and we are root
# (CI's fresh machine); otherwise those tests skip and say why. Quick when present.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || echo "chromium not installed (not root or no apt-get): the browser tests will skip"; }

# ReplayWeb.page (pinned npm tarball, integrity-checked) for tests/test_warc.py's replay
# test: npm installed when missing and we are root; otherwise that test skips and says why.
replayweb: $(STAMP)
	@command -v npm >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; } \
	  || echo "npm not installed (not root or no apt-get): the ReplayWeb.page test will skip"; }
	@$(BIN)/python tests/replayweb.py fetch >/dev/null

bench: $(STAMP)
	$(BIN)/python -m bench.crawl_speed --articles 2000 --runs 3
	$(BIN)/python -m bench.costs bench/out/work/a-2000.db
	$(BIN)/python -m bench.archive_scale all --articles 100000 --db bench/out/scale-100k.db
	-$(BIN)/python -m bench.dates_quality
	-$(BIN)/python -m bench.extraction_quality

clean:
	rm -rf $(VENV) archive.db archive.db-wal archive.db-shm
