"""Is a fetched page an article? Decided from the page itself.

:func:`classify_page` reads what a page says about itself (schema.org types and keys in
JSON-LD and microdata, ``og:type``, published-time metas, AMP and ``rel=next`` links) and
how it is built (a dated headline over paragraphs of running text, or many repeated teaser
blocks; text and link density; paragraph lengths; the share of navigation; prices, carts,
reply counts, forms, code blocks; the words templates name their parts with; the shape and
words of its URL and title) and weighs them with gradient-boosted trees, one of whose inputs
is a logistic regression over the page's words (class and id names, title and URL words,
schema.org types, meta names; only words seen on several sites of the benchmark). Both are
in crawler/classify_model.json, fitted by bench/classify_fit.py on the tuning part of a
labelled benchmark of real pages (bench/README-classify.md) and evaluated here in plain
Python. It needs no trafilatura or dateparser: one lxml tree (shared with the extraction
by :func:`crawler.page.process_page`), one pass over its elements, a few regular
expressions over the first part of the lowercased text, since the crawl runs it on every
candidate page it discovers.

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
_LIST_TYPES = {"itemlist", "collectionpage", "searchresultspage", "offercatalog", "sitenavigationelement"}
_FORUM_TYPES = {"discussionforumposting", "qapage", "question", "answer", "comment"}
_SERVICE_TYPES = {"service", "localbusiness", "professionalservice", "faqpage", "howto", "event",
                  "medicalbusiness", "legalservice", "store", "restaurant", "aboutpage", "contactpage"}
_DOC_TYPES = {"techarticle", "apireference"}
# JSON-LD keys that an article's own node carries (a CMS's site-wide graph does not)
_LD_KEYS = {
    "ld_date_published": re.compile(r'"datePublished"'),
    "ld_author": re.compile(r'"author"'),
    "ld_section": re.compile(r'"articleSection"|"articleBody"|"wordCount"'),
    "ld_price": re.compile(r'"price"|"sku"|"gtin'),
    "ld_comments": re.compile(r'"commentCount"|"interactionStatistic"|"answerCount"'),
}

# Word patterns run over the lowercased text (much faster than IGNORECASE).
_MONTH = (r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|янв|фев|мар|апр|ма[йя]|июн|июл|авг|"
          r"сен|окт|ноя|дек|қаң|ақп|нау|сәу|мам|мау|шіл|там|қыр|қаз|қар|жел)[^\W\d_]*\.?")
_DATE_TEXT = re.compile(
    rf"(?<!\d)(?=[\d\w])(?:\d{{1,2}}\s+{_MONTH},?\s+\d{{4}}|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|"
    r"\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{4})(?!\d)")
_PRICE = re.compile(r"(?:[$€£¥₸₽]\s?\d|\d[\d.,]*\s?(?:usd|eur|₸|₽|руб|тг|тенге)\b)")
_CART = re.compile(r"add to (?:cart|basket|bag)|buy now|in stock|out of stock|в корзину|купить|"
                   r"add-to-cart|addtocart|checkout")
_FORUM = re.compile(r"\b(?:replies|reply|posts?:|joined|thread|quote|upvote|views?:|members?)\b")
_CTA = re.compile(r"contact us|get (?:a|your) (?:free )?(?:quote|estimate|demo)|request (?:a )?(?:demo|quote|"
                  r"consultation|info)|free (?:consultation|trial)|schedule (?:a|your)|call (?:us|now|today)|"
                  r"book (?:a|now|your)|sign up|get started|apply now|enroll|our services|our team|"
                  r"why choose|testimonials?|pricing|plans?\b|subscribe now")
_ARTICLE_WORDS = re.compile(r"min(?:ute)?s? read|published|posted (?:on|by)|written by|updated on|"
                            r"share (?:this|on)|related (?:articles|posts|stories)|опубликовано|автор:")
_REPLY_COUNT = re.compile(r"\b\d+\s+(?:comments?|replies|answers|posts|votes|points|ответов|комментари\w*)\b")
_BY_NAME = re.compile(r"\b[Bb]y [A-Z][a-z]+ [A-Z]")
_DOC_WORDS = re.compile(r"edit (?:this|on) (?:page|github)|on this page|table of contents|"
                        r"was this (?:page|article) helpful|next (?:page|chapter)|previous (?:page|chapter)")
_FIRST_PERSON_SERVICE = re.compile(r"\b(?:we offer|we provide|our (?:clients|customers|experts|mission)|"
                                   r"contact (?:us|our)|call us|free quote|years of experience)\b")
_URL_DATE = re.compile(r"/(?:19|20)\d{2}[/-](?:0?[1-9]|1[0-2])(?:[/-](?:0?[1-9]|[12]\d|3[01]))?/")
_URL_LIST = re.compile(r"/(?:tags?|category|categories|topics?|section|rubric|archive|search|page|"
                       r"authors?|news|blog|articles?|stories|collections?|shop|products?)/?$",
                       re.IGNORECASE)
_URL_PRODUCT = re.compile(r"/(?:products?|shop|store|item|dp|p)/", re.IGNORECASE)
_URL_DOC = re.compile(r"/(?:docs?|documentation|reference|api|manual|guide|wiki)(?:/|$)|readthedocs",
                      re.IGNORECASE)
_URL_FORUM = re.compile(r"/(?:forums?|threads?|t|topic|questions|community|discussion|r)/", re.IGNORECASE)
# words of a URL's directories (not its last segment) that say what lives under them
_URL_WORDS = {
    "url_in_posts": {"blog", "blogs", "news", "article", "articles", "post", "posts", "story", "stories",
                     "press", "insights", "journal", "magazine", "novosti", "news-events", "stati",
                     "материалы", "новости", "lifestyle", "opinion", "politics", "world", "sport", "sports"},
    "url_in_service": {"services", "service", "solutions", "about", "about-us", "company", "pricing",
                       "contact", "careers", "programs", "program", "courses", "admissions", "academics",
                       "departments", "locations", "treatments", "practice-areas", "industries",
                       "products", "features", "team", "our-team", "uslugi"},
    "url_in_help": {"help", "support", "faq", "kb", "knowledge-base", "knowledgebase", "docs", "doc",
                    "documentation", "guide", "guides", "manual", "reference", "api", "wiki", "learn"},
    "url_in_listing": {"tag", "tags", "category", "categories", "topic", "topics", "section", "archive",
                       "author", "search", "page", "collections", "collection"},
}
# class/id tokens that templates name their parts with, counted over the page
_CLASS_TOKENS = {
    "cls_post": re.compile(r"post-content|entry-content|article-body|article__body|story-body|"
                           r"post-body|single-post|article-content|entry-title|post-title|"
                           r"blog-post|article-header|\bsingle\b"),
    "cls_author": re.compile(r"author|byline"),
    "cls_share": re.compile(r"share|social"),
    "cls_comment": re.compile(r"comment"),
    "cls_card": re.compile(r"\bcard|teaser|tile|grid|item-list|listing|feed"),
    "cls_pagination": re.compile(r"paginat|pager|load-more"),
    "cls_product": re.compile(r"product|price|cart|sku|add-to|woocommerce"),
    "cls_forum": re.compile(r"thread|reply|replies|message|postbit|topic|vote|username|avatar"),
    "cls_doc": re.compile(r"docs?\b|toc\b|table-of-contents|sidebar-nav|api-|markdown|highlight"),
    "cls_service": re.compile(r"service|hero|cta|testimonial|pricing|feature|benefit|contact"),
    "cls_form": re.compile(r"form\b|newsletter|signup|subscribe"),
    "cls_related": re.compile(r"related|recommend|more-from|read-more|also"),
    "cls_date": re.compile(r"date|time|published|posted|meta"),
    "cls_breadcrumb": re.compile(r"breadcrumb"),
    "cls_byline": re.compile(r"author|byline|posted-by|writer|автор"),
}
_CLASS_NAMES = tuple(_CLASS_TOKENS)
_ANY_CLASS_TOKEN = re.compile("|".join(f"(?:{p.pattern})" for p in _CLASS_TOKENS.values()))
# what a host's first label says the whole host serves
_HOST_KIND = {
    "host_forum": re.compile(r"^(?:forums?|community|communities|bbs|discuss|discussions?|answers|talk|boards?)\."),
    "host_docs": re.compile(r"^(?:docs?|developers?|learn|help|support|wiki|kb|manual|api)\."),
    "host_shop": re.compile(r"^(?:shop|store|buy|promotions?)\."),
    "host_posts": re.compile(r"^(?:blogs?|news|press|magazine|journal|stories)\."),
}
_URL_FORUM_ANY = re.compile(r"forum|viewtopic|showthread|discussion|/threads?/|/topics?/|/t/|/s/|/r/|/questions?/",
                            re.IGNORECASE)
# Function words: a headline or slug written as a phrase has them, a name of a service or
# product rarely does.
_STOP_WORDS = frozenset(
    "a an the of to for and or in on at with from by about into your you my our is are be can do does "
    "how what why when which who vs versus will should best top tips ways guide ideas things "
    "и в на для как что от по из о об или это почему зачем когда где чем".split())
_TITLE_ASK = re.compile(r"^(?:how|what|why|when|which|who|can|should|is|are|do|does|как|что|почему|зачем|"
                        r"когда|где)\b|\?", re.IGNORECASE)
_TITLE_LIST = re.compile(r"^\W*\d+\b|\b(?:top|best|tips|ways|ideas|things|guide|vs\.?|versus|review|"
                         r"compared|comparison|checklist|explained|lessons)\b", re.IGNORECASE)
_TITLE_SERVICE = re.compile(r"\b(?:services?|solutions|company|contact|pricing|plans|shop|buy|sale|tuition|"
                            r"courses?|programs?|certifications?|careers|about us|home|welcome|official|"
                            r"products?|услуги|купить|магазин|цены?)\b", re.IGNORECASE)
_BODY_CLASS = {
    "body_single": re.compile(r"single|post-template|article|postid-|node-type-article|blog-post"),
    "body_page": re.compile(r"\bpage\b|page-template|page-id-|home|front|archive|category|product|landing"),
}
# The page text the word patterns scan: enough for a page's own furniture and first screens.
_TEXT_SCAN = 30_000
_FURNITURE = {"nav", "header", "footer", "aside", "form", "select", "button"}
_SKIP = {"script", "style", "noscript", "template", "svg", "iframe"}
_WORD = re.compile(r"\w+")
_SPLIT_SLUG = re.compile(r"[-_.]+")
_URL_WORD = re.compile(r"[^\W_]+")
_CARD_TAGS = {"div", "li", "article", "section", "tr", "a"}


@lru_cache(maxsize=65536)
def _token_hits(token: str) -> tuple[tuple[int, int], ...]:
    """(pattern index, matches) of the class-name patterns found in one class/id token,
    cached across pages (templates repeat their names)."""
    token = token.lower()
    if not _ANY_CLASS_TOKEN.search(token):
        return ()
    counts = ((i, len(_CLASS_TOKENS[name].findall(token))) for i, name in enumerate(_CLASS_NAMES))
    return tuple((i, n) for i, n in counts if n)


_YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)")


def _count_dates(text: str) -> int:
    """Matches of _DATE_TEXT in lowercased text, searched only around four-digit numbers
    (every form it knows has one), which is most of its cost saved on long pages."""
    spans: list[list[int]] = []
    for m in _YEAR.finditer(text):
        start, end = max(0, m.start() - 30), m.end() + 7
        if spans and start <= spans[-1][1]:
            spans[-1][1] = end
        else:
            spans.append([start, end])
    return sum(len(_DATE_TEXT.findall(text, start, end)) for start, end in spans)


def _ld_types(tree: etree._Element) -> tuple[set[str], str]:
    types: set[str] = set()
    texts = []
    for script in tree.iter("script"):
        if "ld+json" not in (script.get("type") or "").lower() or not script.text:
            continue
        texts.append(script.text)
        for m in _LD_TYPE.finditer(script.text):
            for t in re.findall(r'"([^"]+)"', m.group(1)):
                types.add(t.rsplit("/", 1)[-1].lower())
    for value in tree.xpath("//@itemtype"):
        for t in value.split():
            types.add(t.rstrip("/").rsplit("/", 1)[-1].lower())
    return types, "\n".join(texts)


def _log(x: float) -> float:
    return math.log1p(max(0.0, x))


def _median(values: list[int]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return float(ordered[len(ordered) // 2])


def _words(text: str | None) -> int:
    return len(_WORD.findall(text or ""))


def page_features(tree: etree._Element, url: str, words: set[str] | None = None) -> dict[str, float]:
    """The measurements :func:`classify_page` weighs, by name (all numbers).

    ``words`` receives the page's words the model's word weights are for (class and id
    names, title and URL words, schema.org types, meta names); ``"words"`` is their score.
    """
    words = set() if words is None else words
    types, ld_text = _ld_types(tree)
    head = tree.find("head")
    metas: dict[str, str] = {}
    for meta in (head if head is not None else tree).iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if key and key not in metas:
            metas[key] = (meta.get("content") or "").lower()
    og = metas.get("og:type", "")
    published_meta = bool(
        any("published_time" in k for k in metas) or {"datepublished", "pubdate", "publish-date", "date"} & metas.keys()
        or tree.xpath("//*[@itemprop='datePublished']"))
    rels = " ".join(link.get("rel") or "" for link in tree.iter("link")).lower().split()
    title_el = tree.find(".//title")
    title = (title_el.text_content() if title_el is not None else "") or ""

    body = tree.find("body")
    if body is None:
        body = tree
    total = link_chars = p_chars = p_link = long_p = short_p = furniture_chars = li_chars = 0
    n_links = n_li = n_pre = n_articles = n_h1 = n_heading_links = n_time = n_img = n_input = 0
    n_h23 = n_table = n_textarea = n_password = n_search = n_form = n_button = n_elements = 0
    n_blockquote = n_figure = n_h2 = 0
    sentences = 0
    p_words: list[int] = []
    parent_p: dict[etree._Element, int] = {}
    chars_at_h1 = chars_at_long_p = -1
    cards = card_groups = 0
    class_hits = [0] * len(_CLASS_NAMES)
    h1_el = None
    # document order: children pushed in reverse; (element, inside a link, inside furniture, inside li)
    stack: list[tuple[etree._Element, bool, bool, bool]] = [(body, False, False, False)]
    while stack:
        el, in_link, in_furniture, in_li = stack.pop()
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in _SKIP or not tag:
            continue
        n_elements += 1
        for attr in ("class", "id"):
            value = el.get(attr)
            if value:
                for token in value.split():
                    if len(token) <= 40:
                        words.add("c:" + token.lower())
                    for i, n in _token_hits(token):
                        class_hits[i] += n
        if tag == "a":
            n_links += 1
            in_link = True
        elif tag == "li":
            n_li += 1
            in_li = True
        elif tag == "p":
            pass
        elif tag in ("pre", "code"):
            n_pre += 1
        elif tag == "article":
            n_articles += 1
        elif tag == "h1":
            n_h1 += 1
            if h1_el is None:
                h1_el = el
                chars_at_h1 = total
        elif tag in ("h2", "h3", "h4"):
            n_h23 += 1
            n_h2 += tag == "h2"
            if el.find(".//a") is not None or (el.getparent() is not None and el.getparent().tag == "a"):
                n_heading_links += 1
        elif tag == "time":
            n_time += 1
        elif tag == "img":
            n_img += 1
        elif tag in ("input", "select"):
            n_input += 1
            kind = (el.get("type") or "").lower()
            if kind == "password":
                n_password += 1
            elif kind == "search" or (el.get("name") or "") in ("q", "s", "search", "query"):
                n_search += 1
        elif tag == "textarea":
            n_textarea += 1
        elif tag == "table":
            n_table += 1
        elif tag == "form":
            n_form += 1
        elif tag == "button":
            n_button += 1
        elif tag == "blockquote":
            n_blockquote += 1
        elif tag == "figure":
            n_figure += 1
        furniture = in_furniture or tag in _FURNITURE
        if tag == "p" and not furniture:
            text = el.text_content()
            length = len(text.strip())
            p_chars += length
            n_words = len(_WORD.findall(text))
            if n_words:
                p_words.append(n_words)
            if n_words >= 25:
                long_p += 1
                sentences += text.count(". ") + 1
                if chars_at_long_p < 0:
                    chars_at_long_p = total
            elif n_words > 0:
                short_p += 1
            parent = el.getparent()
            parent_p[parent] = parent_p.get(parent, 0) + length
            p_link += sum(len(a.text_content()) for a in el.iter("a"))
        if el.text:
            n = len(el.text.strip())
            total += n
            if in_link:
                link_chars += n
            if furniture:
                furniture_chars += n
            if in_li:
                li_chars += n
        children = list(el)
        if len(children) >= 4:
            groups: dict[tuple, int] = {}
            for child in children:
                ctag = child.tag
                if ctag in _CARD_TAGS:
                    key = (ctag, child.get("class"))
                    groups[key] = groups.get(key, 0) + 1
            if groups:
                biggest = max(groups.values())
                if biggest >= 4:
                    card_groups += 1
                    cards = max(cards, biggest)
        for child in children:
            if child.tail:
                n = len(child.tail.strip())
                total += n
                if in_link:
                    link_chars += n
                if furniture:
                    furniture_chars += n
                if in_li:
                    li_chars += n
        for child in reversed(children):
            stack.append((child, in_link, furniture, in_li))

    # A dated headline: a date written close to the (first) h1.
    dated_h1 = 0.0
    h1_words = 0
    h1_in_title = 0.0
    if h1_el is not None:
        h1_text = h1_el.text_content()
        h1_words = _words(h1_text)
        probe = " ".join(h1_text.split())[:40].lower()
        h1_in_title = float(bool(probe) and probe in " ".join(title.split()).lower())
        node = h1_el
        for _ in range(3):
            parent = node.getparent()
            if parent is None:
                break
            node = parent
            text = node.text_content()
            if len(text) > 3000:
                break
            if _DATE_TEXT.search(text.lower()) or node.find(".//time") is not None:
                dated_h1 = 1.0
                break

    class_counts = dict(zip(_CLASS_NAMES, class_hits))
    body_class = (body.get("class") or "").lower()

    byline = 1.0 if class_counts["cls_byline"] or tree.xpath(
        "//*[@rel='author']|//meta[@name='author' or @property='article:author']") else 0.0
    visible = max(total, 1)
    raw_text = (body.text_content() if len(tree) else "")[:_TEXT_SCAN]
    low_text = raw_text.lower()
    n_dates = _count_dates(low_text)
    main_block = max(parent_p.values()) if parent_p else 0
    parts = urlsplit(url)
    path = parts.path or "/"
    segments = [s for s in path.split("/") if s]
    last = segments[-1] if segments else ""
    dirs = {s.lower() for s in segments[:-1]}
    slug_words = len(_SPLIT_SLUG.split(last.rsplit(".", 1)[0])) if last else 0
    long_words = [w for w in p_words if w >= 25]
    slug_tokens = [t.lower() for t in _SPLIT_SLUG.split(last.rsplit(".", 1)[0])] if last else []
    title_tokens = [t.lower() for t in _WORD.findall(title)]
    headline = (h1_el.text_content() if h1_el is not None else "") or title
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    words.update("t:" + t for t in title_tokens if len(t) > 1)
    words.update("u:" + ("#" if t.isdigit() else t) for t in _URL_WORD.findall(path.lower()))
    words.update("ld:" + t for t in types)
    words.update("m:" + k for k in metas if len(k) <= 40)
    words.add("og:" + og)
    return {
        "words": word_score(words),
        "ld_article": float(bool(types & _ARTICLE_TYPES)),
        "ld_product": float(bool(types & _PRODUCT_TYPES)),
        "ld_list": float(bool(types & _LIST_TYPES)),
        "ld_forum": float(bool(types & _FORUM_TYPES)),
        "ld_service": float(bool(types & _SERVICE_TYPES)),
        "ld_doc": float(bool(types & _DOC_TYPES)),
        "ld_webpage_only": float(bool(types) and not types & _ARTICLE_TYPES and "webpage" in types),
        "ld_breadcrumb": float("breadcrumblist" in types),
        **{name: float(bool(pattern.search(ld_text))) for name, pattern in _LD_KEYS.items()},
        "og_article": float("article" in og),
        "og_product": float("product" in og),
        "og_website": float("website" in og),
        "og_any": float(bool(og)),
        "published_meta": float(published_meta),
        "modified_meta": float(any("modified_time" in k for k in metas) or "datemodified" in metas),
        "section_meta": float("article:section" in metas or "article:tag" in metas),
        "description_words": _log(_words(metas.get("description") or metas.get("og:description"))),
        "rel_amp": float("amphtml" in rels),
        "rel_next": float("next" in rels or "prev" in rels),
        "rel_shortlink": float("shortlink" in rels),
        "title_words": float(min(_words(title), 40)),
        "h1_words": float(min(h1_words, 40)),
        "h1_in_title": h1_in_title,
        "h1_pos": (chars_at_h1 / visible) if chars_at_h1 >= 0 else 1.0,
        "long_p_pos": (chars_at_long_p / visible) if chars_at_long_p >= 0 else 1.0,
        "h1_then_text": float(0 <= chars_at_h1 <= chars_at_long_p),
        "dated_h1": dated_h1,
        "byline": byline,
        "h1": float(min(n_h1, 3)),
        "long_p": _log(long_p),
        "short_p": _log(short_p),
        "p_chars": _log(p_chars) / 10,
        "p_share": p_chars / visible,
        "p_median_words": _log(_median(p_words)),
        "p_long_share": len(long_words) / max(len(p_words), 1),
        "p_max_words": _log(max(p_words, default=0)),
        "main_block_share": main_block / visible,
        "main_block_of_p": main_block / max(p_chars, 1),
        "main_block_chars": _log(main_block),
        "sentences": _log(sentences),
        "link_density": link_chars / visible,
        "p_link_density": p_link / max(p_chars, 1),
        "furniture_share": furniture_chars / visible,
        "li_share": li_chars / visible,
        "chars_per_element": _log(visible / max(n_elements, 1)),
        "text_chars": _log(visible) / 10,
        "text_total": float(total),
        "links": _log(n_links),
        "links_per_kchar": n_links / (visible / 1000 + 1),
        "li": _log(n_li),
        "pre": _log(n_pre),
        "articles": _log(n_articles),
        "heading_links": _log(n_heading_links),
        "headings": _log(n_h23),
        "headings_per_long_p": n_h23 / (long_p + 1),
        "cards": _log(cards),
        "card_groups": _log(card_groups),
        "times": _log(n_time),
        "imgs": _log(n_img),
        "inputs": _log(n_input),
        "password": float(n_password > 0),
        "search_box": float(n_search > 0),
        "textareas": _log(n_textarea),
        "tables": _log(n_table),
        "blockquotes": _log(n_blockquote),
        "figures": _log(n_figure),
        "prices": _log(len(_PRICE.findall(low_text))),
        "cart": float(bool(_CART.search(low_text))),
        "forum_words": _log(len(_FORUM.findall(low_text))),
        "cta": _log(len(_CTA.findall(low_text))),
        "reply_counts": _log(len(_REPLY_COUNT.findall(low_text))),
        "service_words": _log(len(_FIRST_PERSON_SERVICE.findall(low_text))),
        "article_words": _log(len(_ARTICLE_WORDS.findall(low_text)) + len(_BY_NAME.findall(raw_text))),
        "doc_words": _log(len(_DOC_WORDS.findall(low_text))),
        "dates": _log(n_dates),
        "one_date": float(n_dates == 1 or n_time == 1),
        "forms": _log(n_form),
        "buttons": _log(n_button),
        "h2": _log(n_h2),
        **{name: float(bool(pattern.search(body_class))) for name, pattern in _BODY_CLASS.items()},
        **{name: _log(n) for name, n in class_counts.items()},
        "url_date": float(bool(_URL_DATE.search(path))),
        "url_depth": float(min(len(segments), 6)),
        "url_slug_words": float(min(slug_words, 12)),
        "url_last_len": float(min(len(last), 120)) / 10,
        "url_root": float(not segments),
        "url_list": float(bool(_URL_LIST.search(path))),
        "url_product": float(bool(_URL_PRODUCT.search(path))),
        "url_doc": float(bool(_URL_DOC.search(url))),
        "url_forum": float(bool(_URL_FORUM.search(path))),
        "url_query": float(bool(parts.query)),
        "url_numeric_id": float(bool(re.search(r"\d{4,}", last))),
        "url_ext": float(bool(re.search(r"\.(?:s?html?|php|aspx?|jsp)$", last, re.IGNORECASE))),
        "url_slash": float(path.endswith("/")),
        **{name: float(bool(dirs & words)) for name, words in _URL_WORDS.items()},
        **{name: float(bool(pattern.search(host))) for name, pattern in _HOST_KIND.items()},
        "url_forum_any": float(bool(_URL_FORUM_ANY.search(path) or _URL_FORUM_ANY.search(parts.query))),
        "slug_stop_words": float(min(sum(t in _STOP_WORDS for t in slug_tokens), 6)),
        "title_stop_share": sum(t in _STOP_WORDS for t in title_tokens) / max(len(title_tokens), 1),
        "title_ask": float(bool(_TITLE_ASK.search(headline.strip()))),
        "title_list": float(bool(_TITLE_LIST.search(headline.strip()))),
        "title_service": float(bool(_TITLE_SERVICE.search(title))),
        "title_digits": float(bool(re.search(r"\d", title))),
    }


# Gradient-boosted trees over page_features, fitted by bench/classify_fit.py on the tuning
# part of wcxb-dev; each tree is [feature, threshold, left, right] or a leaf value.
_MODEL_FILE = "classify_model.json"
_THRESHOLD = 0.5
# Below this much visible text the trees do not judge: the benchmark they were fitted on
# has next to no article that small, so they never learned such pages (they called bare
# section fronts of a few teasers articles, and three-paragraph news briefs not). There a
# page is an article when it is built like one: a dated headline over unlinked paragraphs.
SMALL_PAGE_CHARS = 1000


@lru_cache(maxsize=1)
def _model_data() -> dict:
    return json.loads(resources.files("crawler").joinpath(_MODEL_FILE).read_text(encoding="utf-8"))


def _model() -> tuple[float, list, float]:
    data = _model_data()
    return float(data["rate"]), data["trees"], float(data.get("threshold", _THRESHOLD))


def word_score(words: set[str]) -> float:
    """The model's word weights summed over a page's words (a logistic regression's margin)."""
    weights = _words_model()
    if not weights:
        return 0.0
    return weights.get("", 0.0) + sum(weights.get(w, 0.0) for w in words)


def _words_model() -> dict[str, float]:
    return _model_data().get("words", {})


def article_probability(features: dict[str, float]) -> float:
    """The model's probability that a page with these features is an article."""
    rate, trees, _ = _model()
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
    if f["ld_forum"] or f["url_forum"] or f["host_forum"]:
        return "forum"
    if f["ld_doc"] or f["url_doc"] or f["host_docs"] or f["pre"] > 1.5:
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
    if features["text_total"] >= SMALL_PAGE_CHARS:
        return "article" if article_probability(features) >= _model()[2] else _kind(features)
    if _small_article(features):
        return "article"
    if features["one_date"] and article_probability(features) >= _model()[2]:
        # shaped like an article, one date, too little text to be sure: a doubtful brief,
        # which the crawl still takes when its URL has the shape of the site's articles
        return "other"
    return _kind(features)


def _small_article(f: dict[str, float]) -> bool:
    """A small page built like a news brief: one dated headline over two or more paragraphs
    of unlinked text, nothing of a shop."""
    paragraphs = math.expm1(f["short_p"]) + math.expm1(f["long_p"])
    return bool(f["dated_h1"] and f["h1"] == 1 and paragraphs >= 1.5 and f["link_density"] < 0.35
                and f["p_link_density"] < 0.1 and not (f["cart"] or f["ld_product"] or f["og_product"]))
