"""HTML pages of the sample site, modeled on kazpravda.kz's markup.

Article pages carry the boilerplate a real news page has (menus, search form, cookie banner,
breadcrumbs, related links with their own dates, tags, views, author, share buttons,
comments with dates, footer, analytics scripts) because that is what extraction has to cope
with. Functions return ``str``; the caller encodes.
"""

from __future__ import annotations

import html
import json
import random
import zlib
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from . import padding, textgen, timefmt
from . import vocab_kk as kk
from . import vocab_ru as ru
from .catalog import TAG_NAMES, TAG_NAMES_KK, Catalog, Entry
from .example import load_example

PER_PAGE = 20


def esc(text: str) -> str:
    """Escape for HTML text and attributes; no-break spaces become &nbsp; as CMSs write them."""
    return html.escape(text, quote=True).replace("\xa0", "&nbsp;")


@dataclass(frozen=True, slots=True)
class Body:
    """An article body: the real paragraphs plus an optional in-body teaser."""

    paragraphs: list[str]
    teaser_at: int | None = None  # insert the teaser before paragraphs[teaser_at]
    teaser: Entry | None = None

    @property
    def teaser_text(self) -> str | None:
        return f"Читайте также: {self.teaser.title}" if self.teaser else None


def body_of(cat: Catalog, e: Entry) -> Body:
    """Paragraphs of an article page exactly as rendered (the ground truth uses this too)."""
    if e.example:
        return Body(list(load_example().paragraphs))
    if e.story is None:
        return Body([])
    if e.lang == "kk":
        return Body(textgen.kk_paragraphs(e.story, e.body_seed, e.n_paras, e.photo))
    paras = textgen.ru_paragraphs(e.story, e.body_seed, e.n_paras, e.photo)
    if e.teaser:
        target = cat.teaser_target(e)
        if target is not None:
            return Body(paras, min(3, len(paras) - 1), target)
    return Body(paras)


# -- shared chrome ------------------------------------------------------------------------

_MENU_RU = (("/", "Главная"), ("/news/", "Новости"), ("/tags/politika/", "Политика"),
            ("/tags/ekonomika/", "Экономика"), ("/tags/obshchestvo/", "Общество"), ("/tags/regiony/", "Регионы"),
            ("/tags/sport/", "Спорт"), ("/tags/kultura/", "Культура"), ("/about/", "О редакции"),
            ("/contacts/", "Контакты"))
_MENU_KK = (("/kz/", "Басты бет"), ("/kz/", "Жаңалықтар"), ("/about/", "Редакция туралы"),
            ("/contacts/", "Байланыс"))

_ANALYTICS = """<script>
window.dataLayer = window.dataLayer || [];
function gtag(){dataLayer.push(arguments);}
gtag('js', new Date());
gtag('config', 'G-SAMPLE0001', {'anonymize_ip': true});
</script>"""

_METRIKA = """<script>
(function(m,e,t,r,i,k,a){m[i]=m[i]||function(){(m[i].a=m[i].a||[]).push(arguments)};
m[i].l=1*new Date();k=e.createElement(t),a=e.getElementsByTagName(t)[0],k.async=1,k.src=r,a.parentNode.insertBefore(k,a)})
(window, document, "script", "/static/js/metrika-tag.js", "ym");
ym(10000001, "init", {clickmap:true, trackLinks:true, accurateTrackBounce:true});
</script>
<script>
document.addEventListener('DOMContentLoaded', function () {
  var b = document.getElementById('cookie-banner');
  if (localStorage.getItem('cookies-ok')) { b.remove(); return; }
  b.querySelector('button').addEventListener('click', function () {
    localStorage.setItem('cookies-ok', '1'); b.remove();
  });
});
</script>"""


