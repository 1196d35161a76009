"""Syndicated variants and hard negatives, for testing near-duplicate detection.

``SampleSite(..., syndicated=K, source=other_site)`` republishes K stories of ``other_site``
(or of itself when no source is given) the way a partner outlet does: a new headline, its
own dateline and attribution lines around the text, and, depending on the edit level, a
sentence rewritten and a sentence or the last paragraph cut. These pages use the partner's own
article template (different markup, different chrome). Each variant is labelled with the
path of its original in :meth:`Syndication.labels`.

The same call adds K hard negatives: the outlet's own reports that share a lot with an
original without being a copy of it: ``same-event`` (same city, event and officials,
independently written from the same templates) and ``same-template`` (same event type and
topic in another city). The generator's shared templates and vocabulary make these the real
test of a detector's precision.
"""

from __future__ import annotations

import dataclasses
import random
import re
from dataclasses import dataclass, field
from datetime import timedelta

from . import textgen, timefmt
from . import vocab_ru as ru
from .catalog import Entry
from .pages import esc

OUTLET_NAME = "Деловой вестник"
OUTLET_BRAND = "DelVestnik.kz"
# Edit levels, assigned in turn: what a partner outlet typically does to a story it takes.
LEVELS = ("light", "medium", "heavy")
NEGATIVE_KINDS = ("same-event", "same-template")

_SENTENCE_END = re.compile(r"(?<=[.!?»])\s+(?=[А-ЯЁA-Z«])")

# Lines a republishing outlet adds around a story (written for this project).
_ATTRIBUTIONS = (
    "Источник: «{source}».",
    "По материалам «{source}».",
    "Материал подготовлен по сообщению «{source}».",
)
_CALLS = (
    "Подписывайтесь на наш канал в Telegram, чтобы первыми узнавать главные новости региона.",
    "Еще больше новостей – в нашем Instagram и на YouTube-канале редакции.",
    "Если вы стали свидетелем интересного события, напишите нам в WhatsApp.",
)


@dataclass(frozen=True, slots=True)
class Variant:
    """A republished copy: ``path`` on this site, ``original`` where the story first appeared."""

    path: str
    original: Entry
    level: str
    seed: int


@dataclass(frozen=True, slots=True)
class Negative:
    """An own story that looks like ``original`` without being a copy of it."""

    path: str
    original: Entry
    kind: str


@dataclass
class Syndication:
    """The syndicated pages of one site and their labels."""

    variants: dict[str, Variant] = field(default_factory=dict)
    negatives: dict[str, Negative] = field(default_factory=dict)
    from_source: bool = False  # originals are on another site (True) or on this one

    def labels(self) -> list[dict]:
        """One dict per labelled page: path, label (``variant`` or ``negative``), original
        (path of the first publication), original_site (``source`` or ``self``), level or kind."""
        where = "source" if self.from_source else "self"
        out = [{"path": v.path, "label": "variant", "original": v.original.path, "original_site": where,
                "level": v.level} for v in self.variants.values()]
        out += [{"path": n.path, "label": "negative", "original": n.original.path, "original_site": where,
                 "kind": n.kind} for n in self.negatives.values()]
        return sorted(out, key=lambda d: d["path"])


def originals(entries: list[Entry]) -> list[Entry]:
    """Stories worth republishing: ordinary Russian articles with generated text."""
    return [e for e in entries if e.kind == "article" and e.lang == "ru" and e.story is not None
            and e.bad is None and not e.example]


