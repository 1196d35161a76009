"""Article extraction on small hand-written news pages (tests/pages/) and the corpus example."""

from __future__ import annotations

import html as htmlmod
import re
from pathlib import Path

import pytest

from crawler.encoding import decode_html, guess_encoding
from crawler.extract import (
    Article,
    ExtractionError,
    extract_article,
    paragraphs_from_text,
    promote_photo_credits,
    parse_html,
)
from crawler.language import detect_language, normalize_lang, script_language
from crawler.profiles import SiteProfile

PAGES = Path(__file__).parent / "pages"
DATA = Path(__file__).parent / "data"
EXAMPLE_TXT = DATA / "kazpravda-2025-09-12-civil-forum.txt"

RU_URL = "https://vestnik.example.kz/news/v-karagande-otkryli-detskiy-tehnopark-1234/?utm_source=tg"
KK_URL = "https://jarshy.example.kz/kz/news/shymkentte-jana-sayabaq-ashyldy"
EN_URL = "https://herald.example.kz/en/news/steppe-railway-reopens"


def page(name: str) -> str:
    return (PAGES / name).read_text(encoding="utf-8")


def profile(*languages: str) -> SiteProfile:
    return SiteProfile(
        name="test", start_urls=("https://vestnik.example.kz/",),
        allowed_domains=("vestnik.example.kz",), languages=languages,
    )


def squash(text: str) -> str:
    """Collapse runs of spaces (regular and no-break) inside lines."""
    return re.sub(r"[ \u00a0]+", " ", text)


@pytest.fixture(scope="module")
def ru() -> Article:
    return extract_article((PAGES / "ru_news.html").read_bytes(), RU_URL)


# --------------------------------------------------------------------------- a Russian page


RU_MUST = [
    "В Караганде в пятницу начал работу детский технопарк",
    "лекционный зал на сто двадцать мест",
    "«Мы хотим, чтобы дети из поселков получили те же возможности",
    "похожие центры планируют открыть в Жезказгане и Балхаше.",
]
RU_MUST_NOT = [
    "Мы используем файлы cookie",      # cookie banner
    "Политика",                        # menu
    "Главная",                         # breadcrumbs
    "В Темиртау построят школу",       # «Читайте также» inside the article
    "лучших учителей года",            # related block
    "Отличная новость",                # comments
    "Очень хотелось бы записаться",
    "Все права защищены",              # footer
    "Адрес редакции",
    "Поделиться",                      # share bar
]


@pytest.mark.parametrize("sentence", RU_MUST)
def test_ru_keeps_article_sentences(ru, sentence):
    assert sentence in ru.text


@pytest.mark.parametrize("sentence", RU_MUST_NOT)
def test_ru_drops_boilerplate(ru, sentence):
    assert sentence not in ru.text


def test_ru_paragraphs_and_title(ru):
    assert ru.title == "В Караганде открыли новый детский технопарк"
    paras = ru.text.split("\n\n")
    assert len(paras) == 7
    assert all(p == p.strip() and p and "\n" not in p for p in paras)
    assert not ru.text.startswith(ru.title)
    # The photo credit stays, as its own paragraph, where the page has it.
    assert paras[1] == "Фото: пресс-служба акимата Карагандинской области"


def test_ru_metadata(ru):
    assert ru.url == RU_URL
    # Relative canonical resolved against the page URL.
    assert ru.canonical_url == "https://vestnik.example.kz/news/v-karagande-otkryli-detskiy-tehnopark-1234/"
    assert ru.author == "Айгерим Сапарова"
    assert ru.tags == ["образование", "Караганда"]
    assert ru.description.startswith("В Караганде начал работу детский технопарк")
    assert ru.image == "https://vestnik.example.kz/media/2025/03/technopark.jpg"
    assert ru.language == "ru"
    assert ru.hreflang == {
        "ru": "https://vestnik.example.kz/news/v-karagande-otkryli-detskiy-tehnopark-1234/",
        "kk": "https://vestnik.example.kz/kz/news/qaragandyda-tehnopark-1234/",
        "x-default": "https://vestnik.example.kz/news/v-karagande-otkryli-detskiy-tehnopark-1234/",
    }


def test_ru_published_date_from_dates_module(ru):
    assert ru.published_at is not None and ru.published_at.startswith("2025-03-14T10:25")
    assert ru.date_source


def test_as_dict_has_every_field(ru):
    d = ru.as_dict()
    assert set(d) == {
        "url", "canonical_url", "title", "text", "author", "description", "categories", "tags",
        "image", "language", "published_at", "published_raw", "date_source", "tz_source", "modified_at",
        "hreflang",
    }
    assert d["text"] == ru.text and d["tags"] == ru.tags
    d["tags"].append("x")
    assert "x" not in ru.tags  # a copy, not the article's own list