def _header(lang: str, current: str = "") -> str:
    menu = _MENU_KK if lang == "kk" else _MENU_RU
    items = "".join(
        f'<li class="header__menu-item{" is-active" if href == current else ""}"><a href="{href}">{esc(label)}</a></li>'
        for href, label in menu
    )
    if lang == "kk":
        logo, home, search, button, other = kk.SITE_NAME, "/kz/", "Сайт бойынша іздеу", "Іздеу", ("/", "Русский")
        cookie = ("Біз сайттың жұмысын жақсарту үшін cookie файлдарын пайдаланамыз. Сайтты пайдалануды "
                  "жалғастыра отырып, сіз осыған келісесіз.", "Келісемін")
    else:
        logo, home, search, button, other = ru.SITE_NAME, "/", "Поиск по сайту", "Найти", ("/kz/", "Қазақша")
        cookie = ("Мы используем файлы cookie, чтобы сайт работал лучше. Продолжая пользоваться сайтом, "
                  "вы соглашаетесь с их использованием.", "Принять")
    return f"""<div class="cookie-banner" id="cookie-banner" role="dialog">
<p class="cookie-banner__text">{esc(cookie[0])}</p>
<button type="button" class="cookie-banner__accept">{esc(cookie[1])}</button>
</div>
<header class="header">
<div class="header__top">
<a class="header__logo" href="{home}"><img src="/static/img/logo.svg" alt="{esc(logo)}" width="180" height="40"></a>
<form class="header__search" action="/search/" method="get" role="search">
<input type="search" name="q" placeholder="{esc(search)}" aria-label="{esc(search)}">
<button type="submit">{esc(button)}</button>
</form>
<a class="header__lang" href="{other[0]}" hreflang="{"ru" if lang == "kk" else "kk"}">{esc(other[1])}</a>
</div>
<nav class="header__menu"><ul>{items}</ul></nav>
</header>"""


def _footer(lang: str) -> str:
    if lang == "kk":
        rights = f"© 2019–2026 «{kk.SITE_NAME}». Барлық құқықтар қорғалған. Материалдарды пайдаланғанда сілтеме міндетті."
        contacts = "Мекенжайы: Астана қ., Үлгі көшесі, 1. Телефон: +7 (7172) 00-00-00. E-mail: info@example.kz"
        links = '<a href="/about/">Редакция туралы</a> <a href="/contacts/">Байланыс</a>'
    else:
        rights = (f"© 2019–2026 «{ru.SITE_NAME}». Все права защищены. При использовании материалов "
                  "ссылка на источник обязательна.")
        contacts = "Адрес редакции: г. Астана, ул. Примерная, 1. Телефон: +7 (7172) 00-00-00. E-mail: info@example.kz"
        links = ('<a href="/about/">О редакции</a> <a href="/contacts/">Контакты</a> '
                 '<a href="/rss.xml">RSS</a> <a href="/news/">Архив новостей</a>')
    return f"""<footer class="footer">
<div class="footer__inner">
<p class="footer__copyright">{esc(rights)}</p>
<p class="footer__contacts">{esc(contacts)}</p>
<nav class="footer__links">{links}</nav>
<p class="footer__age">18+</p>
</div>
</footer>"""