def build(k: int, seed: int, candidates: list[Entry], unique_slug, from_source: bool) -> tuple[list[Entry], Syndication]:
    """K variants and K hard negatives of stories picked from ``candidates``.

    ``unique_slug(title)`` reserves a slug on the site being built. Returns the new entries
    and their labels; a story may be republished more than once when K exceeds the pool.
    """
    syn = Syndication(from_source=from_source)
    pool = list(candidates)
    if k <= 0 or not pool:
        return [], syn
    random.Random(f"samplesite:{seed}:syndicate-pick").shuffle(pool)
    entries: list[Entry] = []
    for i in range(k):
        original = pool[i % len(pool)]
        rng = random.Random(f"samplesite:{seed}:syndicated:{i}")
        entry = _variant_entry(original, rng, unique_slug)
        syn.variants[entry.path] = Variant(entry.path, original, LEVELS[i % len(LEVELS)], rng.getrandbits(48))
        entries.append(entry)
        # Negatives look at a different story than the variant with the same index.
        target = pool[(i + k // 2 + 1) % len(pool)]
        rng = random.Random(f"samplesite:{seed}:negative:{i}")
        kind = NEGATIVE_KINDS[i % len(NEGATIVE_KINDS)]
        entry = _negative_entry(target, kind, rng, unique_slug)
        syn.negatives[entry.path] = Negative(entry.path, target, kind)
        entries.append(entry)
    return entries, syn


def _later(original: Entry, rng: random.Random, lo_min: int, hi_min: int):
    assert original.when is not None
    when = original.when + timedelta(minutes=rng.randint(lo_min, hi_min))
    return timefmt.local(when.replace(tzinfo=None))


def _new_title(story: textgen.Story, rng: random.Random, avoid: str | None) -> str:
    title = textgen.ru_title(story, rng)
    for _ in range(5):
        if title != avoid:
            break
        title = textgen.ru_title(story, rng)
    return title


def _variant_entry(original: Entry, rng: random.Random, unique_slug) -> Entry:
    assert original.story is not None
    title = _new_title(original.story, rng, original.title)
    when = _later(original, rng, 20, 36 * 60)  # republished within a day and a half
    slug = unique_slug(title)
    return Entry(
        path=f"/n/{slug}/", kind="syndicated", slug=slug, title=title, when=when, published=when,
        published_raw=timefmt.ru_visible(when), lastmod=when, story=original.story,
        body_seed=original.body_seed, n_paras=original.n_paras, photo=original.photo,
        tags=original.tags, author=None, views=rng.randint(40, 3000),
    )


def _negative_entry(original: Entry, kind: str, rng: random.Random, unique_slug) -> Entry:
    assert original.story is not None
    story = original.story
    d = textgen.Draw(rng)
    if kind == "same-template":
        city = (story.city + 1 + d.below(len(ru.CITIES) - 1)) % len(ru.CITIES)
        story = dataclasses.replace(story, city=city, person=textgen.make_person(rng, d))
    title = _new_title(story, rng, original.title)
    when = _later(original, rng, 10, 3 * 24 * 60)
    slug = unique_slug(title)
    return Entry(
        path=f"/n/{slug}/", kind="article", slug=slug, title=title, when=when, published=when,
        published_raw=timefmt.ru_visible(when), lastmod=when, story=story, body_seed=rng.getrandbits(48),
        n_paras=3 + d.below(8), photo=d.chance(0.4), tags=original.tags,
        author=textgen.make_person(rng, d).name(), views=150 + d.below(25000),
    )


# -- the variant's text ---------------------------------------------------------------------

def _sentences(paragraph: str) -> list[str]:
    return _SENTENCE_END.split(paragraph)


def _editable(paras: list[str]) -> list[int]:
    # Quotes are kept verbatim by republishers; the lead is handled separately.
    return [i for i, p in enumerate(paras) if i > 0 and not p.startswith("«") and not p.startswith("Фото:")]


def _rewrite_sentence(paras: list[str], story: textgen.Story, rng: random.Random) -> None:
    """Replace one sentence of a body paragraph (the lead when there is none) with a new one."""
    where = _editable(paras) or [0]
    i = where[rng.randrange(len(where))]
    sentences = _sentences(paras[i])
    j = rng.randrange(len(sentences))
    slots = textgen.ru_slots(story, rng)
    for _ in range(8):
        fresh = textgen.cap(slots.fill(rng.choice(ru.SENTENCES)))
        if fresh not in paras[i]:
            break
    sentences[j] = fresh
    paras[i] = " ".join(sentences)


def _drop_sentence(paras: list[str], rng: random.Random) -> None:
    """Delete one sentence of a body paragraph that has more than one."""
    where = [i for i in _editable(paras) if len(_sentences(paras[i])) > 1]
    if not where:
        return
    i = where[rng.randrange(len(where))]
    sentences = _sentences(paras[i])
    del sentences[rng.randrange(len(sentences))]
    paras[i] = " ".join(sentences)


def variant_paragraphs(v: Variant) -> list[str]:
    """The republished text: the original's paragraphs with the outlet's edits."""
    o = v.original
    assert o.story is not None
    paras = textgen.ru_paragraphs(o.story, o.body_seed, o.n_paras, o.photo)
    rng = random.Random(f"syndicate-body:{v.seed}")
    if o.photo:
        del paras[1]  # the photo credit belongs to the original's picture
    city = ru.CITIES[o.story.city].nom
    paras[0] = f"{city.upper()}. {OUTLET_BRAND} – {paras[0]}"
    if v.level in ("medium", "heavy"):
        _rewrite_sentence(paras, o.story, rng)
    if v.level == "heavy":
        # Trimmed to fit: a long story loses its last paragraph, a short one a sentence.
        if len(paras) >= 6:
            del paras[-1]
        else:
            _drop_sentence(paras, rng)
    paras.append(rng.choice(_ATTRIBUTIONS).format(source=ru.SITE_NAME))
    if rng.random() < 0.5:
        paras.append(rng.choice(_CALLS))
    return paras


# -- the partner's article template ----------------------------------------------------------

def article_page(e: Entry, v: Variant, base: str) -> str:
    """A syndicated article in the partner outlet's own markup (not the source's CMS)."""
    assert e.when is not None and e.title is not None
    canonical = f"{base}{e.path}"
    paras = variant_paragraphs(v)
    desc = textgen.lead_sentence(paras)
    body = "\n".join(f"<p>{esc(p)}</p>" for p in paras)
    nav = " | ".join(f'<a href="{base}/{href}">{esc(label)}</a>'
                     for href, label in (("", "Главная"), ("news/", "Лента"), ("about/", "О нас")))
    return f"""<!DOCTYPE html>
<html lang="ru">
<head>
<meta charset="utf-8">
<title>{esc(e.title)} – {esc(OUTLET_NAME)}</title>
<meta name="description" content="{esc(desc)}">
<meta property="og:title" content="{esc(e.title)}">
<meta property="og:type" content="article">
<meta property="article:published_time" content="{timefmt.w3c(e.when)}">
<link rel="canonical" href="{canonical}">
</head>
<body>
<div class="topbar"><span class="topbar__brand">{esc(OUTLET_NAME)}</span> <nav>{nav}</nav>
<span class="topbar__weather">Астана +12°</span> <span class="topbar__rates">USD 470,15 EUR 512,40</span></div>
<div class="layout">
<div class="content">
<h1 class="news-title">{esc(e.title)}</h1>
<div class="news-info"><time datetime="{timefmt.w3c(e.when)}">{esc(e.published_raw or "")}</time></div>
<div class="news-text">
{body}
</div>
</div>
<aside class="sidebar"><h3>Популярное</h3><ul><li>Курсы валют на сегодня</li><li>Погода на выходные</li></ul></aside>
</div>
<footer class="site-footer"><p>© {esc(OUTLET_NAME)}. Перепечатка материалов разрешена со ссылкой на источник.</p></footer>
</body>
</html>
"""
