import pytest

from crawler.dedup import content_hash, normalize_text
from crawler.urls import article_url, normalize_url, url_key


@pytest.mark.parametrize("url, expected", [
    ("HTTP://Kazpravda.KZ:80/n/slug/?utm_source=rss&utm_medium=feed#comments", "http://kazpravda.kz/n/slug/"),
    ("https://kazpravda.kz:443/n/slug/", "https://kazpravda.kz/n/slug/"),
    ("http://127.0.0.1:8765/n/slug/?fbclid=abc&page=2", "http://127.0.0.1:8765/n/slug/?page=2"),
    ("https://x.kz/a?b=2&a=1", "https://x.kz/a?a=1&b=2"),
    ("https://x.kz/новости/", "https://x.kz/%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8/"),
])
def test_normalize_url(url, expected):
    assert normalize_url(url) == expected


def test_url_key_ignores_trailing_slash_www_and_tracking():
    a = url_key("https://www.kazpravda.kz/n/slug/?utm_campaign=x")
    assert a == url_key("https://kazpravda.kz/n/slug")
    assert a != url_key("https://kazpravda.kz/n/other-slug/")
    assert url_key("https://x.kz/a?id=1") != url_key("https://x.kz/a?id=2")


def test_article_url_prefers_same_site_canonical():
    assert article_url("http://h.kz/amp/n/x/", "/n/x/") == "http://h.kz/n/x/"
    assert article_url("http://h.kz/n/x/?utm_source=rss", "http://h.kz/n/x/") == "http://h.kz/n/x/"
    # A canonical to another site or to the homepage is not trusted.
    assert article_url("http://h.kz/n/x/", "http://other.kz/n/x/") == "http://h.kz/n/x/"
    assert article_url("http://h.kz/n/x/", "http://h.kz/") == "http://h.kz/n/x/"
    assert article_url("http://h.kz/n/x/?utm_medium=feed", None) == "http://h.kz/n/x/"


def test_content_hash_ignores_formatting_only():
    a = "Форум прошёл в Актау.\n\n«Закон и порядок» – основа."
    b = "форум  прошел в Актау. \"Закон и порядок\" - основа"
    assert normalize_text(a) == normalize_text(b)
    assert content_hash(a) == content_hash(b)
    assert content_hash(a) != content_hash(a + " Ещё одно предложение.")


def _slow_key(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(normalize_url(url))
    host = parts.netloc[4:] if parts.netloc.startswith("www.") else parts.netloc
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("", host, path, parts.query, ""))[2:]


def test_url_key_shortcut_equals_full_normalisation():
    # url_key skips the full normalisation for plain URLs; both must give the same key.
    import random

    from crawler.urls import _plain_key

    rng = random.Random(5)
    hosts = ["kazpravda.kz", "WWW.Tengrinews.KZ", "www.inform.kz.", "127.0.0.1", "xn--80ak6aa92e.com",
             "a-b.example", "localhost"]
    ports = ["", ":80", ":443", ":8080", ":080", ":0", ":65535", ":65536", ":99999"]
    pieces = ["news", "2024", "01", "/", "//", "slug-123.html", "a_b", "~u", "!", "$", "&", "'", "(", ")",
              "*", "+", ",", "=", ":", "@", ".", "..", "./", "%20", "%D0%B0", ";p=1", "?a=1", "#top",
              "?utm_source=x", "AMP", "ü", "б", " ", "|", "\"", "[", "]", "-"]
    urls = []
    for _ in range(6000):
        scheme = rng.choice(["http", "https", "HTTPS", "Http"])
        path = "/" + "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
        urls.append(f"{scheme}://{rng.choice(hosts)}{rng.choice(ports)}{path if rng.random() < 0.95 else ''}")
    shortcut = 0
    for url in urls:
        try:
            expected = _slow_key(url)
        except ValueError:  # an invalid port: the shortcut must not accept it either
            assert _plain_key(url) is None, url
            continue
        assert url_key(url) == expected, url
        shortcut += _plain_key(url) is not None
    assert shortcut > 1000  # the shortcut is really taken for plain URLs