def layout(lang: str, title: str, head: str, main: str, body_class: str, current: str = "",
           charset_meta: str = '<meta charset="utf-8">', padded: bool = False) -> str:
    """A whole page: head, chrome around ``main``, scripts (and padding markers if padded)."""
    pad_css = padding.CSS_MARK if padded else ""
    pad_menu = padding.MENU_MARK if padded else ""
    pad_js = padding.JS_MARK if padded else ""
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
{charset_meta}
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
{head}
<link rel="stylesheet" href="/static/css/main.css?v=3.14">
<link rel="icon" href="/favicon.ico">
{pad_css}{_ANALYTICS}
</head>
<body class="{body_class}">
{_header(lang, current)}
{pad_menu}<main class="main">
{main}
</main>
{_footer(lang)}
{_METRIKA}
{pad_js}</body>
</html>
"""


# -- article pages -------------------------------------------------------------------------

def _related(cat: Catalog, e: Entry, base: str) -> str:
    if e.lang == "kk":
        older = cat.kk[e.pos + 1: e.pos + 4]
        others = older + cat.kk[max(0, e.pos - (3 - len(older))): e.pos]
        heading, fmt = "Тағы оқыңыз", timefmt.kk_visible
    else:
        others = cat.neighbours(e, 3)
        heading, fmt = "Читайте также", timefmt.ru_visible
    if not others:
        return ""
    items = "\n".join(
        f'<li class="related__item"><a href="{base}{o.path}"><span class="related__title">{esc(o.title or "")}</span>'
        f'</a> <span class="related__date">{esc(fmt(o.when))}</span></li>'
        for o in others if o.when is not None
    )
    return f'<section class="related">\n<h2 class="related__heading">{heading}</h2>\n<ul>\n{items}\n</ul>\n</section>'


def _comments(e: Entry) -> str:
    rng = random.Random(f"comments:{e.path}")
    n = rng.choice((0, 1, 2, 2, 3))
    kk_page = e.lang == "kk"
    heading = "Пікірлер" if kk_page else "Комментарии"
    items = []
    t = e.when
    for _ in range(n):
        assert t is not None
        t = timefmt.local((t + timedelta(minutes=rng.randint(20, 3000))).replace(tzinfo=None))
        text = rng.choice(kk.COMMENTS if kk_page else ru.COMMENTS)
        items.append(f'<div class="comment"><span class="comment__author">{esc(rng.choice(ru.COMMENTERS))}</span> '
                     f'<span class="comment__date">{timefmt.numeric(t)}</span>'
                     f'<p class="comment__text">{esc(text)}</p></div>')
    placeholder = "Пікіріңізді жазыңыз" if kk_page else "Ваш комментарий"
    send = "Жіберу" if kk_page else "Отправить"
    return (f'<section class="comments" id="comments">\n<h2 class="comments__heading">{heading} ({n})</h2>\n'
            + "\n".join(items)
            + f'\n<form class="comments__form" action="/comments/add/" method="post">'
              f'<textarea name="text" placeholder="{placeholder}"></textarea><button type="submit">{send}</button>'
              f'</form>\n</section>')


def _share(canonical: str, title: str) -> str:
    u, t = quote(canonical, safe=""), quote(title, safe="")
    return (f'<div class="share"><span class="share__label">Поделиться:</span>'
            f'<a class="share__fb" href="https://www.facebook.com/sharer/sharer.php?u={u}" rel="nofollow noopener" target="_blank">Facebook</a>'
            f'<a class="share__tg" href="https://t.me/share/url?url={u}&amp;text={t}" rel="nofollow noopener" target="_blank">Telegram</a>'
            f'<a class="share__wa" href="https://api.whatsapp.com/send?text={u}" rel="nofollow noopener" target="_blank">WhatsApp</a>'
            f'<a class="share__vk" href="https://vk.com/share.php?url={u}" rel="nofollow noopener" target="_blank">VK</a>'
            f'<button type="button" class="share__copy" data-url="{esc(canonical)}">Копировать ссылку</button></div>')


def _body_html(body: Body, base: str, broken: bool) -> str:
    parts = []
    for i, p in enumerate(body.paragraphs):
        if body.teaser is not None and i == body.teaser_at:
            parts.append(f'<p class="read-also">Читайте также: <a href="{base}{body.teaser.path}">'
                         f'{esc(body.teaser.title or "")}</a></p>')
        text = esc(p)
        if broken:
            # What a careless CMS editor leaves behind: unclosed tags and a stray closer.
            if i == 0:
                parts.append(f"<p><b>{text}")
            elif i == 1:
                parts.append(f"<p>{text}</div>")
            elif i % 2:
                parts.append(f"<p><span class=\"hl\">{text}")
            else:
                parts.append(f"<p>{text}</p></span>")
        else:
            parts.append(f"<p>{text}</p>")
    return "\n".join(parts)


def article_page(cat: Catalog, e: Entry, base: str, page_kb: int = 0, encoding: str = "utf-8") -> str:
    """An article page (Russian or Kazakh edition), padded to ``page_kb`` KB if asked."""
    assert e.when is not None and e.title is not None
    kk_page = e.lang == "kk"
    canonical = f"{base}{e.path}"
    body = body_of(cat, e)
    desc = textgen.lead_sentence(body.paragraphs)
    image = f"{base}/media/{e.when:%Y/%m}/{e.slug}.jpg"
    head = [f'<meta name="description" content="{esc(desc)}">',
            '<meta property="og:type" content="article">',
            f'<meta property="og:site_name" content="{esc(kk.SITE_NAME if kk_page else ru.SITE_NAME)}">',
            f'<meta property="og:title" content="{esc(e.title)}">',
            f'<meta property="og:description" content="{esc(desc)}">',
            f'<meta property="og:url" content="{canonical}">',
            f'<meta property="og:image" content="{image}">',
            '<meta name="twitter:card" content="summary_large_image">']
    if e.meta_time and e.published is not None:
        head.append(f'<meta property="article:published_time" content="{timefmt.w3c(e.published)}">')
    head.append(f'<link rel="canonical" href="{canonical}">')
    if not kk_page:
        head.append(f'<link rel="amphtml" href="{base}/amp{e.path}">')
    ru_path = e.translation_of or (e.path if e.kk_path else None)
    if ru_path:
        kk_path = e.path if kk_page else e.kk_path
        head.append(f'<link rel="alternate" hreflang="ru" href="{base}{ru_path}">')
        head.append(f'<link rel="alternate" hreflang="kk" href="{base}{kk_path}">')
    head.append(f'<link rel="alternate" type="application/rss+xml" title="RSS" href="{base}/rss.xml">')
    if e.jsonld and e.published is not None:
        ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": e.title,
              "datePublished": timefmt.w3c(e.published), "dateModified": timefmt.w3c(e.lastmod or e.published),
              "author": {"@type": "Person", "name": e.author},
              "publisher": {"@type": "Organization", "name": ru.SITE_NAME,
                            "logo": {"@type": "ImageObject", "url": f"{base}/static/img/logo.png"}},
              "mainEntityOfPage": canonical, "image": [image], "inLanguage": e.lang}
        head.append(f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>')

    tags = [(t, (TAG_NAMES_KK if kk_page else TAG_NAMES)[t]) for t in e.tags]
    first_tag = tags[0] if tags else ("regiony", "Регионы")
    if kk_page:
        crumbs = (f'<nav class="breadcrumbs"><a href="/kz/">Басты бет</a> / <a href="/kz/">Жаңалықтар</a> / '
                  f'<span>{esc(first_tag[1])}</span></nav>')
    else:
        crumbs = (f'<nav class="breadcrumbs"><a href="/">Главная</a> / <a href="/news/">Новости</a> / '
                  f'<a href="/tags/{first_tag[0]}/">{esc(first_tag[1])}</a></nav>')
    tag_links = " ".join(f'<a class="article__tag" href="/tags/{slug}/">#{esc(name)}</a>' for slug, name in tags)
    figure = ""
    if e.photo:
        figure = (f'<figure class="article__image"><img src="{image}" alt="{esc(e.title)}" loading="lazy">'
                  f'</figure>')
    main = f"""{crumbs}
