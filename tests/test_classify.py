"""classify_page on own-written pages of each kind, and the one parse the crawl shares.

Every page here is written for the test (no web text): a news story (with and without
structured data), a section listing, a product page, a product collection, a forum thread,
a documentation chapter and a company's service page.
"""

from __future__ import annotations

import json

import pytest

from crawler.classify import article_probability, page_features
from crawler.extract import (
    ExtractionError,
    classify_page,
    extract_article,
    extract_article_tree,
    parse_html,
    parse_page,
)
from crawler.page import CLASSIFIER, NOT_AN_ARTICLE, process_page

PARAS = [
    "В Караганде в пятницу начал работу детский технопарк, построенный на месте старого кинотеатра. "
    "На открытие пришли школьники, их родители и учителя из соседних районов города.",
    "В здании разместились лаборатории робототехники, лекционный зал на сто двадцать мест и мастерские, "
    "где дети смогут собирать модели, программировать и работать на станках под присмотром наставников.",
    "По словам директора, занятия для школьников будут бесплатными, а запись уже открыта на сайте. "
    "В первую очередь места получат ученики сельских школ, у которых таких кружков нет.",
    "Похожие центры планируют открыть в Жезказгане и Балхаше до конца следующего года, сообщили в акимате. "
    "Деньги на них уже заложены в областной бюджет.",
    "Родители, пришедшие на открытие, говорили, что детям давно не хватало места для таких занятий, "
    "и надеются, что технопарк будет работать и летом, во время каникул.",
]
NAV = ('<header><a class="logo" href="/">Вестник</a><nav><a href="/">Главная</a> <a href="/news/">Новости</a> '
       '<a href="/c/politika/">Политика</a> <a href="/c/sport/">Спорт</a></nav></header>')
FOOT = "<footer><p>© Вестник, 2025</p></footer>"
ARTICLE_URL = "https://vestnik.example.kz/news/v-karagande-otkryli-tehnopark-1234/"


def article(structured: bool = True) -> str:
    ld = ('<script type="application/ld+json">' + json.dumps(
        {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Технопарк открыт",
         "datePublished": "2025-03-14T10:25:00+05:00"}) + "</script>"
          '<meta property="og:type" content="article">') if structured else ""
    body = "".join(f"<p>{p}</p>" for p in PARAS)
    return (f"<html lang='ru'><head><title>В Караганде открыли детский технопарк</title>{ld}</head><body>{NAV}"
            "<main><article><h1>В Караганде открыли детский технопарк</h1>"
            "<div class='article__meta'><time>14 марта 2025, 10:25</time> <span class='author'>Автор: А. Серикова</span>"
            f"</div>{body}</article></main>{FOOT}</body></html>")


def listing() -> str:
    cards = "".join(
        f"<div class='card'><h3><a href='/news/story-{i}-v-regione/'>Новость номер {i} о событиях в регионе</a></h3>"
        f"<span class='date'>{i % 28 + 1} марта 2025</span><a href='/news/story-{i}-v-regione/'>Читать</a></div>"
        for i in range(24))
    return (f"<html lang='ru'><head><title>Новости</title></head><body>{NAV}<main><h1>Новости</h1>{cards}"
            "<nav class='pagination'><a href='?page=2'>2</a> <a href='?page=3'>3</a> <a rel='next' href='?page=2'>Следующая</a></nav>"
            f"</main>{FOOT}</body></html>")


def product() -> str:
    ld = '<script type="application/ld+json">{"@type":"Product","name":"Чайник","offers":{"@type":"Offer","price":"12990"}}</script>'
    return (f"<html><head><title>Чайник электрический</title>{ld}<meta property='og:type' content='product'></head>"
            f"<body>{NAV}<main><h1>Чайник электрический 1,7 л</h1><div class='price'>12 990 ₸</div>"
            "<button class='add-to-cart'>В корзину</button><ul><li>Мощность 2200 Вт</li><li>Объём 1,7 л</li>"
            f"<li>Гарантия 1 год</li></ul><p>В наличии на складе в Алматы.</p></main>{FOOT}</body></html>")


def collection() -> str:
    tiles = "".join(
        f"<li class='product-tile'><a href='/products/kruzhka-{i}'><img src='/i/{i}.jpg' alt=''>"
        f"<span class='title'>Кружка керамическая, модель {i}</span></a><span class='price'>{1500 + 100 * i} ₸</span>"
        f"<button class='add-to-cart'>В корзину</button></li>" for i in range(20))
    return (f"<html><head><title>Кружки — магазин посуды</title></head><body>{NAV}<main><h1>Кружки</h1>"
            f"<form class='filters'><select name='sort'><option>По цене</option></select></form>"
            f"<ul class='product-grid'>{tiles}</ul></main>{FOOT}</body></html>")