def test_inline_read_also_and_subscribe_lines_dropped():
    src = page("ru_news.html").replace(
        '<div class="read-also">',
        '<p><strong>Читайте также:</strong> <a href="/news/9/">В Темиртау откроют бассейн</a></p>'
        '<p>Подписывайтесь на наш <a href="https://t.me/x">Telegram-канал</a>, чтобы первыми узнавать новости.</p>'
        '<div class="read-also">',
    )
    art = extract_article(src, RU_URL)
    assert "В Темиртау откроют бассейн" not in art.text
    assert "Telegram" not in art.text
    assert "лекционный зал на сто двадцать мест" in art.text


def test_headline_repeated_in_body_is_dropped():
    src = page("en_news.html").replace(
        "<p class=\"byline\">", "<p><strong>Steppe railway line reopens after repairs</strong></p><p class=\"byline\">"
    )
    art = extract_article(src, EN_URL)
    assert art.title == "Steppe railway line reopens after repairs"
    assert not art.text.startswith("Steppe railway")
    assert art.text.startswith("The railway line between two regional centres")


# --------------------------------------------------------------------------- Kazakh and English


def test_kk_page():
    art = extract_article(page("kk_news.html"), KK_URL)
    assert art.title == "Шымкентте жаңа саябақ ашылды"
    assert "аумағы он екі гектар болатын жаңа саябақ ашылды" in art.text
    assert "бұрын бұл аймақта демалатын орын мүлде болмаған" in art.text
    for junk in ("Басты бет", "Саясат", "Алматыда үш жаңа мектеп", "Барлық құқықтар қорғалған"):
        assert junk not in art.text
    assert art.language == "kk"  # from lang="kz"
    assert art.canonical_url == KK_URL  # from og:url
    assert art.hreflang["kk"] == KK_URL and "ru" in art.hreflang
    assert art.tags[:2] == ["Шымкент", "саябақ"]  # keywords string split


def test_en_page():
    art = extract_article(page("en_news.html"), EN_URL)
    assert art.language == "en"  # og:locale en_US
    assert art.author == "Daniyar Omarov"
    assert "rebuilt three bridges over seasonal rivers" in art.text
    assert "Subscribe to our newsletter" not in art.text
    assert "All rights reserved" not in art.text


# --------------------------------------------------------------------------- language


def strip_declarations(src: str) -> str:
    src = re.sub(r'<html[^>]*>', "<html>", src, count=1)
    src = re.sub(r'<meta property="og:locale"[^>]*>', "", src)
    return re.sub(r'<link rel="alternate"[^>]*>', "", src)


def test_language_from_script_when_undeclared():
    assert extract_article(strip_declarations(page("kk_news.html")), KK_URL).language == "kk"
    assert extract_article(strip_declarations(page("ru_news.html")), RU_URL).language == "ru"
    assert extract_article(strip_declarations(page("en_news.html")), EN_URL).language == "en"


def test_site_wide_lang_ru_on_kazakh_text_is_overruled():
    src = page("kk_news.html").replace('<html lang="kz">', '<html lang="ru-RU">')
    assert extract_article(src, KK_URL).language == "kk"


def test_profile_restricts_languages():
    # A template default lang="en-US" on a Russian page of a ru/kk site.
    src = page("ru_news.html").replace('lang="ru-RU"', 'lang="en-US"').replace(
        '<meta property="og:locale" content="ru_RU">', "")
    assert extract_article(src, RU_URL, profile=profile("ru", "kk")).language == "ru"
    # A single-language site: whatever the text looks like, the site's language.
    assert extract_article(page("kk_news.html"), KK_URL, profile=profile("ru")).language == "ru"


@pytest.mark.parametrize("raw,code", [
    ("kz", "kk"), ("kk-KZ", "kk"), ("ru-RU", "ru"), ("ru_RU", "ru"), ("RU", "ru"),
    ("en-US", "en"), ("kaz", "kk"), ("ru, en", "ru"), ("x-default", None), ("", None), (None, None),
])
def test_normalize_lang(raw, code):
    assert normalize_lang(raw) == code


