"""The sample news site: determinism, discovery files, pages against their ground truth, HTTP."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import urllib.robotparser
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from importlib import resources

import lxml.html
import pytest

from samplesite import Response, SampleSite, serve

BASE = "http://127.0.0.1:8765"
EXAMPLE_PATH = "/n/xii-grazhdanskiy-forum-na-temu-zakon-i-poryadok-proshel-v-mangistau/"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
RU_MONTHS = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
             "ноября", "декабря"]
KK_MONTHS = ["қаңтар", "ақпан", "наурыз", "сәуір", "мамыр", "маусым", "шілде", "тамыз", "қыркүйек", "қазан",
             "қараша", "желтоқсан"]
SWITCH = datetime(2024, 3, 1)


@pytest.fixture(scope="module")
def site() -> SampleSite:
    return SampleSite(n_articles=60)


@pytest.fixture(scope="module")
def truth(site) -> list[dict]:
    return site.truth()


@pytest.fixture(scope="module")
def by_path(truth) -> dict[str, dict]:
    return {t["path"]: t for t in truth}


def get(site: SampleSite, path: str) -> Response:
    return site.render(path, BASE)


def decode(resp: Response) -> str:
    """Decode the way a browser would: HTTP charset, else the <meta> declaration, else UTF-8."""
    m = re.search(r"charset=([\w-]+)", resp.headers.get("Content-Type", ""))
    if not m:
        m = re.search(rb'<meta[^>]+charset=["\']?([\w-]+)', resp.body[:2048], re.I)
    charset = m.group(1) if m else "utf-8"
    return resp.body.decode(charset if isinstance(charset, str) else charset.decode())


def doc(resp: Response):
    return lxml.html.document_fromstring(decode(resp))


def sitemap_paths(site: SampleSite) -> tuple[list[str], list[str]]:
    """(chunk file names from the index, every <loc> path found in the chunks)."""
    index = ET.fromstring(get(site, "/sitemap.xml").body)
    names, paths = [], []
    for sm in index.iter(f"{SM}sitemap"):
        loc = sm.findtext(f"{SM}loc")
        assert loc.startswith(BASE + "/")
        name = loc[len(BASE):]
        names.append(name)
        if "news" in name:
            continue
        resp = get(site, name)
        assert resp.status == 200, name
        body = gzip.decompress(resp.body) if name.endswith(".gz") else resp.body
        for url in ET.fromstring(body).iter(f"{SM}url"):
            loc = url.findtext(f"{SM}loc")
            lastmod = datetime.fromisoformat(url.findtext(f"{SM}lastmod"))
            assert lastmod.tzinfo is not None
            paths.append(loc[len(BASE):])
    return names, paths


# -- determinism ------------------------------------------------------------------------

def test_same_seed_and_size_give_identical_bytes():
    a, b = SampleSite(40, seed=7), SampleSite(40, seed=7)
    names, paths = sitemap_paths(a)
    extra = ["/", "/robots.txt", "/rss.xml", "/news/", "/news/?page=2", "/kz/", "/tags/ekonomika/",
             "/search/?q=форум", "/about/"]
    for path in names + paths + extra:
        ra, rb = get(a, path), get(b, path)
        assert (ra.status, ra.headers, ra.body) == (rb.status, rb.headers, rb.body), path
    assert a.truth() == b.truth()
    other = SampleSite(40, seed=8)
    assert get(other, "/sitemap-1.xml").body != get(a, "/sitemap-1.xml").body


_DIGEST = """
import hashlib
from samplesite import SampleSite
s = SampleSite(30, seed=5, page_kb=40)
h = hashlib.sha256()
for p in ["/", "/sitemap.xml", "/sitemap-1.xml", "/rss.xml", "/news/?page=2"] + [t["path"] for t in s.truth()]:
    r = s.render(p, "http://127.0.0.1:9")
    h.update(p.encode() + str(r.status).encode() + repr(sorted(r.headers.items())).encode() + r.body)