<article class="article">
<h1 class="article__title">{esc(e.title)}</h1>
<div class="article__meta">
<time class="article__date">{esc(e.published_raw or "")}</time>
<span class="article__views">👁 {e.views}</span>
</div>
{figure}
<div class="article__body">
{_body_html(body, base, broken=e.bad == "broken")}
</div>
<div class="article__author">Автор: {esc(e.author or "")}</div>
<div class="article__tags"><span>{"Тегтер" if kk_page else "Теги"}:</span> {tag_links}</div>
{_share(canonical, e.title)}
</article>
{_related(cat, e, base)}
{_comments(e)}"""
    charset = ('<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
               if encoding == "cp1251" else '<meta charset="utf-8">')
    site = kk.SITE_NAME if kk_page else ru.SITE_NAME
    page = layout(e.lang, f"{e.title} | {site}", "\n".join(head), main, "page page--article",
                  charset_meta=charset, padded=True)
    if e.bad == "broken":
        # ...and the template lost its closing tags too.
        page = page.replace("</body>\n</html>\n", "")
    return padding.apply(page, page_kb, encoding)


def amp_page(cat: Catalog, e: Entry, base: str) -> str:
    """The AMP version of a Russian article: same text, rel=canonical to the main URL."""
    assert e.title is not None
    body = body_of(cat, e)
    paras = "\n".join(f"<p>{esc(p)}</p>" for p in body.paragraphs)
    return f"""<!doctype html>