def forum() -> str:
    posts = "".join(
        f"<div class='post'><div class='username'>user{i}</div><div class='message'>"
        f"<p>Согласен, у нас во дворе тоже так было, ответ номер {i}.</p></div>"
        f"<a class='reply' href='#'>Reply</a> <span>Joined 2019</span> <span>Posts: {i * 7}</span></div>"
        for i in range(15))
    return (f"<html><head><title>Тема: ремонт дорог</title></head><body>{NAV}<main>"
            f"<h1>Тема: ремонт дорог во дворах</h1><div class='thread'>{posts}</div></main>{FOOT}</body></html>")


def documentation() -> str:
    sidebar = "".join(f"<li><a href='/docs/cli/{n}/'>{n}</a></li>" for n in
                      ("install", "crawl", "export", "serve", "search", "report", "import", "profiles"))
    steps = "".join(
        f"<h2 id='step-{i}'>Step {i}</h2><p>Run the command below with the option shown; it prints one line.</p>"
        f"<pre><code>crawler crawl --step {i} https://example.kz/</code></pre>" for i in range(1, 7))
    return (f"<html lang='en'><head><title>Crawling a site — Crawler documentation</title></head><body>"
            f"<nav class='sidebar-nav'><ul>{sidebar}</ul></nav><main class='markdown'><h1>Crawling a site</h1>"
            f"<nav class='toc'>On this page</nav>{steps}<a href='https://git.example.kz/edit'>Edit this page on GitHub</a>"
            "<div class='pager'><a href='/docs/cli/install/'>Previous page</a> <a href='/docs/cli/export/'>Next page</a></div>"
            "</main></body></html>")


def service() -> str:
    offers = "".join(
        f"<div class='service-card'><h3>{name}</h3><p>We provide {name.lower()} for homes and offices.</p>"
        f"<a class='cta' href='/contact/'>Get a free quote</a></div>"
        for name in ("Wiring", "Lighting", "Panel upgrades", "Inspections", "Repairs", "Generators"))
    return (f"<html lang='en'><head><title>Electrical Services | Bright Spark Electric</title>"
            '<meta property="og:type" content="website"></head><body>'
            "<header><nav><a href='/'>Home</a> <a href='/services/'>Services</a> <a href='/about-us/'>About us</a>"
            " <a href='/contact/'>Contact</a></nav></header><main><section class='hero'><h1>Electrical services</h1>"
            "<p>Licensed electricians with 20 years of experience. Call us today.</p>"
            "<a class='cta' href='/contact/'>Request a quote</a></section>"
            f"<section class='services-grid'>{offers}</section><section class='testimonials'><h2>Testimonials</h2>"
            "<blockquote>Quick and friendly.</blockquote></section><form class='contact-form'><input name='name'>"
            "<input name='phone'><textarea name='message'></textarea><button>Send</button></form></main>"
            "<footer><p>Call now: 555-0100</p></footer></body></html>")


def test_news_article_with_structured_data():
    assert classify_page(article(), ARTICLE_URL) == "article"


def test_article_without_structured_data_by_its_shape():
    # a dated headline over paragraphs of running text
    assert classify_page(article(structured=False).encode("utf-8"),
                         "https://vestnik.example.kz/news/view.php?id=1099") == "article"


def test_listing_is_not_an_article():
    assert classify_page(listing(), "https://vestnik.example.kz/news/?page=1") == "listing"


def test_product_page():
    assert classify_page(product(), "https://shop.example.kz/product/chainik-17") == "product"


def test_collection_of_products_is_not_an_article():
    kind = classify_page(collection(), "https://posuda.example.kz/collections/kruzhki")
    assert kind != "article"
    assert kind in {"product", "listing"}


def test_forum_thread_is_not_an_article():
    assert classify_page(forum(), "https://forum.example.kz/threads/remont-dorog.123/") != "article"


def test_documentation_chapter_is_not_an_article():
    assert classify_page(documentation(), "https://docs.example.kz/cli/crawl/") == "documentation"


def test_service_page_is_not_an_article():
    assert classify_page(service(), "https://brightspark.example.com/services/") != "article"


@pytest.mark.parametrize("doc", [b"", "   ", b"\x00\x01garbage", "<html></html>"])
def test_never_raises(doc):
    assert classify_page(doc, "https://a.example.kz/x") in {"other", "listing"}


def test_parsed_tree_is_accepted_and_not_changed():
    tree = parse_html(article())
    before = len(list(tree.iter()))
    assert classify_page(tree, ARTICLE_URL) == "article"
    assert len(list(tree.iter())) == before


def test_features_say_why():
    art = page_features(parse_html(article(structured=False)), "https://vestnik.example.kz/news/x-y-z/")
    lst = page_features(parse_html(listing()), "https://vestnik.example.kz/news/")
    assert art["dated_h1"] == 1 and art["long_p"] > lst["long_p"]
    assert lst["heading_links"] > art["heading_links"] and lst["link_density"] > art["link_density"]
    assert lst["cards"] > art["cards"]
    assert article_probability(art) > 0.5 > article_probability(lst)


def test_structured_data_outweighs_no_structured_data():
    url = "https://vestnik.example.kz/news/view.php?id=1099"
    with_ld = article_probability(page_features(parse_html(article()), url))
    without = article_probability(page_features(parse_html(article(structured=False)), url))
    assert with_ld > without