def test_script_language():
    assert script_language("Биыл көктемде ауыл шаруашылығы өнімдері көбейді.") == "kk"
    assert script_language("В этом году весной урожай оказался богаче обычного.") == "ru"
    assert script_language("Spring sowing started early this year.") == "en"
    assert script_language("2025 — 12:30") is None
    # Ukrainian shares "і" with Kazakh; its own letters (ї, є, ґ) tell them apart.
    assert script_language("Синоптики обіцяють спеку до вихідних, у неділю очікується її посилення по всій країні.") == "uk"
    # A Russian text quoting one Kazakh name stays Russian.
    long_ru = "Жители района обсудили планы благоустройства парка «Әділет» на общем собрании. " * 5
    assert script_language(long_ru) == "ru"


def test_detect_language_hreflang_self_entry():
    tree = parse_html('<html><head><link rel="alternate" hreflang="kz" href="https://a.kz/kz/1">'
                      '<link rel="alternate" hreflang="ru" href="https://a.kz/ru/1"></head><body></body></html>')
    hreflang = {"kk": "https://a.kz/kz/1", "ru": "https://a.kz/ru/1"}
    assert detect_language(tree, "", "https://a.kz/ru/1", hreflang=hreflang) == "ru"
    assert detect_language(tree, "", "https://a.kz/kz/1/", hreflang=hreflang) == "kk"


# --------------------------------------------------------------------------- encodings

RU_SENTENCE = "Жители Павлодара выбрали лучший проект благоустройства набережной Иртыша."


def cyr_page(meta: str = "") -> str:
    body = "".join(f"<p>{RU_SENTENCE} Голосование шло две недели, участвовали {n} тысяч человек.</p>"
                   for n in range(3, 9))
    return (f"<html><head>{meta}<title>Выбор набережной</title></head><body><article>"
            f"<h1>Выбор набережной</h1>{body}</article></body></html>")


def test_windows_1251_declared_only_in_meta():
    raw = cyr_page('<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">').encode("cp1251")
    text, enc = decode_html(raw)
    assert enc == "cp1251" and RU_SENTENCE in text
    art = extract_article(raw, "https://a.kz/n/1")
    assert RU_SENTENCE in art.text and art.title == "Выбор набережной"


def test_header_utf8_contradicted_by_clean_meta_1251():
    # The server says UTF-8, the page is windows-1251 and says so: UTF-8 gives U+FFFD.
    raw = cyr_page('<meta charset="windows-1251">').encode("cp1251")
    text, enc = decode_html(raw, "text/html; charset=utf-8")
    assert enc == "cp1251" and RU_SENTENCE in text and "\ufffd" not in text
    assert RU_SENTENCE in extract_article(raw, "https://a.kz/n/1", encoding="utf-8").text


def test_header_1251_contradicted_by_clean_meta_utf8():
    # The server says windows-1251, the page is UTF-8: the header reading is mojibake.
    raw = cyr_page('<meta charset="utf-8">').encode("utf-8")
    text, enc = decode_html(raw, "text/html; charset=windows-1251")
    assert enc == "utf-8" and RU_SENTENCE in text
    assert RU_SENTENCE in extract_article(raw, "https://a.kz/n/1", encoding="windows-1251").text


def test_header_wins_when_it_decodes_cleanly():
    # Browser order: a header that reads the page cleanly beats a wrong <meta>.
    raw = cyr_page('<meta charset="utf-8">').encode("cp1251")
    text, enc = decode_html(raw, "text/html; charset=windows-1251")
    assert enc == "cp1251" and RU_SENTENCE in text


def test_undeclared_single_byte_cyrillic_is_detected():
    assert guess_encoding(cyr_page().encode("cp1251")) == "cp1251"
    assert guess_encoding(cyr_page().encode("koi8-r")) == "koi8-r"
    assert guess_encoding(cyr_page().encode("utf-8")) == "utf-8"
    text, _ = decode_html(cyr_page().encode("koi8-r"))
    assert RU_SENTENCE in text


def test_stale_meta_charset_on_utf8_page():
    # A page converted to UTF-8 that kept its old <meta charset>, served without a header.
    raw = cyr_page('<meta charset="windows-1251">').encode("utf-8")
    text, enc = decode_html(raw)
    assert enc == "utf-8" and RU_SENTENCE in text
    raw = cyr_page('<meta charset="euc-kr">').encode("utf-8")
    assert RU_SENTENCE in decode_html(raw)[0]


def test_utf8_page_with_one_stray_byte_stays_utf8():
    raw = cyr_page('<meta charset="utf-8">').encode("utf-8").replace(b"<article>", b"<article>\xff", 1)
    text, enc = decode_html(raw, "text/html; charset=utf-8")
    assert enc == "utf-8" and RU_SENTENCE in text
    assert guess_encoding(cyr_page().encode("utf-8") + b"\xd0") == "utf-8"