<html ⚡ lang="ru">
<head>
<meta charset="utf-8">
<title>{esc(e.title)} | {esc(ru.SITE_NAME)}</title>
<link rel="canonical" href="{base}{e.path}">
<meta name="viewport" content="width=device-width,minimum-scale=1,initial-scale=1">
<script async src="https://cdn.ampproject.org/v0.js"></script>
<style amp-boilerplate>body{{-webkit-animation:-amp-start 8s steps(1,end) 0s 1 normal both;animation:-amp-start 8s steps(1,end) 0s 1 normal both}}</style>
<style amp-custom>.article__title{{font-size:24px}}.article__date{{color:#777}}</style>
</head>
<body>
<header class="amp-header"><a href="{base}/">{esc(ru.SITE_NAME)}</a></header>
<article class="article">
<h1 class="article__title">{esc(e.title)}</h1>
<time class="article__date">{esc(e.published_raw or "")}</time>
<div class="article__body">
{paras}
</div>
<p class="article__author">Автор: {esc(e.author or "")}</p>
</article>
<footer class="amp-footer">© 2019–2026 «{esc(ru.SITE_NAME)}»</footer>
</body>
</html>
"""


# -- listings and other pages ---------------------------------------------------------------

def _item(e: Entry, href: str, with_lead: bool = False, cat: Catalog | None = None) -> str:
    date = e.published_raw or ""
    lead = ""
    if with_lead and cat is not None and e.has_text:
        lead = f'<p class="news-item__lead">{esc(textgen.lead_sentence(body_of(cat, e).paragraphs))}</p>'
    return (f'<article class="news-item"><a class="news-item__title" href="{href}">{esc(e.title or "")}</a> '
            f'<time class="news-item__date">{esc(date)}</time>{lead}</article>')


def _listing_href(e: Entry) -> str:
    # Some templates drop the trailing slash; the server redirects, the crawler should normalise.
    return e.path.rstrip("/") if zlib.crc32(e.path.encode()) % 6 == 0 else e.path


def _rss_link(base: str) -> str:
    return f'<link rel="alternate" type="application/rss+xml" title="RSS" href="{base}/rss.xml">'


def home_page(cat: Catalog, base: str) -> str:
    """Homepage: top stories with leads, a news feed, menus and the RSS alternate link."""
    latest = [e for e in cat.listed if e.kind in ("article", "duplicate")][:20]
    top = "\n".join(_item(e, f"{base}{e.path}", True, cat) for e in latest[:5])
    feed = "\n".join(_item(e, f"{base}{e.path}") for e in latest[5:])
    main = f"""<section class="top-news"><h2>Главное</h2>
{top}
</section>
<section class="news-feed"><h2>Лента новостей</h2>
{feed}
<a class="news-feed__more" href="/news/">Все новости</a>
</section>
<section class="site-links"><a href="/about/">О редакции</a> <a href="/contacts/">Контакты</a> <a href="/kz/">Қазақша</a></section>"""
    head = (f'<meta name="description" content="{esc(ru.SITE_SLOGAN)}">\n<link rel="canonical" href="{base}/">\n'
            + _rss_link(base))
    return layout("ru", f"{ru.SITE_NAME} – {ru.SITE_SLOGAN}", head, main, "page page--home", current="/")


def _pagination(path: str, page: int, pages: int) -> tuple[str, str]:
    links, head = [], []
    if page > 1:
        prev = path if page == 2 else f"{path}?page={page - 1}"
        links.append(f'<a class="pagination__prev" rel="prev" href="{prev}">Предыдущая</a>')
        head.append(f'<link rel="prev" href="{prev}">')
    lo, hi = max(1, page - 2), min(pages, page + 2)
    for k in range(lo, hi + 1):
        href = path if k == 1 else f"{path}?page={k}"
        cls = "pagination__page is-current" if k == page else "pagination__page"
        links.append(f'<a class="{cls}" href="{href}">{k}</a>')
    if page < pages:
        links.append(f'<a class="pagination__next" rel="next" href="{path}?page={page + 1}">Следующая</a>')
        head.append(f'<link rel="next" href="{path}?page={page + 1}">')
    return f'<nav class="pagination">{" ".join(links)}</nav>', "\n".join(head)


def listing_page(cat: Catalog, base: str, page: int) -> str | None:
    """/news/?page=N: every Russian article URL, newest first, 20 a page; None past the end."""
    pages = max(1, -(-len(cat.listed) // PER_PAGE))
    if not 1 <= page <= pages:
        return None
    items = cat.listed[(page - 1) * PER_PAGE: page * PER_PAGE]
    nav, head = _pagination("/news/", page, pages)
    body = "\n".join(_item(e, _listing_href(e)) for e in items)
    title = "Новости" if page == 1 else f"Новости – страница {page}"
    main = f'<h1 class="page-title">{title}</h1>\n<section class="news-list">\n{body}\n</section>\n{nav}'
    canon = f"{base}/news/" if page == 1 else f"{base}/news/?page={page}"
    head = f'<link rel="canonical" href="{canon}">\n{head}\n{_rss_link(base)}'
    return layout("ru", f"{title} | {ru.SITE_NAME}", head, main, "page page--list", current="/news/")


def kk_listing_page(cat: Catalog, base: str) -> str:
    """/kz/: the Kazakh edition's latest stories."""
    body = "\n".join(_item(e, e.path) for e in cat.kk[:PER_PAGE])
    main = f'<h1 class="page-title">Жаңалықтар</h1>\n<section class="news-list">\n{body}\n</section>'
    head = f'<link rel="canonical" href="{base}/kz/">'
    return layout("kk", f"{kk.SITE_NAME} – {kk.SITE_SLOGAN}", head, main, "page page--list", current="/kz/")


def tag_page(cat: Catalog, base: str, slug: str) -> str | None:
    """/tags/<slug>/: latest stories with that tag (a page that must not be archived)."""
    if slug not in TAG_NAMES:
        return None
    items = cat.by_tag.get(slug, [])[:PER_PAGE]
    body = "\n".join(_item(e, e.path) for e in items) or '<p class="news-list__empty">Материалов пока нет.</p>'
    name = TAG_NAMES[slug]
    main = (f'<nav class="breadcrumbs"><a href="/">Главная</a> / <span>{esc(name)}</span></nav>\n'
            f'<h1 class="page-title">#{esc(name)}</h1>\n<section class="news-list">\n{body}\n</section>\n'
            f'<a href="/news/">Все новости</a>')
    head = f'<link rel="canonical" href="{base}/tags/{slug}/">'
    return layout("ru", f"{name} | {ru.SITE_NAME}", head, main, "page page--tag", current=f"/tags/{slug}/")


def about_page(base: str) -> str:
    main = f"""<h1 class="page-title">О редакции</h1>
<div class="static-text">
<p>«{esc(ru.SITE_NAME)}» – учебный новостной сайт. Его страницы созданы генератором для проверки программ,
которые собирают и архивируют новости.</p>
<p>Все тексты на сайте составлены автоматически из шаблонов и не описывают реальных событий.</p>
<p>Главный редактор: Редактор Примеров. Свидетельство о регистрации СМИ не требуется.</p>
</div>"""
    return layout("ru", f"О редакции | {ru.SITE_NAME}", f'<link rel="canonical" href="{base}/about/">', main,
                  "page page--static", current="/about/")


def contacts_page(base: str) -> str:
    main = """<h1 class="page-title">Контакты</h1>
<div class="static-text">
<p>Адрес редакции: г. Астана, ул. Примерная, 1, офис 10.</p>
<p>Телефон приемной: +7 (7172) 00-00-00. Отдел рекламы: +7 (7172) 00-00-01.</p>
<p>E-mail: info@example.kz</p>
<p>Время работы: понедельник – пятница, 9:00 – 18:00.</p>
</div>"""
    return layout("ru", f"Контакты | {ru.SITE_NAME}", f'<link rel="canonical" href="{base}/contacts/">', main,
                  "page page--static", current="/contacts/")


def search_page(cat: Catalog, base: str, q: str) -> str:
    """/search/?q=: title search; disallowed in robots.txt and marked noindex."""
    needle = q.strip().casefold()
    hits = [e for e in reversed(cat.readable) if needle and needle in (e.title or "").casefold()][:PER_PAGE]
    body = "\n".join(_item(e, e.path) for e in hits) or '<p class="search__empty">Ничего не найдено.</p>'
    main = (f'<h1 class="page-title">Поиск: {esc(q)}</h1>\n<p class="search__count">Найдено: {len(hits)}</p>\n'
            f'<section class="news-list">\n{body}\n</section>')
    head = '<meta name="robots" content="noindex, follow">'
    return layout("ru", f"Поиск | {ru.SITE_NAME}", head, main, "page page--search")


def not_found_page() -> str:
    main = ('<h1 class="page-title">Страница не найдена</h1>\n<p>Возможно, она была удалена или вы ошиблись '
            'в адресе. Перейдите на <a href="/">главную страницу</a>.</p>')
    return layout("ru", f"404 – Страница не найдена | {ru.SITE_NAME}", '<meta name="robots" content="noindex">',
                  main, "page page--404")


def server_error_page() -> str:
    return ("<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head>\n"
            "<body><h1>Internal Server Error</h1><p>Внутренняя ошибка сервера. Попробуйте позже.</p></body></html>\n")