# --------------------------------------------------------------------------- one parse, shared


def test_extract_from_the_shared_tree_equals_extract_article():
    html = article().encode("utf-8")
    tree = parse_page(html)
    assert classify_page(tree, ARTICLE_URL) == "article"
    assert extract_article_tree(tree, ARTICLE_URL).as_dict() == extract_article(html, ARTICLE_URL).as_dict()


def test_parse_page_refuses_what_extract_article_refuses():
    for body in (b"", b"%PDF-1.7 binary", b"plain words without markup"):
        with pytest.raises(ExtractionError):
            parse_page(body)
        with pytest.raises(ExtractionError):
            extract_article(body, ARTICLE_URL)


def test_process_page_with_classifier_gives_the_same_record():
    body = article().encode("utf-8")
    headers = {"Content-Type": "text/html; charset=utf-8"}
    plain = process_page(body, headers, ARTICLE_URL, "2025-03-14T12:00:00+05:00", None, site="v")
    judged = process_page(body, headers, ARTICLE_URL, "2025-03-14T12:00:00+05:00", None, site="v",
                          classify=CLASSIFIER)
    assert judged.kind == "article" and judged.error is None
    assert judged.article == plain.article and plain.article["text"].startswith("В Караганде")


def test_process_page_records_non_articles_by_kind():
    result = process_page(listing().encode("utf-8"), {}, "https://vestnik.example.kz/news/", None, None,
                          classify=CLASSIFIER)
    assert result.article is None and result.kind == "listing"
    assert result.error == f"{NOT_AN_ARTICLE}listing"


def test_process_page_gives_other_classifiers_the_text():
    seen = []

    def by_title(html, url):
        seen.append(type(html))
        return "article" if "технопарк" in html else "other"

    result = process_page(article().encode("utf-8"), {}, ARTICLE_URL, None, None, classify=by_title)
    assert seen == [str] and result.article is not None
    result = process_page(listing().encode("utf-8"), {}, ARTICLE_URL, None, None, classify=by_title)
    assert result.error == f"{NOT_AN_ARTICLE}other"


def test_process_page_unparseable_candidate_is_no_article():
    result = process_page(b"plain words without markup", {"content-type": "text/html"}, ARTICLE_URL,
                          None, None, classify=CLASSIFIER)
    assert result.article is None and result.error.startswith(NOT_AN_ARTICLE)
    plain = process_page(b"plain words without markup", {"content-type": "text/html"}, ARTICLE_URL, None, None)
    assert plain.error.startswith("extraction: not HTML")


def test_small_section_front_is_not_an_article():
    # a bare section of four dated teasers: too little text for any article
    items = "".join(f"<li><a href='/world/asia/n{i}.html'>Заголовок заметки номер {i} о жизни региона</a> "
                    f"<time datetime='2025-09-1{i}T06:20:00+00:00'>1{i} сентября 2025 г. 11:20</time></li>"
                    for i in range(4))
    html = (f"<html lang='ru'><head><title>Раздел Азия</title><meta property='og:type' content='website'></head>"
            f"<body><header><ul class='menu'><li><a href='/'>Главная</a></li></ul></header><main>"
            f"<h1>Раздел Азия</h1><ul class='news-list'>{items}</ul></main><footer>© 2025</footer></body></html>")
    features = page_features(parse_html(html), "https://obzor.example.kz/world/asia/central/")
    assert features["text_total"] < 1000
    assert classify_page(html, "https://obzor.example.kz/world/asia/central/") != "article"


def test_one_sentence_brief_is_doubtful_not_a_listing():
    # shaped like a story (headline, its date, a sentence) but too short to be sure: "other",
    # which the crawl takes when the URL has the shape of the site's confirmed articles
    html = ("<html lang='ru'><head><title>Коротко</title></head><body><main><article>"
            "<h1>В Таразе открыли новый сквер</h1><time datetime='2025-09-12T10:00:00+05:00'>"
            "12 сентября 2025 г. 10:00</time><p>В Таразе после реконструкции открыли сквер у "
            "городского дворца культуры, сообщили в акимате.</p></article></main></body></html>")
    url = "https://vestnik.example.kz/news/view.php?id=1201"
    assert page_features(parse_html(html), url)["text_total"] < 1000
    assert classify_page(html, url) == "other"


def test_short_news_brief_is_an_article():
    # three short paragraphs under a dated headline: too small for the trees, built like news
    paras = "".join(f"<p>{p}</p>" for p in PARAS[0].split(". ")) + f"<p>{PARAS[2].split('. ')[0]}.</p>"
    html = (f"<html lang='ru'><head><title>Технопарк открыт</title></head><body><nav><a href='/'>Главная</a></nav>"
            f"<article><h1>В Караганде открыли технопарк</h1><time>14 марта 2025 г. 10:25</time>"
            f"<div class='article__body'>{paras}</div></article><footer>© Вестник</footer></body></html>")
    url = "https://vestnik.example.kz/n/v-karagande-otkryli-tehnopark/"
    assert page_features(parse_html(html), url)["text_total"] < 1000
    assert classify_page(html, url) == "article"