def test_utf8_bom():
    text, enc = decode_html(b"\xef\xbb\xbf" + cyr_page().encode("utf-8"), "text/html; charset=cp1251")
    assert enc == "utf-8" and RU_SENTENCE in text


# --------------------------------------------------------------------------- errors and broken HTML


@pytest.mark.parametrize("body,message", [
    (b"", "empty"),
    (b"  \n\t ", "empty"),
    ("", "empty"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "not HTML"),
    ("%PDF-1.4 <<>>", "not HTML"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not HTML"),
    (b"just a plain text line without any markup", "not HTML"),
    (b"<html><head><title>x</title></head><body></body></html>", "no article text"),
    (b"<html><head><title></title></head><body> </body></html>", "empty"),
])
def test_unusable_bodies_raise_extraction_error(body, message):
    with pytest.raises(ExtractionError, match=message):
        extract_article(body, "https://a.kz/n/1")


def test_page_without_article_text_raises():
    nav_only = ("<html><head><title>Разделы</title></head><body><nav><ul>"
                + "".join(f'<li><a href="/c/{i}/">Раздел {i}</a></li>' for i in range(12))
                + "</ul></nav><footer>© 2025</footer></body></html>")
    with pytest.raises(ExtractionError, match="no article text"):
        extract_article(nav_only, "https://a.kz/")


def test_extraction_error_is_a_value_error():
    assert issubclass(ExtractionError, ValueError)
    with pytest.raises(ExtractionError, match="unsupported input type"):
        extract_article(12345, "https://a.kz/n/1")  # type: ignore[arg-type]


def test_bad_profile_timezone_does_not_lose_the_text():
    bad = SiteProfile(name="x", start_urls=("https://vestnik.example.kz/",),
                      allowed_domains=("vestnik.example.kz",), timezone="Nowhere/Atlantis")
    art = extract_article(page("ru_news.html"), RU_URL, profile=bad)
    assert "лекционный зал на сто двадцать мест" in art.text


def test_broken_html_still_extracts():
    broken = (
        "<title>Обрыв разметки</title><body><div class=menu><a href=/>Главная</a></div>"
        "<div class=text><h1>Обрыв разметки</h1>"
        "<p>В Костанае коммунальщики за неделю заменили триста метров теплотрассы на улице Байтурсынова."
        "<p>Работы вели ночью, чтобы не перекрывать движение в часы пик <b>и не мешать автобусам."
        "</span></div></div><p>Жильцы трех домов получили горячую воду на день раньше срока"
        "<table><tr><td>Следующий этап начнется в мае."
    )
    art = extract_article(broken.encode("utf-8"), "https://a.kz/n/2")
    for sentence in ("заменили триста метров теплотрассы", "Работы вели ночью",
                     "получили горячую воду на день раньше срока"):
        assert sentence in art.text
    assert "Главная" not in art.text


def test_xml_declaration_in_text_input():
    src = '<?xml version="1.0" encoding="utf-8"?>\n' + page("en_news.html")
    assert "rebuilt three bridges" in extract_article(src, EN_URL).text


# --------------------------------------------------------------------------- text helpers


def test_paragraphs_from_text():
    raw = "Заголовок новости\n  Первый   абзац.  \n\n\nВторой\u00a0абзац.\nЧитайте также: другое\nФото: ТАСС"
    # runs of ordinary spaces collapse as a browser shows them; a no-break space is kept
    assert paragraphs_from_text(raw, "Заголовок  новости") == ["Первый абзац.", "Второй\u00a0абзац.",
                                                              "Фото: ТАСС"]
    long_para = "Читайте также: " + "очень длинный абзац настоящего текста " * 10
    assert paragraphs_from_text(long_para) == [long_para.strip()]


def test_promote_photo_credits():
    tree = parse_html('<html><body><figure><img src="a.jpg"><figcaption>Фото: Оралхан Омаров'
                      '</figcaption></figure><p>Текст.</p><figure><figcaption>Набережная вечером'
                      '</figcaption></figure></body></html>')
    assert promote_photo_credits(tree) == 1
    assert [p.text for p in tree.iter("p")] == ["Фото: Оралхан Омаров", "Текст."]
    assert tree.xpath("//figcaption/text()") == ["Набережная вечером"]


# --------------------------------------------------------------------------- the corpus example


def example_parts() -> tuple[str, str, list[str]]:
    first, _, body = EXAMPLE_TXT.read_text(encoding="utf-8").partition("\n\n")
    _, tag, date, title = first.split(" ", 3)
    assert tag == "date"
    return date, title, body.strip().split("\n\n")


def kazpravda_page(title: str, paras: list[str], credit_in_figure: bool) -> str:
    def block(p: str) -> str:
        if p.startswith("Фото:") and credit_in_figure:
            return f'<figure class="article__image"><img src="/media/forum.jpg" alt=""><figcaption>{htmlmod.escape(p)}</figcaption></figure>'
        if p.startswith("Фото:"):
            return f"<p><em>{htmlmod.escape(p)}</em></p>"
        return f"<p>{htmlmod.escape(p)}</p>"

    t = htmlmod.escape(title)
    return f"""<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8">
<title>{t} - Казахстанская правда</title>
<meta property="og:title" content="{t}">
<link rel="canonical" href="https://kazpravda.kz/n/xii-grazhdanskiy-forum-na-temu-zakon-i-poryadok-proshel-v-mangistau/">
<link rel="alternate" hreflang="kk" href="https://kazpravda.kz/kz/n/forum/">
</head><body>
<div class="cookie">Сайт использует cookie. <button>OK</button></div>
<header><a class="logo" href="/">Казахстанская правда</a><nav><a href="/">Главная</a> <a href="/c/politika/">Политика</a>
<a href="/c/obshchestvo/">Общество</a> <a href="/c/regiony/">Регионы</a> <a href="/kz/">Қазақша</a></nav></header>
<main><article class="article">
<h1 class="article__title">{t}</h1>
<time class="article__date">12 сентября 2025 г. 14:20</time>
<div class="article__body">{''.join(block(p) for p in paras)}</div>
<div class="article__tags"><a href="/t/npo/">НПО</a> <a href="/t/mangistau/">Мангистау</a></div>
</article>
<div class="read-more"><h3>Читайте также</h3><a href="/n/1/">В Актау обсудили развитие туризма на побережье Каспия</a>
<a href="/n/2/">Жанаозен получит новую больницу до конца года</a></div>
</main><footer><p>© «Казахстанская правда», 2025. Все права защищены.</p></footer></body></html>"""


@pytest.mark.parametrize("credit_in_figure", [False, True], ids=["credit-p", "credit-figcaption"])
def test_kazpravda_example_reproduced(credit_in_figure):
    _date, title, paras = example_parts()
    url = "https://kazpravda.kz/n/xii-grazhdanskiy-forum-na-temu-zakon-i-poryadok-proshel-v-mangistau/"
    art = extract_article(kazpravda_page(title, paras, credit_in_figure).encode("utf-8"), url)
    assert art.title == title
    assert squash(art.text) == squash("\n\n".join(paras))
    assert art.language == "ru"
    assert art.hreflang == {"kk": "https://kazpravda.kz/kz/n/forum/"}


def test_kazpravda_example_date():
    date, title, paras = example_parts()
    url = "https://kazpravda.kz/n/xii-grazhdanskiy-forum-na-temu-zakon-i-poryadok-proshel-v-mangistau/"
    art = extract_article(kazpravda_page(title, paras, False), url, profile=SiteProfile(
        name="kazpravda", start_urls=("https://kazpravda.kz/",), allowed_domains=("kazpravda.kz",),
        languages=("ru", "kk", "en"), date_selector="time.article__date"))
    assert art.published_at is not None and art.published_at.startswith(date)


@pytest.mark.parametrize("credit_in_figure", [False, True], ids=["credit-p", "credit-figcaption"])
def test_kazpravda_example_text_as_published(credit_in_figure):
    """No-break spaces are kept where the page has them: the text is byte-identical."""
    _date, title, paras = example_parts()
    expected = "\n\n".join(paras)
    assert "\u00a0" in expected
    url = "https://kazpravda.kz/n/xii-grazhdanskiy-forum-na-temu-zakon-i-poryadok-proshel-v-mangistau/"
    art = extract_article(kazpravda_page(title, paras, credit_in_figure).encode("utf-8"), url)
    assert art.text == expected


def test_no_break_space_kept_and_mark_symbol_left_alone():
    body = ("<p>Сумма составила 5\u00a0000 тенге, сообщили в акимате города в пятницу вечером.</p>"
            "<p>Второй абзац новости о бюджете города, принятом на сессии маслихата.</p>")
    html = f"<html lang='ru'><body><article><h1>Бюджет</h1>{body}</article></body></html>"
    text = extract_article(html, "https://a.kz/n/1").text
    assert "5\u00a0000 тенге" in text and "\u2423" not in text
    # a page that itself writes the symbol used to carry no-break spaces keeps it as written
    marked = html.replace("Второй абзац", "Второй \u2423 абзац")
    text = extract_article(marked, "https://a.kz/n/1").text
    assert "\u2423" in text
