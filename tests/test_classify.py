"""classify_page on own-written pages: articles against listings, products, forums, docs."""

from __future__ import annotations

import json

import pytest

from crawler.classify import article_probability, page_features
from crawler.extract import classify_page, parse_html

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


def forum() -> str:
    posts = "".join(
        f"<div class='post'><div class='username'>user{i}</div><div class='message'>"
        f"<p>Согласен, у нас во дворе тоже так было, ответ номер {i}.</p></div>"
        f"<a class='reply' href='#'>Reply</a> <span>Joined 2019</span> <span>Posts: {i * 7}</span></div>"
        for i in range(15))
    return (f"<html><head><title>Тема: ремонт дорог</title></head><body>{NAV}<main>"
            f"<h1>Тема: ремонт дорог во дворах</h1><div class='thread'>{posts}</div></main>{FOOT}</body></html>")


def test_news_article_with_structured_data():
    assert classify_page(article(), "https://vestnik.example.kz/news/v-karagande-otkryli-tehnopark-1234/") == "article"


def test_article_without_structured_data_by_its_shape():
    # a dated headline over paragraphs of running text
    assert classify_page(article(structured=False).encode("utf-8"),
                         "https://vestnik.example.kz/news/view.php?id=1099") == "article"


def test_listing_is_not_an_article():
    assert classify_page(listing(), "https://vestnik.example.kz/news/?page=1") == "listing"


def test_product_page():
    assert classify_page(product(), "https://shop.example.kz/product/chainik-17") == "product"


def test_forum_thread_is_not_an_article():
    assert classify_page(forum(), "https://forum.example.kz/threads/remont-dorog.123/") != "article"


@pytest.mark.parametrize("doc", [b"", "   ", b"\x00\x01garbage", "<html></html>"])
def test_never_raises(doc):
    assert classify_page(doc, "https://a.example.kz/x") in {"other", "listing"}


def test_parsed_tree_is_accepted_and_not_changed():
    tree = parse_html(article())
    before = len(list(tree.iter()))
    assert classify_page(tree, "https://vestnik.example.kz/news/v-karagande-otkryli-tehnopark-1234/") == "article"
    assert len(list(tree.iter())) == before


def test_features_say_why():
    art = page_features(parse_html(article(structured=False)), "https://vestnik.example.kz/news/x-y-z/")
    lst = page_features(parse_html(listing()), "https://vestnik.example.kz/news/")
    assert art["dated_h1"] == 1 and art["long_p"] > lst["long_p"]
    assert lst["heading_links"] > art["heading_links"] and lst["link_density"] > art["link_density"]
    assert article_probability(art) > 0.5 > article_probability(lst)