h.update(repr(s.truth()).encode())
print(h.hexdigest())
"""


def test_same_bytes_across_processes_whatever_the_hash_seed():
    # str hashes differ between processes; nothing the site emits may depend on set/dict order of them.
    digests = {subprocess.run([sys.executable, "-c", _DIGEST], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(digests) == 1 and len(digests.pop().strip()) == 64


# -- discovery files --------------------------------------------------------------------

def test_sitemaps_list_every_truth_path_exactly_once(site, truth):
    names, paths = sitemap_paths(site)
    chunks = [n for n in names if "news" not in n]
    assert len(chunks) >= 2
    gz = [n for n in chunks if n.endswith(".xml.gz")]
    assert len(gz) == 1
    assert get(site, gz[0]).headers["Content-Type"] in ("application/x-gzip", "application/gzip")
    assert get(site, gz[0][:-3]).status == 404  # that chunk exists only compressed
    counts = Counter(paths)
    assert max(counts.values()) == 1
    assert set(counts) == {t["path"] for t in truth}
    assert EXAMPLE_PATH in counts


def test_news_sitemap_has_latest_articles_with_dates(site, by_path):
    assert "/sitemap-news.xml" in sitemap_paths(site)[0]
    root = ET.fromstring(get(site, "/sitemap-news.xml").body)
    urls = list(root.iter(f"{SM}url"))
    assert 5 <= len(urls) <= 10
    for url in urls:
        path = url.findtext(f"{SM}loc")[len(BASE):]
        when = url.find(f"{NEWS}news/{NEWS}publication_date").text
        assert by_path[path]["published_at"] == when


def test_robots_txt_points_to_sitemap_and_blocks_search(site):
    text = get(site, "/robots.txt").body.decode()
    assert f"Sitemap: {BASE}/sitemap.xml" in text.splitlines()
    rp = urllib.robotparser.RobotFileParser()
    rp.parse(text.splitlines())
    assert not rp.can_fetch("newsbot", f"{BASE}/search/?q=test")
    assert rp.can_fetch("newsbot", f"{BASE}{EXAMPLE_PATH}")


def test_rss_lists_latest_articles_with_tracking_links(site, by_path):
    resp = get(site, "/rss.xml")
    assert resp.headers["Content-Type"].startswith("application/rss+xml")
    items = ET.fromstring(resp.body).findall("channel/item")
    assert len(items) == 20
    dates = []
    for item in items:
        link = item.findtext("link")
        path, _, query = link[len(BASE):].partition("?")
        assert query == "utm_source=rss&utm_medium=feed"
        t = by_path[path]
        assert item.findtext("title") == t["title"]
        when = parsedate_to_datetime(item.findtext("pubDate"))
        assert when == datetime.fromisoformat(t["published_at"])
        assert when.utcoffset() == datetime.fromisoformat(t["published_at"]).utcoffset()
        dates.append(when)
    assert dates == sorted(dates, reverse=True)
    home = doc(get(site, "/"))
    assert home.xpath('//link[@rel="alternate"][@type="application/rss+xml"]/@href') == [f"{BASE}/rss.xml"]


def test_listing_pages_link_every_russian_article_some_without_slash(site, truth):
    expected = {t["path"] for t in truth if t["language"] == "ru" and t["kind"] != "nonarticle"}
    seen, raw_links, page = set(), [], 1
    while True:
        resp = get(site, "/news/" if page == 1 else f"/news/?page={page}")
        assert resp.status == 200
        d = doc(resp)
        links = d.xpath('//section[@class="news-list"]//a/@href')
        assert len(links) <= 20
        raw_links += links
        seen |= {h if h.endswith("/") else h + "/" for h in links}
        nxt = d.xpath('//a[@rel="next"]/@href')
        if not nxt:
            break
        assert d.xpath('//a[@rel="next"]/text()') == ["Следующая"]
        assert nxt == [f"/news/?page={page + 1}"]
        page += 1
    assert page >= 3 and seen == expected
    slashless = [h for h in raw_links if not h.endswith("/")]
    assert slashless
    moved = get(site, slashless[0])
    assert moved.status == 301 and moved.headers["Location"] == f"{BASE}{slashless[0]}/"
    assert get(site, f"/news/?page={page + 1}").status == 404


# -- articles against the ground truth ----------------------------------------------------

def _body_paragraphs(d) -> list[str]:
    return [p.text_content() for p in d.xpath('//div[@class="article__body"]/p')]


def test_every_stored_page_matches_its_truth(site, truth):
    checked = Counter()
    for t in truth:
        if t["expected"] != "stored" or t["kind"] == "nonarticle":
            continue
        resp = get(site, t["path"])
        assert resp.status == 200, t["path"]
        d = doc(resp)
        assert d.get("lang") == t["language"]
        assert d.xpath("//h1")[0].text_content() == t["title"]
        assert d.xpath('//time[@class="article__date"]')[0].text_content() == t["published_raw"]
        assert d.xpath('//link[@rel="canonical"]/@href') == [BASE + t["path"]]
        if t["note"] and "broken" in t["note"]:
            text = d.text_content()
            assert all(p in text for p in t["paragraphs"])
        else:
            paras = _body_paragraphs(d)
            assert [p for p in paras if p not in t["boilerplate"]] == t["paragraphs"], t["path"]
            assert all(b in paras for b in t["boilerplate"])
        assert len(t["paragraphs"]) >= 3
        checked[t["kind"]] += 1
    assert checked["article"] >= 60 and checked["translation"] >= 5 and checked["duplicate"] == 1


def test_example_article_is_served_verbatim(site, by_path):
    text = resources.files("samplesite").joinpath("data", "kazpravda-2025-09-12-civil-forum.txt") \
        .read_text(encoding="utf-8")
    head, body = text.split("\n", 1)
    headline = head.split(" ", 3)[3]
    paragraphs = [p for p in body.strip("\n").split("\n\n")]
    assert any("\xa0 " in p for p in paragraphs)  # the runs of double spaces are part of the test
    d = doc(get(site, EXAMPLE_PATH))
    assert d.xpath("//h1")[0].text_content() == headline
    assert d.xpath('//time[@class="article__date"]')[0].text_content() == "12 сентября 2025 г. 14:05"
    assert _body_paragraphs(d) == paragraphs
    assert by_path[EXAMPLE_PATH]["paragraphs"] == paragraphs
    assert by_path[EXAMPLE_PATH]["published_at"] == "2025-09-12T14:05:00+05:00"


def test_windows_1251_page_is_declared_only_in_meta(site, truth):
    [t] = [t for t in truth if t["note"] and "windows-1251" in t["note"]]
    resp = get(site, t["path"])
    assert resp.headers["Content-Type"] == "text/html"
    with pytest.raises(UnicodeDecodeError):
        resp.body.decode("utf-8")
    assert re.search(rb'<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">', resp.body[:400])
    html = resp.body.decode("cp1251")
    assert t["title"] in html and t["expected"] == "stored"
    assert _body_paragraphs(lxml.html.document_fromstring(html))[0] == t["paragraphs"][0]


def test_bad_pages_answer_as_the_truth_says(site, truth):
    bad = {t["error"] or t["note"]: t for t in truth if t["kind"] == "bad"}
    assert len(bad) == 7
    statuses = {k: get(site, t["path"]) for k, t in bad.items()}
    assert statuses["empty body"].status == 200 and statuses["empty body"].body == b""
    pdf = statuses["not html: application/pdf"]
    assert pdf.headers["Content-Type"] == "application/pdf" and pdf.body.startswith(b"%PDF-1.4")
    assert statuses["http 404"].status == 404
    assert statuses["http 500"].status == 500
    for t in bad.values():
        assert t["expected"] == ("error" if t["error"] else "stored")
        if t["expected"] == "error":
            assert t["title"] is None and t["paragraphs"] == []
    [nodate] = [t for t in bad.values() if "дата уточняется" in (t["note"] or "")]
    assert nodate["published_at"] is None and nodate["published_raw"] == "дата уточняется"
    page = decode(get(site, nodate["path"]))
    assert "application/ld+json" not in page and "article:published_time" not in page


def test_dates_carry_the_almaty_offset_on_both_sides_of_2024_03_01(truth):
    before = after = 0
    for t in truth:
        if not t["published_at"]:
            continue
        when = datetime.fromisoformat(t["published_at"])
        local = when.replace(tzinfo=None)
        want = timedelta(hours=6) if local < SWITCH else timedelta(hours=5)
        assert when.utcoffset() == want, t["path"]
        before, after = before + (local < SWITCH), after + (local >= SWITCH)
        raw = t["published_raw"]
        if t["language"] == "ru":
            m = re.fullmatch(r"([1-9]\d?) (\w+) (\d{4}) г\. ([1-9]?\d):(\d\d)", raw)
            day, month = int(m.group(1)), RU_MONTHS.index(m.group(2)) + 1
        else:
            m = re.fullmatch(r"([1-9]\d?) (\w+) (\d{4}), (\d\d):(\d\d)", raw)
            day, month = int(m.group(1)), KK_MONTHS.index(m.group(2)) + 1
        assert m, raw
        assert datetime(int(m.group(3)), month, day, int(m.group(4)), int(m.group(5))) == local
        assert datetime(2019, 1, 1) <= local < datetime(2026, 12, 1)
    assert before >= 10 and after >= 10


def test_machine_readable_dates_are_a_consistent_minority(site, truth):
    with_ld = with_meta = articles = 0
    for t in truth:
        if t["kind"] != "article" or t["language"] != "ru":
            continue
        articles += 1
        d = doc(get(site, t["path"]))
        for block in d.xpath('//script[@type="application/ld+json"]/text()'):
            assert json.loads(block)["datePublished"] == t["published_at"]
            with_ld += 1
        for value in d.xpath('//meta[@property="article:published_time"]/@content'):
            assert value == t["published_at"]
            with_meta += 1
    assert 1 <= with_ld <= articles * 0.3 and 1 <= with_meta <= articles * 0.3


def test_duplicate_repeats_title_and_text_under_its_own_url(site, by_path):
    [dup] = [t for t in by_path.values() if t["kind"] == "duplicate"]
    orig = by_path[dup["duplicate_of"]]
    assert dup["path"] != orig["path"]
    assert (dup["title"], dup["paragraphs"]) == (orig["title"], orig["paragraphs"])
    d = doc(get(site, dup["path"]))
    assert d.xpath('//link[@rel="canonical"]/@href') == [BASE + dup["path"]]


def test_kazakh_editions_pair_with_russian_by_hreflang(site, by_path):
    kk = [t for t in by_path.values() if t["kind"] == "translation"]
    assert 8 <= len(kk) <= 25
    for t in kk:
        ru_path = t["translation_of"]
        assert by_path[ru_path]["language"] == "ru"
        for path in (t["path"], ru_path):
            d = doc(get(site, path))
            pairs = dict((a.get("hreflang"), a.get("href")) for a in d.xpath('//link[@rel="alternate"][@hreflang]'))
            assert pairs == {"ru": BASE + ru_path, "kk": BASE + t["path"]}
    assert re.search(r"[әғқңөұүі]", " ".join(kk[0]["paragraphs"]))


def test_amp_version_points_back_and_has_the_same_text(site, by_path):
    t = by_path[EXAMPLE_PATH]
    page = doc(get(site, EXAMPLE_PATH))
    [amp] = page.xpath('//link[@rel="amphtml"]/@href')
    resp = get(site, amp[len(BASE):])
    assert resp.status == 200
    d = doc(resp)
    assert d.xpath('//link[@rel="canonical"]/@href') == [BASE + EXAMPLE_PATH]
    assert _body_paragraphs(d) == t["paragraphs"]


def test_non_article_pages_are_linked_and_not_article_urls(site, truth):
    nonarticles = [t for t in truth if t["kind"] == "nonarticle"]
    assert {"/about/", "/contacts/"} <= {t["path"] for t in nonarticles}
    for t in nonarticles:
        assert t["expected"] == "skipped" and not re.fullmatch(r"/(kz/)?n/[^/]+/", t["path"])
        resp = get(site, t["path"])
        assert resp.status == 200
        assert not doc(resp).xpath('//time[@class="article__date"]')
    home = doc(get(site, "/"))
    hrefs = set(home.xpath("//a/@href"))
    assert {"/about/", "/contacts/", "/news/", "/tags/ekonomika/"} <= hrefs
    tag = doc(get(site, "/tags/obshchestvo/"))
    assert tag.xpath('//section[@class="news-list"]//a')
    search = get(site, "/search/?q=форум")
    assert search.status == 200 and b"noindex" in search.body


def test_corpus_has_inflected_forms_for_full_text_search(truth):
    texts = [" ".join(t["paragraphs"]) for t in truth if t["language"] == "ru" and t["paragraphs"]]
    for form in ("форум", "форума", "форуме", "форумом"):
        hits = sum(1 for text in texts if re.search(rf"(?<!\w){form}(?!\w)", text, re.I))
        assert hits >= 3, form


def test_page_kb_pads_article_pages_without_changing_their_text():
    plain, padded = SampleSite(20, page_kb=0), SampleSite(20, page_kb=120)
    for t in plain.truth():
        if t["expected"] != "stored" or t["kind"] == "nonarticle":
            continue
        small, big = get(plain, t["path"]), get(padded, t["path"])
        assert len(small.body) < 30 * 1024
        assert abs(len(big.body) - 120 * 1024) <= 256, t["path"]
        if "broken" not in (t["note"] or ""):
            assert _body_paragraphs(doc(big)) == _body_paragraphs(doc(small))
    assert len(get(padded, "/news/").body) < 40 * 1024


@pytest.mark.parametrize("target", ["", "?", "//", "/n/", "/n/../../etc/passwd", "/%ff%fe/", "/news/?page=x",
                                    "/sitemap-999.xml", "/amp/n/nope", "/tags/Nope/", "/" + "a" * 5000,
                                    "http://evil.example/n/x/", "/search/?q=%00"])
def test_render_never_raises(site, target):
    resp = site.render(target, BASE)
    assert resp.status in (200, 301, 404) and isinstance(resp.body, bytes)


# -- over HTTP ------------------------------------------------------------------------------

def _fetch(url: str, method: str = "GET", headers: dict | None = None):
    req = urllib.request.Request(url, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, dict(resp.headers), resp.read(), resp.geturl()


def test_http_round_trip_through_serve():
    site = SampleSite(20)
    t = next(t for t in site.truth() if t["kind"] == "article")
    with serve(site, port=0) as server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
        status, _, body, _ = _fetch(server.url + "/robots.txt")
        assert status == 200 and f"Sitemap: {server.url}/sitemap.xml" in body.decode()
        status, headers, page, _ = _fetch(server.url + t["path"])
        assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
        assert f'<link rel="canonical" href="{server.url}{t["path"]}">' in page.decode()
        status, headers, empty, _ = _fetch(server.url + t["path"], method="HEAD")
        assert status == 200 and empty == b"" and int(headers["Content-Length"]) == len(page)
        _, headers, zipped, _ = _fetch(server.url + t["path"], headers={"Accept-Encoding": "gzip"})
        assert headers.get("Content-Encoding") == "gzip" and gzip.decompress(zipped) == page
        _, _, _, final = _fetch(server.url + t["path"].rstrip("/"))
        assert final == server.url + t["path"]
        for bad_path, code in (("/no/such/page/", 404),
                               (next(x["path"] for x in site.truth() if x["error"] == "http 500"), 500)):
            with pytest.raises(urllib.error.HTTPError) as err:
                _fetch(server.url + bad_path)
            assert err.value.code == code
        url = server.url
    with pytest.raises(urllib.error.URLError):
        _fetch(url + "/robots.txt")


def test_command_line_serves_until_interrupted():
    proc = subprocess.Popen([sys.executable, "-m", "samplesite", "--articles", "5", "--port", "0", "--seed", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        url = re.match(r"(http://127\.0\.0\.1:\d+)/", line).group(1)
        status, _, body, _ = _fetch(url + "/sitemap.xml")
        assert status == 200 and body.startswith(b"<?xml")
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "GET" not in err  # quiet: no line per request


def test_ten_thousand_article_site_builds_and_renders():
    """The 10,000-article site a benchmark crawls; how fast: python -m bench.samplesite_build."""
    site = SampleSite(10_000)
    index = get(site, "/sitemap.xml")
    names = [loc.text[len(BASE):] for loc in ET.fromstring(index.body).iter(f"{SM}loc")]
    assert len([n for n in names if "news" not in n]) >= 12
    assert "/sitemap-3.xml" in names
    chunk = get(site, "/sitemap-3.xml")
    assert len(ET.fromstring(chunk.body)) == 1000
    _, paths = sitemap_paths(site)
    assert len(paths) == len(set(paths)) >= 10_000
    newest = ET.fromstring(get(site, "/sitemap-news.xml").body).find(f"{SM}url/{SM}loc").text
    page = get(site, newest[len(BASE):])
    assert page.status == 200 and b"article__body" in page.body
