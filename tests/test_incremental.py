"""Incremental crawls: only what is new or changed is fetched; edits become versions."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlite_utils

from conftest import FAST, run_cli
from mutable_site import MutableSite, Story

PARAS = [
    "В Актау открылся новый центр обслуживания населения, рассчитанный на двести посетителей в день.",
    "По словам руководителя центра, очереди сократятся вдвое уже в первый месяц работы учреждения.",
    "Жители города отметили удобное расположение здания рядом с остановками общественного транспорта.",
]


def _stories():
    return [
        Story("v-aktau-otkrylsya-tsentr-obsluzhivaniya", "В Актау открылся центр обслуживания", list(PARAS),
              "5 ноября 2024 г. 9:26"),
        Story("v-atyrau-otremontirovali-most-cherez-ural", "В Атырау отремонтировали мост через Урал",
              [p.replace("Актау", "Атырау") for p in PARAS], "8 мая 2020 г. 12:28"),
        Story("v-taraze-postroyat-novuyu-shkolu-na-tysyachu-mest", "В Таразе построят новую школу",
              [p.replace("Актау", "Таразе") for p in PARAS], "13 декабря 2025 г. 1:40"),
    ]


@pytest.fixture
def site():
    s = MutableSite(_stories())
    yield s
    s.close()


def crawl(site, db, *extra):
    result = run_cli("crawl", site.url + "/", "--db", str(db), *FAST, *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1]


def test_second_run_fetches_nothing_known(site, tmp_path):
    db = tmp_path / "a.db"
    first = crawl(site, db)
    assert " 3 discovered, 0 known, 3 fetched, 3 new," in first
    n = len(site.article_fetches())
    second = crawl(site, db)
    assert " 3 discovered, 3 known, 0 fetched, 0 new, 0 updated, 0 unchanged," in second
    assert len(site.article_fetches()) == n  # not one article page requested again
    row = sqlite_utils.Database(db)["crawls"].get(2)
    assert (row["discovered"], row["skipped_known"], row["pages"], row["status"]) == (3, 3, 0, "ok")


def test_lastmod_change_refetches_and_keeps_version(site, tmp_path):
    db = tmp_path / "a.db"
    crawl(site, db)
    story = site.stories["v-aktau-otkrylsya-tsentr-obsluzhivaniya"]
    story.title = "В Актау открылся крупный центр обслуживания"
    story.paragraphs[1] = "По словам руководителя, очереди сократятся втрое уже в первый месяц."
    story.modified = datetime(2030, 1, 1, tzinfo=timezone.utc)  # after our last visit
    line = crawl(site, db)
    assert " 3 discovered, 2 known, 1 fetched, 0 new, 1 updated, 0 unchanged," in line
    url = site.url + "/n/v-aktau-otkrylsya-tsentr-obsluzhivaniya/"
    rows = list(sqlite_utils.Database(db).query(
        "select v.version, v.title from article_versions v join articles a on a.id = v.article_id "
        "where a.url = ?", [url]))
    assert rows == [{"version": 1, "title": "В Актау открылся центр обслуживания"}]
    history = run_cli("history", url, "--db", str(db))
    assert history.returncode == 0, history.stderr
    out = history.stdout
    assert out.startswith(f"{url}: 2 versions\n")
    assert "title was: В Актау открылся центр обслуживания" in out
    assert "-По словам руководителя центра, очереди сократятся вдвое" in out
    assert "+По словам руководителя, очереди сократятся втрое" in out
    # one more run with nothing changed adds no version
    crawl(site, db)
    assert sqlite_utils.Database(db)["article_versions"].count == 1


def test_refresh_uses_conditional_requests(site, tmp_path):
    db = tmp_path / "a.db"
    crawl(site, db)
    before = len(site.article_fetches())
    line = crawl(site, db, "--refresh")
    assert " 3 discovered, 0 known, 3 fetched, 0 new, 0 updated, 3 unchanged, 0 duplicates, 3 not modified, 0 errors" in line
    refetches = site.article_fetches()[before:]
    assert len(refetches) == 3 and all(h.get("If-None-Match", "").startswith('"') for _, h in refetches)
    db_ = sqlite_utils.Database(db)
    assert db_.execute("select count(*) from pages where status = 304 and article_id is not null").fetchone()[0] == 3
    assert db_["article_versions"].count == 0


def test_recheck_days_revisits_recent_articles_only(site, tmp_path):
    db = tmp_path / "a.db"
    crawl(site, db)
    before = len(site.article_fetches())
    # «13 декабря 2025» is recent relative to a 2026 clock only if within N days: use a wide window
    days = (datetime.now(timezone.utc).date() - datetime(2024, 11, 1).date()).days
    line = crawl(site, db, "--recheck-days", str(days))
    fetched = {p for p, _ in site.article_fetches()[before:]}
    assert fetched == {"/n/v-aktau-otkrylsya-tsentr-obsluzhivaniya/", "/n/v-taraze-postroyat-novuyu-shkolu-na-tysyachu-mest/"}
    assert " 2 not modified," in line


def test_new_article_is_the_only_fetch(site, tmp_path):
    db = tmp_path / "a.db"
    crawl(site, db)
    before = len(site.article_fetches())
    site.stories["v-shymkente-nachalsya-festival-yablok"] = Story(
        "v-shymkente-nachalsya-festival-yablok", "В Шымкенте начался фестиваль яблок",
        [p.replace("Актау", "Шымкенте") for p in PARAS], "1 апреля 2024 г. 12:16")
    line = crawl(site, db)
    assert " 4 discovered, 3 known, 1 fetched, 1 new," in line
    assert [p for p, _ in site.article_fetches()[before:]] == ["/n/v-shymkente-nachalsya-festival-yablok/"]


def test_edit_seen_by_a_changed_lastmod_even_one_behind_our_clock(site, tmp_path):
    """The site's lastmods are long before our visits (its clock, or its habits): an edit
    is still seen, because the date differs from the one recorded at the last fetch."""
    db = tmp_path / "a.db"
    crawl(site, db)
    story = site.stories["v-atyrau-otremontirovali-most-cherez-ural"]
    story.paragraphs[0] = "В Атырау после ремонта открыли движение по мосту через Урал для всех машин."
    story.modified = datetime(2025, 1, 2, tzinfo=timezone.utc)  # still two years behind us
    line = crawl(site, db)
    assert " 3 discovered, 2 known, 1 fetched, 0 new, 1 updated, 0 unchanged," in line
    assert " 3 discovered, 3 known, 0 fetched," in crawl(site, db)  # nothing changed since
