"""Is a fetched page an article? Decided from the page itself.

:func:`classify_page` reads what a page says about itself (schema.org types in JSON-LD and
microdata, ``og:type``, a published-time meta) and how it is built (a dated headline over
paragraphs of running text, or many short linked teasers; text and link density; prices,
reply counts, code blocks; the shape of its URL) and weighs them with gradient-boosted trees
(crawler/classify_model.json) fitted on the tuning part of a labelled benchmark of real pages
(bench/classify_quality.py, bench/README-classify.md). It is cheap (one lxml parse and
one pass over the elements): the crawl runs it on every candidate page it discovers.

Answers: ``"article"``; otherwise the kind of page, for the crawl's bookkeeping:
``"listing"`` (teasers of other pages: a section front, an archive day, search results),
``"product"``, ``"forum"``, ``"documentation"``, or ``"other"``.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from importlib import resources
from urllib.parse import urlsplit

from lxml import etree

from crawler.encoding import decode_html

__all__ = ["classify_page", "page_features"]


_LD_TYPE = re.compile(r'"@type"\s*:\s*(\[[^\]]*\]|"[^"]*")')
_ARTICLE_TYPES = {"article", "newsarticle", "blogposting", "report", "reportagenewsarticle",
                  "analysisnewsarticle", "opinionnewsarticle", "liveblogposting", "backgroundnewsarticle",
                  "reviewnewsarticle", "socialmediaposting", "scholarlyarticle", "posting"}
_PRODUCT_TYPES = {"product", "offer", "aggregateoffer", "productgroup", "individualproduct", "car",
                  "softwareapplication", "book", "aggregaterating"}
_LIST_TYPES = {"itemlist", "collectionpage", "searchresultspage", "offercatalog", "siteNavigationElement".lower()}
_FORUM_TYPES = {"discussionforumposting", "qapage", "question", "answer", "comment"}
_SERVICE_TYPES = {"service", "localbusiness", "professionalservice", "faqpage", "howto", "event",
                  "medicalbusiness", "legalservice", "store", "restaurant", "aboutpage", "contactpage"}
_DOC_TYPES = {"techarticle", "apireference"}

_MONTH = (r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|янв|фев|мар|апр|ма[йя]|июн|июл|авг|"
          r"сен|окт|ноя|дек|қаң|ақп|нау|сәу|мам|мау|шіл|там|қыр|қаз|қар|жел)[^\W\d_]*\.?")
_DATE_TEXT = re.compile(
    rf"(?<!\d)(?=[\d\w])(?:\d{{1,2}}\s+{_MONTH},?\s+\d{{4}}|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|"
    r"\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{4})(?!\d)",
    re.IGNORECASE,
)
_PRICE = re.compile(r"(?:[$€£¥₸₽]\s?\d|\d[\d.,]*\s?(?:usd|eur|₸|₽|руб|тг|тенге)\b)", re.IGNORECASE)
_CART = re.compile(r"add to (?:cart|basket|bag)|buy now|in stock|out of stock|в корзину|купить|"
                   r"add-to-cart|addtocart|checkout", re.IGNORECASE)
_FORUM = re.compile(r"\b(?:replies|reply|posts?:|joined|thread|quote|upvote|views?:|members?)\b",
                    re.IGNORECASE)
_BYLINE = re.compile(r"author|byline|posted-by|writer|автор", re.IGNORECASE)
_URL_DATE = re.compile(r"/(?:19|20)\d{2}[/-](?:0?[1-9]|1[0-2])(?:[/-](?:0?[1-9]|[12]\d|3[01]))?/")
_URL_LIST = re.compile(r"/(?:tags?|category|categories|topics?|section|rubric|archive|search|page|"
                       r"authors?|news|blog|articles?|stories|collections?|shop|products?)/?$",
                       re.IGNORECASE)
_URL_PRODUCT = re.compile(r"/(?:products?|shop|store|item|dp|p)/", re.IGNORECASE)
_URL_DOC = re.compile(r"/(?:docs?|documentation|reference|api|manual|guide|wiki)(?:/|$)|readthedocs",
                      re.IGNORECASE)
_URL_FORUM = re.compile(r"/(?:forums?|threads?|t|topic|questions|community|discussion|r)/", re.IGNORECASE)
_CTA = re.compile(r"contact us|get (?:a|your) (?:free )?(?:quote|estimate|demo)|request (?:a )?(?:demo|quote|"
                  r"consultation|info)|free (?:consultation|trial)|schedule (?:a|your)|call (?:us|now|today)|"
                  r"book (?:a|now|your)|sign up|get started|apply now|enroll|our services|our team|"
                  r"why choose|testimonials?|pricing|plans?\b|subscribe now", re.IGNORECASE)
_ARTICLE_WORDS = re.compile(r"min(?:ute)?s? read|published|posted (?:on|by)|written by|updated on|"
                            r"\bby [A-Z][a-z]+ [A-Z]|share (?:this|on)|related (?:articles|posts|stories)",
                            re.IGNORECASE)
_DOC_WORDS = re.compile(r"edit (?:this|on) (?:page|github)|on this page|table of contents|"
                        r"was this (?:page|article) helpful|next (?:page|chapter)|previous (?:page|chapter)",
                        re.IGNORECASE)
# class/id tokens that templates name their parts with, counted over the page
_CLASS_TOKENS = {
    "cls_post": re.compile(r"post-content|entry-content|article-body|article__body|story-body|"
                           r"post-body|single-post|article-content|entry-title|post-title|"
                           r"blog-post|article-header|\bsingle\b", re.I),
    "cls_author": re.compile(r"author|byline", re.I),
    "cls_share": re.compile(r"share|social", re.I),
    "cls_comment": re.compile(r"comment", re.I),
    "cls_card": re.compile(r"\bcard|teaser|tile|grid|item-list|listing|feed", re.I),
    "cls_pagination": re.compile(r"paginat|pager|load-more", re.I),
    "cls_product": re.compile(r"product|price|cart|sku|add-to|woocommerce", re.I),
    "cls_forum": re.compile(r"thread|reply|replies|message|postbit|topic|vote|username|avatar", re.I),
    "cls_doc": re.compile(r"docs?\b|toc\b|table-of-contents|sidebar-nav|api-|markdown|highlight", re.I),
    "cls_service": re.compile(r"service|hero|cta|testimonial|pricing|feature|benefit|contact", re.I),
    "cls_form": re.compile(r"form\b|newsletter|signup|subscribe", re.I),
}
# The page text the word patterns scan: enough for a page's own furniture and first screens.
_TEXT_SCAN = 30_000
_FURNITURE = {"nav", "header", "footer", "aside", "form", "select", "button"}
_SKIP = {"script", "style", "noscript", "template", "svg", "iframe"}
_WORD = re.compile(r"\w+")


def _ld_types(tree: etree._Element) -> set[str]:
    types: set[str] = set()
    for script in tree.iter("script"):
        if "ld+json" not in (script.get("type") or "").lower() or not script.text:
            continue
        for m in _LD_TYPE.finditer(script.text):
            for t in re.findall(r'"([^"]+)"', m.group(1)):
                types.add(t.rsplit("/", 1)[-1].lower())
    for value in tree.xpath("//@itemtype"):
        for t in value.split():
            types.add(t.rstrip("/").rsplit("/", 1)[-1].lower())
    return types


def _log(x: float) -> float:
    return math.log1p(max(0.0, x))


def page_features(tree: etree._Element, url: str) -> dict[str, float]:
    """The measurements :func:`classify_page` weighs, by name (all numbers)."""
    types = _ld_types(tree)
    og = " ".join(tree.xpath("//meta[@property='og:type' or @name='og:type']/@content")).lower()
    published_meta = bool(tree.xpath(
        "//meta[contains(@property,'published_time') or @itemprop='datePublished' or "
        "@name='pubdate' or @name='publish-date' or @name='date']|//*[@itemprop='datePublished']"))

    body = tree.find("body")
    if body is None:
        body = tree
    total = link_chars = p_chars = p_link = long_p = short_p = furniture_chars = 0
    n_links = n_li = n_pre = n_articles = n_h1 = n_heading_links = n_time = n_img = n_input = 0
    sentences = 0
    stack: list[tuple[etree._Element, int, bool]] = [(body, 0, False)]
    while stack:
        el, in_link, in_furniture = stack.pop()
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in _SKIP:
            continue
        if tag == "a":
            n_links += 1
            in_link += 1
        elif tag == "li":
            n_li += 1
        elif tag in ("pre", "code"):
            n_pre += 1
        elif tag == "article":
            n_articles += 1
        elif tag == "h1":
            n_h1 += 1
        elif tag in ("h2", "h3", "h4"):
            if el.find(".//a") is not None or (el.getparent() is not None and el.getparent().tag == "a"):
                n_heading_links += 1
        elif tag == "time":
            n_time += 1
        elif tag == "img":
            n_img += 1
        elif tag in ("input", "select", "textarea"):
            n_input += 1
        furniture = in_furniture or tag in _FURNITURE
        if tag == "p" and not furniture:
            text = el.text_content()
            length = len(text.strip())
            p_chars += length
            words = len(_WORD.findall(text))
            if words >= 25:
                long_p += 1
                sentences += text.count(". ") + 1
            elif words > 0:
                short_p += 1
            p_link += sum(len(a.text_content()) for a in el.iter("a"))
        for piece in (el.text,):
            if piece and tag:
                n = len(piece.strip())
                total += n
                if in_link:
                    link_chars += n
                if furniture:
                    furniture_chars += n
        for child in el:
            if child.tail:
                n = len(child.tail.strip())
                total += n
                if in_link:
                    link_chars += n
                if furniture:
                    furniture_chars += n
            stack.append((child, in_link, furniture))

    # A dated headline: a date written close to the (first) h1.
    dated_h1 = 0.0
    h1 = next(iter(body.iter("h1")), None)
    if h1 is not None:
        node = h1
        for _ in range(3):
            parent = node.getparent()
            if parent is None:
                break
            node = parent
            text = node.text_content()
            if len(text) > 3000:
                break
            if _DATE_TEXT.search(text) or node.find(".//time") is not None:
                dated_h1 = 1.0
                break

    # how often the template names its parts so, over every class and id on the page
    attrs = "\n".join(body.xpath(".//@class|.//@id"))
    class_counts = {name: len(pattern.findall(attrs)) for name, pattern in _CLASS_TOKENS.items()}
    body_class = (body.get("class") or "").lower()

    byline = 1.0 if tree.xpath("//*[@rel='author']|//meta[@name='author' or @property='article:author']") \
        or any(_BYLINE.search(el.get("class") or "") for el in body.iter("div", "span", "p", "a")) else 0.0
    visible = max(total, 1)
    raw_text = (body.text_content() if len(tree) else "")[:_TEXT_SCAN]
    n_dates = len(_DATE_TEXT.findall(raw_text))
    path = urlsplit(url).path or "/"
    segments = [s for s in path.split("/") if s]
    last = segments[-1] if segments else ""
    return {
        "ld_article": float(bool(types & _ARTICLE_TYPES)),
        "ld_product": float(bool(types & _PRODUCT_TYPES)),
        "ld_list": float(bool(types & _LIST_TYPES)),
        "ld_forum": float(bool(types & _FORUM_TYPES)),
        "ld_service": float(bool(types & _SERVICE_TYPES)),
        "ld_doc": float(bool(types & _DOC_TYPES)),
        "og_article": float("article" in og),
        "og_product": float("product" in og),
        "og_website": float("website" in og),
        "published_meta": float(published_meta),
        "dated_h1": dated_h1,
        "byline": byline,
        "h1": float(min(n_h1, 3)),
        "long_p": _log(long_p),
        "short_p": _log(short_p),
        "p_chars": _log(p_chars) / 10,
        "p_share": p_chars / visible,
        "sentences": _log(sentences),
        "link_density": link_chars / visible,
        "p_link_density": p_link / max(p_chars, 1),
        "furniture_share": furniture_chars / visible,
        "links": _log(n_links),
        "links_per_kchar": n_links / (visible / 1000 + 1),
        "li": _log(n_li),
        "pre": _log(n_pre),
        "articles": _log(n_articles),
        "heading_links": _log(n_heading_links),
        "times": _log(n_time),
        "imgs": _log(n_img),
        "inputs": _log(n_input),
        "prices": _log(len(_PRICE.findall(raw_text))),
        "cart": float(bool(_CART.search(raw_text))),
        "forum_words": _log(len(_FORUM.findall(raw_text))),
        "cta": _log(len(_CTA.findall(raw_text))),
        "article_words": _log(len(_ARTICLE_WORDS.findall(raw_text))),
        "doc_words": _log(len(_DOC_WORDS.findall(raw_text))),
        "dates": _log(n_dates),
        "one_date": float(n_dates == 1 or n_time == 1),
        "forms": _log(len(body.xpath(".//form"))),
        "buttons": _log(len(body.xpath(".//button"))),
        "h2": _log(len(body.xpath(".//h2"))),
        "body_single": float(bool(re.search(r"single|post-template|article", body_class))),
        "body_page": float(bool(re.search(r"\bpage\b|page-template|home|archive|category|product", body_class))),
        **{name: _log(n) for name, n in class_counts.items()},
        "url_date": float(bool(_URL_DATE.search(path))),
        "url_depth": float(min(len(segments), 6)),
        "url_slug_words": float(min(len(re.split(r"[-_]+", last)) if last else 0, 12)),
        "url_root": float(not segments),
        "url_list": float(bool(_URL_LIST.search(path))),
        "url_product": float(bool(_URL_PRODUCT.search(path))),
        "url_doc": float(bool(_URL_DOC.search(url))),
        "url_forum": float(bool(_URL_FORUM.search(path))),
        "url_query": float(bool(urlsplit(url).query)),
        "url_numeric_id": float(bool(re.search(r"\d{4,}", last))),
    }


# Gradient-boosted trees over page_features, fitted by bench/classify_fit.py on the tuning
# part of wcxb-dev; each tree is [feature, threshold, left, right] or a leaf value.
_MODEL_FILE = "classify_model.json"
_THRESHOLD = 0.5


@lru_cache(maxsize=1)
def _model() -> tuple[float, list]:
    data = json.loads(resources.files("crawler").joinpath(_MODEL_FILE).read_text(encoding="utf-8"))
    return float(data["rate"]), data["trees"]


def article_probability(features: dict[str, float]) -> float:
    """The model's probability that a page with these features is an article."""
    rate, trees = _model()
    z = 0.0
    for node in trees:
        while isinstance(node, list):
            name, threshold, left, right = node
            node = left if features.get(name, 0.0) <= threshold else right
        z += rate * node
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


