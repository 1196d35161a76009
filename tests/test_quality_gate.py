"""Evaluation gate: extraction quality on real pages must not drop below the recorded floor.

Runs on ../shared/realworld/extraction (present in CI beside the clone, absent in a user's
clone: then skipped). The floor sits a little under the measured F1 (0.971, BENCHMARKS.md)
and above trafilatura alone (0.958 via bare_extraction), the issue's hard line.
"""

from __future__ import annotations

import pytest

from bench.extraction_quality import DEFAULT_DATA, EXTRACTORS, load_pages, run

F1_FLOOR = 0.965


@pytest.mark.skipif(not (DEFAULT_DATA / "ground-truth.json").exists(), reason="real-world extraction set not available")
def test_extraction_f1_not_below_floor():
    pages = load_pages(DEFAULT_DATA)
    assert len(pages) == 181
    result = run("ours", EXTRACTORS["ours"], pages)
    assert result["f1"] >= F1_FLOOR, result
