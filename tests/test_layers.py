"""The import contracts of pyproject.toml ([tool.importlinter]), checked by import-linter."""

from __future__ import annotations

from pathlib import Path

from importlinter.cli import lint_imports

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def test_imports_go_one_way():
    """spiders -> crawler -> archive; no Scrapy/Twisted/click in archive, no Scrapy/Twisted in
    crawler.page, click only in crawler.cli (`lint-imports` prints the broken chains)."""
    assert lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True) == 0


def test_a_broken_contract_is_reported(tmp_path):
    """The checker really looks: the Scrapy pipeline does import Twisted."""
    config = tmp_path / "contracts.toml"
    config.write_text(
        '[tool.importlinter]\nroot_packages = ["crawler"]\ninclude_external_packages = true\n\n'
        '[[tool.importlinter.contracts]]\nname = "must break"\ntype = "forbidden"\n'
        'source_modules = ["crawler.pipelines.extraction"]\nforbidden_modules = ["twisted"]\n',
        encoding="utf-8")
    assert lint_imports(config_filename=str(config), no_cache=True, no_logo=True) == 1