def _kind(f: dict[str, float]) -> str:
    if f["ld_product"] or f["og_product"] or f["cart"] or f["url_product"]:
        return "product"
    if f["ld_forum"] or f["url_forum"]:
        return "forum"
    if f["ld_doc"] or f["url_doc"] or f["pre"] > 1.5:
        return "documentation"
    if f["ld_list"] or f["heading_links"] > 1.6 or f["articles"] > 1.6 or f["link_density"] > 0.5:
        return "listing"
    return "other"


def _parse(html: str | bytes) -> etree._Element | None:
    if isinstance(html, (bytes, bytearray)):
        # the page's own charset (meta, BOM, UTF-8 check), as extraction decodes it
        html, _ = decode_html(bytes(html), None)
    if not isinstance(html, str) or not html.strip():
        return None
    from crawler.extract import ExtractionError, parse_html  # extract re-exports this module

    try:
        return parse_html(html)
    except ExtractionError:
        return None


def classify_page(html: str | bytes | etree._Element, url: str) -> str:
    """``"article"`` when the page is one news/blog article, else the kind of page it is
    (``"listing"``, ``"product"``, ``"forum"``, ``"documentation"``, ``"other"``).

    ``html`` is the page as fetched (bytes or text) or an already parsed lxml tree, which is
    only read. Never raises: a page that does not parse is ``"other"``.
    """
    tree = html if isinstance(html, etree._Element) else _parse(html)
    if tree is None:
        return "other"
    try:
        features = page_features(tree, url)
    except Exception:  # noqa: BLE001 - an odd page must not stop the crawl
        return "other"
    if article_probability(features) >= _THRESHOLD:
        return "article"
    return _kind(features)
