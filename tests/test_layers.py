"""The import contracts of pyproject.toml ([tool.importlinter]), checked by import-linter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = str(Path(sys.executable).parent / "lint-imports")


def lint(config: Path) -> subprocess.CompletedProcess:
    # In a fresh process: the suite's own imports must not change what is analysed.
    return subprocess.run([LINT, "--config", str(config), "--no-cache"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_imports_go_one_way():
    """spiders -> crawler -> archive; no Scrapy/Twisted/click in archive, no Scrapy/Twisted in
    crawler.page, click only in crawler.cli."""
    result = lint(ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Contracts: 4 kept, 0 broken." in result.stdout


def test_a_broken_contract_is_reported(tmp_path):
    """The checker really looks: the Scrapy pipeline does import Twisted."""
    config = tmp_path / "contracts.toml"
    config.write_text(
        '[tool.importlinter]\nroot_packages = ["crawler"]\ninclude_external_packages = true\n\n'
        '[[tool.importlinter.contracts]]\nname = "must break"\ntype = "forbidden"\n'
        'source_modules = ["crawler.pipelines.extraction"]\nforbidden_modules = ["twisted"]\n',
        encoding="utf-8")
    result = lint(config)
    assert result.returncode == 1 and "must break BROKEN" in result.stdout, result.stdout[-3000:]
