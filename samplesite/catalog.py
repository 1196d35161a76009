"""The sample site's page index: small metadata per URL, built once per SampleSite.

Bodies are not stored here; pages render them on request from ``Entry.story`` and
``Entry.body_seed`` (see :mod:`samplesite.textgen`).
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import textgen, timefmt
from . import vocab_ru as ru
from .example import EXAMPLE_SLUG, load_example

START = datetime(2019, 1, 1, 0, 0)
END = datetime(2026, 11, 30, 23, 59)
_SPAN_MIN = int((END - START).total_seconds() // 60)

# Hours of publication: mostly office hours, a few night posts (kazpravda has «1:40»).
_HOURS = tuple(range(8, 22)) * 4 + tuple(range(0, 8)) + (22, 23)

TAG_NAMES = {slug: name for slug, name, _ in ru.TAGS}
TAG_NAMES_KK = {slug: name for slug, _, name in ru.TAGS}

# Bad inputs: (key, expected outcome, short error for the expected failure, note)
BAD_PAGES: tuple[tuple[str, str, str | None, str], ...] = (
    ("cp1251", "stored", None, "windows-1251 bytes, charset declared only in <meta http-equiv>"),
    ("broken", "stored", None, "broken HTML: unclosed tags and a stray </div>"),
    ("nodate", "stored", None, "visible date is «дата уточняется»: no publication date"),
    ("empty", "error", "empty body", "HTTP 200 with an empty body"),
    ("pdf", "error", "not html: application/pdf", "a PDF served at an article URL"),
    ("404", "error", "http 404", "article URL answers 404"),
    ("500", "error", "http 500", "article URL answers 500"),
)


@dataclass(slots=True)
class Entry:
    """One URL of the site that sitemaps list, with what the crawler should make of it."""

    path: str
    kind: str  # article | duplicate | translation | syndicated | nonarticle | bad
    lang: str = "ru"
    slug: str | None = None
    title: str | None = None
    when: datetime | None = None  # when the page appeared (orders sitemaps; lastmod base)
    published: datetime | None = None  # None when the page shows no usable date
    published_raw: str | None = None
    lastmod: datetime | None = None
    story: textgen.Story | None = None
    body_seed: int = 0
    n_paras: int = 0
    photo: bool = False
    teaser: bool = False
    jsonld: bool = False
    meta_time: bool = False
    tags: tuple[str, ...] = ()
    author: str | None = None
    views: int = 0
    duplicate_of: str | None = None
    translation_of: str | None = None
    kk_path: str | None = None
    bad: str | None = None
    expected: str = "stored"
    error: str | None = None
    note: str | None = None
    example: bool = False
    pos: int = 0  # index into Catalog.readable, for picking neighbours

    @property
    def has_text(self) -> bool:
        return self.kind in ("article", "duplicate", "translation", "syndicated") or self.bad in ("cp1251", "broken", "nodate")


def _time_at(rng: random.Random, frac: float) -> datetime:
    day = START + timedelta(minutes=int(_SPAN_MIN * frac))
    d = textgen.Draw(rng)
    naive = day.replace(hour=_HOURS[d.below(len(_HOURS))], minute=d.below(60))
    return timefmt.local(naive)


def _tags_for(story: textgen.Story, d: textgen.Draw) -> tuple[str, ...]:
    tags = list(ru.TOPICS[story.topic].tags)
    if story.city > 2 and "regiony" not in tags and d.chance(0.5):
        tags.append("regiony")
    return tuple(tags)


class Catalog:
    """Every URL of a SampleSite with the metadata needed to render and to judge it."""

    def __init__(self, n_articles: int, seed: int, syndicated: int = 0, source: "Catalog | None" = None):
        if n_articles < 0:
            raise ValueError("n_articles must be >= 0")
        self.n_articles = n_articles
        self.seed = seed
        self._slugs: set[str] = {EXAMPLE_SLUG}
        content: list[Entry] = []
        ordinary: list[Entry] = []
        for i in range(n_articles):
            rng = random.Random(f"samplesite:{seed}:article:{i}")
            when = _time_at(rng, (i + rng.uniform(0.05, 0.95)) / n_articles)
            entry = self._story_entry(rng, when, "article")
            ordinary.append(entry)
            content.append(entry)
            if rng.random() < 0.25:
                content.append(self._kk_edition(entry, rng))
        content.append(self._example_entry())
        self.duplicates: dict[str, str] = {}  # original path -> republished copy's path
        if ordinary:
            original = ordinary[len(ordinary) // 2]
            dup = self._duplicate(original)
            self.duplicates[original.path] = dup.path
            content.append(dup)
        for k, (key, expected, error, note) in enumerate(BAD_PAGES):
            rng = random.Random(f"samplesite:{seed}:bad:{key}")
            when = _time_at(rng, (2 * k + 1) / (2 * len(BAD_PAGES)))
            entry = self._story_entry(rng, when, "bad")
            entry.bad, entry.expected, entry.error, entry.note = key, expected, error, note
            entry.jsonld = entry.meta_time = False
            if key == "nodate":
                entry.published, entry.published_raw = None, "дата уточняется"
            if expected == "error":
                # Title and date stay in the index for listings; truth() reports them as None.
                entry.teaser = False
            content.append(entry)
        # Opt-in, added last: a site without syndicated pages is byte-for-byte what it was.
        from .syndicate import Syndication, build, originals
        self.syndication = Syndication()
        if syndicated:
            pool = originals(source.entries if source is not None else ordinary)
            extra, self.syndication = build(syndicated, seed, pool, self._unique_slug, source is not None)
            content += extra
        content.sort(key=lambda e: (e.when, e.path))

        nonarticles = [Entry("/about/", "nonarticle", title="О редакции"),
                       Entry("/contacts/", "nonarticle", title="Контакты")]
        nonarticles += [Entry(f"/tags/{slug}/", "nonarticle", title=name) for slug, name, _ in ru.TAGS]
        latest = content[-1].when if content else timefmt.local(END)
        for e in nonarticles:
            e.expected, e.lastmod, e.when = "skipped", latest, latest

        self.entries: list[Entry] = nonarticles + content
        self.by_path: dict[str, Entry] = {e.path: e for e in self.entries}
        # Russian pages with text, oldest first: feeds, related links and teasers draw on these.
        self.readable: list[Entry] = [e for e in content if e.lang == "ru" and e.kind in ("article", "duplicate")]
        for pos, e in enumerate(self.readable):
            e.pos = pos
        self._readable_times = [e.when for e in self.readable]
        for e in content:
            if e.lang != "ru" or e.kind not in ("article", "duplicate"):
                e.pos = max(0, bisect.bisect_left(self._readable_times, e.when) - 1)
        self.listed: list[Entry] = [e for e in reversed(content) if e.lang == "ru"]  # newest first
        self.kk: list[Entry] = [e for e in reversed(content) if e.lang == "kk"]
        for pos, e in enumerate(self.kk):
            e.pos = pos  # Kazakh pages link to Kazakh neighbours
        self.by_tag: dict[str, list[Entry]] = {slug: [] for slug, _, _ in ru.TAGS}
        for e in reversed(self.readable):
            for t in e.tags:
                self.by_tag[t].append(e)
        self.chunk_size = max(20, min(1000, math.ceil(len(self.entries) / 4)))
        self.n_chunks = max(1, math.ceil(len(self.entries) / self.chunk_size))
        self.gz_chunk = 2 if self.n_chunks >= 2 else 1

    # -- building ----------------------------------------------------------------------

    def _unique_slug(self, title: str) -> str:
        base = textgen.slugify(title)
        slug, k = base, 2
        while slug in self._slugs:
            slug, k = f"{base}-{k}", k + 1
        self._slugs.add(slug)
        return slug

    def _story_entry(self, rng: random.Random, when: datetime, kind: str) -> Entry:
        story = textgen.make_story(rng, when.year)
        title = textgen.ru_title(story, rng)
        d = textgen.Draw(rng)
        # Some headlines were edited after publication: the slug keeps the first wording.
        slug_title = textgen.ru_title(story, rng) if d.chance(0.1) else title
        slug = self._unique_slug(slug_title)
        n_paras = 3 + d.below(8)
        lastmod = when + timedelta(hours=1 + d.below(48)) if d.chance(0.2) else when
        return Entry(
            path=f"/n/{slug}/", kind=kind, slug=slug, title=title, when=when, published=when,
            published_raw=timefmt.ru_visible(when), lastmod=lastmod, story=story,
            body_seed=rng.getrandbits(48), n_paras=n_paras, photo=d.chance(0.4),
            teaser=n_paras >= 4 and d.chance(0.3), jsonld=d.chance(0.15),
            meta_time=d.chance(0.10), tags=_tags_for(story, d),
            author=textgen.make_person(rng, d).name(), views=150 + d.below(25000),
        )

    def _kk_edition(self, ru_entry: Entry, rng: random.Random) -> Entry:
        assert ru_entry.story is not None and ru_entry.when is not None
        kk_path = f"/kz/n/{ru_entry.slug}/"
        ru_entry.kk_path = kk_path
        return Entry(
            path=kk_path, kind="translation", lang="kk", slug=ru_entry.slug,
            title=textgen.kk_title(ru_entry.story, rng), when=ru_entry.when, published=ru_entry.when,
            published_raw=timefmt.kk_visible(ru_entry.when), lastmod=ru_entry.lastmod, story=ru_entry.story,
            body_seed=ru_entry.body_seed, n_paras=rng.randint(3, 6), photo=ru_entry.photo,
            tags=ru_entry.tags, author=ru_entry.author, views=rng.randint(50, 4000),
            translation_of=ru_entry.path,
        )

    def _example_entry(self) -> Entry:
        ex = load_example()
        y, m, d = (int(x) for x in ex.day.split("-"))
        when = timefmt.local(datetime(y, m, d, 14, 5))
        rng = random.Random(f"samplesite:{self.seed}:example")
        return Entry(
            path=f"/n/{EXAMPLE_SLUG}/", kind="article", slug=EXAMPLE_SLUG, title=ex.title, when=when,
            published=when, published_raw=timefmt.ru_visible(when), lastmod=when + timedelta(hours=2),
            n_paras=len(ex.paragraphs), tags=("obshchestvo", "regiony", "pravo"),
            author=textgen.make_person(rng).name(), views=rng.randint(300, 3000), example=True,
        )

    def _duplicate(self, original: Entry) -> Entry:
        assert original.when is not None
        rng = random.Random(f"samplesite:{self.seed}:duplicate")
        when = original.when + timedelta(hours=rng.randint(3, 30))
        when = timefmt.local(when.replace(tzinfo=None))
        slug = self._unique_slug(f"{original.slug}-{rng.randint(2, 9)}")
        return Entry(
            path=f"/n/{slug}/", kind="duplicate", slug=slug, title=original.title, when=when, published=when,
            published_raw=timefmt.ru_visible(when), lastmod=when, story=original.story,
            body_seed=original.body_seed, n_paras=original.n_paras, photo=original.photo,
            teaser=original.teaser, tags=original.tags, author=original.author,
            views=rng.randint(50, 900), duplicate_of=original.path,
        )

    # -- queries -----------------------------------------------------------------------

    def neighbours(self, entry: Entry, k: int, skip: set[str] | None = None) -> list[Entry]:
        """Up to k other readable pages published around the entry (stable per entry)."""
        # A story and its republished copy never point at each other.
        skip = set(skip or ()) | {entry.path, entry.duplicate_of or "", self.duplicates.get(entry.path, "")}
        out: list[Entry] = []
        for step in (1, 2, 3, 5, 8, 13, -1, -2, -4, 21, 34):
            j = entry.pos - step
            if 0 <= j < len(self.readable) and self.readable[j].path not in skip:
                out.append(self.readable[j])
                skip.add(self.readable[j].path)
                if len(out) == k:
                    break
        return out

    def teaser_target(self, entry: Entry) -> Entry | None:
        """The page an in-body «Читайте также» teaser links to (same for a duplicate)."""
        original = self.by_path.get(entry.duplicate_of, entry) if entry.duplicate_of else entry
        found = self.neighbours(original, 1)
        return found[0] if found else None

    def chunk(self, k: int) -> list[Entry]:
        """Entries listed in sitemap chunk k (1-based)."""
        return self.entries[(k - 1) * self.chunk_size: k * self.chunk_size]
