import pytest

from crawler.profiles import ProfileError, bundled_profiles, generic_profile, resolve_target


def test_kazpravda_profile_from_sites_md_facts():
    p = bundled_profiles()["kazpravda"]
    assert p.languages[0] == "ru" and p.timezone == "Asia/Almaty"
    assert p.date_selector == "time.article__date"
    assert p.is_article_url("https://kazpravda.kz/n/xii-grazhdanskiy-forum-na-temu-zakon-i-poryadok-proshel-v-mangistau/")
    assert p.is_article_url("https://kazpravda.kz/kz/n/some-story/")
    assert not p.is_article_url("https://kazpravda.kz/tags/forum/")
    assert not p.is_article_url("https://kazpravda.kz/about/")
    assert not p.is_article_url("https://evil.example/n/some-story/")


def test_every_bundled_profile_has_valid_fields():
    profiles = bundled_profiles()
    assert {"kazpravda", "tengrinews", "informkz", "nurkz"} <= set(profiles)
    for p in profiles.values():
        assert p.start_urls and p.allowed_domains and p.languages
        assert all(u.startswith("https://") for u in p.start_urls + p.sitemaps)


@pytest.mark.parametrize("url, is_article", [
    ("http://127.0.0.1:8000/n/some-long-story-slug/", True),
    ("http://127.0.0.1:8000/kazakhstan_news/some-story-554433/", True),
    ("http://127.0.0.1:8000/2024/04/18/story", True),
    ("http://127.0.0.1:8000/tags/ekonomika/", False),
    ("http://127.0.0.1:8000/about/", False),
    ("http://127.0.0.1:8000/news/?page=2", False),
    ("http://127.0.0.1:8000/", False),
    ("http://127.0.0.1:8000/static/logo-big-new.png", False),
    ("http://127.0.0.1:8000/category/some-long-name/", False),
])
def test_generic_article_heuristic(url, is_article):
    assert generic_profile("http://127.0.0.1:8000/").is_article_url(url) is is_article


def test_rebased_profile_points_at_mirror():
    p = resolve_target("kazpravda", base_url="http://127.0.0.1:9999")
    assert p.start_urls == ("http://127.0.0.1:9999/",)
    assert p.sitemaps[0] == "http://127.0.0.1:9999/robots.txt"
    assert p.is_article_url("http://127.0.0.1:9999/n/a-b-c/")
    assert not p.is_article_url("https://kazpravda.kz/n/a-b-c/")


def test_unknown_target_is_a_clear_error(tmp_path):
    with pytest.raises(ProfileError, match="unknown site profile 'nosuchsite'"):
        resolve_target("nosuchsite")
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n', encoding="utf-8")
    with pytest.raises(ProfileError, match="missing required field 'start_urls'"):
        resolve_target(str(bad))
    bad.write_text('name = "x"\nstart_urls = ["https://x.kz/"]\narticle_url_pattern = "("\n', encoding="utf-8")
    with pytest.raises(ProfileError, match="bad article_url_pattern"):
        resolve_target(str(bad))


def test_profile_file_target(tmp_path):
    f = tmp_path / "site.toml"
    f.write_text('name = "mysite"\nstart_urls = ["https://my.kz/"]\nlanguages = ["kk"]\n', encoding="utf-8")
    p = resolve_target(str(f))
    assert p.name == "mysite" and p.languages == ("kk",) and p.allowed_domains == ("my.kz",)


def test_a_site_is_its_origin():
    from crawler.profiles import resolve_targets

    one = resolve_targets(["https://inform.kz/ru/", "https://inform.kz/kz/"])
    assert list(one) == ["inform.kz"] and one["inform.kz"].start_urls == ("https://inform.kz/ru/", "https://inform.kz/kz/")
    two = resolve_targets(["http://127.0.0.1:8001/", "http://127.0.0.1:8002/"])
    assert list(two) == ["127.0.0.1:8001", "127.0.0.1:8002"]
    first, second = two.values()
    assert first.owns("http://127.0.0.1:8001/n/a-b-c/") and not first.owns("http://127.0.0.1:8002/n/a-b-c/")
    assert second.is_article_url("http://127.0.0.1:8002/n/a-b-c/")
    alone = resolve_targets(["http://127.0.0.1:8001/"])  # no other site on the host: the plain name
    assert list(alone) == ["127.0.0.1"] and alone["127.0.0.1"].ports == ()


def test_repeated_target_is_reported_and_a_clash_is_an_error(tmp_path, caplog):
    import logging

    from crawler.profiles import resolve_targets

    # on the module's own logger: other tests (in-process crawls) reconfigure logging
    log = logging.getLogger("crawler.profiles")
    log.addHandler(caplog.handler)
    disabled, log.disabled = log.disabled, False  # a logging config may have disabled it
    try:
        with caplog.at_level(logging.WARNING, logger="crawler.profiles"):
            assert list(resolve_targets(["kazpravda", "kazpravda"])) == ["kazpravda"]
    finally:
        log.removeHandler(caplog.handler)
        log.disabled = disabled
    assert "target kazpravda is given more than once" in caplog.text
    other = tmp_path / "other.toml"
    other.write_text('name = "kazpravda"\nstart_urls = ["https://elsewhere.kz/"]\n', encoding="utf-8")
    with pytest.raises(ProfileError, match="two different profiles are named 'kazpravda'"):
        resolve_targets(["kazpravda", str(other)])
