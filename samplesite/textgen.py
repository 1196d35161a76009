"""Deterministic Russian and Kazakh news text from templates.

A :class:`Story` is a handful of small integers (which city, event, topic, official...).
Titles are rendered once when the site index is built; bodies are rendered on request from
the story and a per-article seed, so the same seed always gives the same bytes and a
10,000-article site costs nothing until a page is asked for.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from . import vocab_kk as kk
from . import vocab_ru as ru

_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "",
    "э": "e", "ю": "yu", "я": "ya",
    # Kazakh letters, folded the way Kazakh sites write Latin slugs
    "ә": "a", "ғ": "g", "қ": "k", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "і": "i",
}


_TRANSLIT_TABLE = str.maketrans(_TRANSLIT)


def slugify(title: str, max_len: int = 90) -> str:
    """Latin URL slug of a Cyrillic headline, cut at a word boundary (kazpravda style)."""
    latin = title.lower().translate(_TRANSLIT_TABLE)
    slug = re.sub(r"[^a-z0-9]+", "-", latin).strip("-")
    if len(slug) > max_len:
        slug = slug[:max_len].rsplit("-", 1)[0]
    return slug or "material"


def cap(text: str) -> str:
    """Upper-case the first letter only (str.capitalize would lower-case the rest)."""
    return text[:1].upper() + text[1:]


@dataclass(frozen=True, slots=True)
class Person:
    gender: int  # 0 male, 1 female
    first: tuple[str, str, str, str]
    last: tuple[str, str, str, str]

    def name(self, case: int = 0) -> str:
        return f"{self.first[case]} {self.last[case]}"


class Draw:
    """Many small uniform choices from one 256-bit draw (a Random call each is slow at 10,000 pages)."""

    def __init__(self, rng: random.Random):
        self._bits = rng.getrandbits(256)

    def below(self, n: int) -> int:
        self._bits, r = divmod(self._bits, n)
        return r

    def chance(self, p: float) -> bool:
        return self.below(1000) < p * 1000


def make_person(rng: random.Random, draw: Draw | None = None) -> Person:
    """A random official or author with consistent gender across name and verbs."""
    d = draw or Draw(rng)
    gender = 1 if d.chance(0.4) else 0
    names = ru.FEMALE_NAMES if gender else ru.MALE_NAMES
    first = names[d.below(len(names))]
    last = ru.surname_forms(ru.SURNAMES[d.below(len(ru.SURNAMES))], bool(gender))
    return Person(gender, first, last)


@dataclass(frozen=True, slots=True)
class Story:
    """What a news story is about; both language editions are rendered from it."""

    city: int
    event: int
    topic: int
    role: int
    ministry: int
    person: Person
    other_role: int
    other: Person
    year: int


def make_story(rng: random.Random, year: int) -> Story:
    """Draw a story; forums are weighted up so their word forms are common in the corpus."""
    d = Draw(rng)
    event = d.below(len(ru.EVENTS)) if d.chance(0.75) else d.below(4)
    return Story(
        city=d.below(len(ru.CITIES)),
        event=event,
        topic=d.below(len(ru.TOPICS)),
        role=d.below(len(ru.ROLES)),
        ministry=d.below(len(ru.MINISTRIES)),
        person=make_person(rng, d),
        other_role=d.below(len(ru.ROLES)),
        other=make_person(rng, d),
        year=year,
    )


class Slots(dict):
    """Template values: fixed story values plus generators drawn fresh at each use.

    ``{Key}`` (capitalised) gives the value of ``{key}`` with its first letter upper-cased.
    """

    def __init__(self, rng: random.Random, fixed: dict[str, str],
                 gens: dict[str, Callable[[random.Random, "Slots"], str]],
                 lazy: dict[str, Callable[[], dict[str, str]]] | None = None):
        super().__init__(fixed)
        self.rng = rng
        self.gens = gens
        # key prefix -> builder of a group of values, computed on first use only
        self.lazy = lazy or {}

    def __missing__(self, key: str) -> str:
        gen = self.gens.get(key)
        if gen is not None:
            return gen(self.rng, self)
        builder = self.lazy.pop(key[:2], None)
        if builder is not None:
            self.update(builder())
            return self[key]
        if key[:1].isupper():
            return cap(self[key[:1].lower() + key[1:]])
        raise KeyError(key)

    def fill(self, template: str) -> str:
        return template.format_map(self)


@lru_cache(maxsize=4096)
def _role_forms(role_idx: int, city_idx: int, ministry_idx: int) -> tuple[tuple[str, str, str, str], str]:
    city = ru.CITIES[city_idx]
    role = ru.ROLES[role_idx]
    tail = role.tail.format(akimat=city.akimat, ministry=ru.MINISTRIES[ministry_idx][0])
    forms = tuple(f"{h} {tail}".strip() for h in role.head)
    kk_role = role.kk.format(kk_region=city.kk_region, kk_region_gen=city.kk_region_gen,
                             kk_ministry=ru.MINISTRIES[ministry_idx][1])
    return forms, kk_role  # type: ignore[return-value]


def _money(rng: random.Random, unit_mln: str, unit_mlrd: str) -> str:
    if rng.random() < 0.7:
        return f"{rng.randint(12, 980)} {unit_mln}"
    return f"{rng.randint(1, 40)},{rng.randint(1, 9)} {unit_mlrd}"


def _counted(lo: int, hi: int, forms: tuple[str, str, str], step: int = 1) -> Callable[[random.Random, Slots], str]:
    # step=5 keeps the noun in the genitive plural, so a plural verb before it always agrees
    def gen(rng: random.Random, _s: Slots) -> str:
        n = step * rng.randint(lo, hi)
        return f"{n} {ru.plural(n, *forms)}"
    return gen


def _recall(rng: random.Random, s: Slots) -> str:
    city = rng.choice(ru.CITIES)
    ev = rng.choice(ru.EVENTS)
    sub = {
        "city2_loc": city.loc, "ev2": ev.nom, "topic2": rng.choice(ru.TOPICS).gen,
        "ev2_passed": ru.EVENT_VERBS["passed"][ev.g], "ev2_dedicated": ru.EVENT_VERBS["dedicated"][ev.g],
    }
    return rng.choice(ru.RECALLS).format_map(sub)


_RU_GENS: dict[str, Callable[[random.Random, Slots], str]] = {
    "topic2": lambda r, s: r.choice(ru.TOPICS).gen,
    "measure_dat": lambda r, s: r.choice(ru.MEASURES_DAT),
    "focus_dat": lambda r, s: r.choice(ru.FOCUS_DAT),
    "place_acc": lambda r, s: r.choice(ru.PLACES_ACC),
    "org_gen": lambda r, s: r.choice(ru.ORGS_GEN),
    "report_prep": lambda r, s: r.choice(ru.REPORTS_PREP),
    "fact": lambda r, s: r.choice(ru.FACTS),
    "quote": lambda r, s: s.fill(r.choice(ru.QUOTES)),
    "money": lambda r, s: _money(r, "млн тенге", "млрд тенге"),
    # multiples of 50 keep «более N человек» grammatical for every N
    "n_people": lambda r, s: str(50 * r.randint(2, 40)),
    "n_regions": lambda r, s: str(r.randint(5, 17)),
    "year_next": lambda r, s: str(int(s["year"]) + r.randint(0, 1)),
    "when": lambda r, s: r.choice(ru.WHEN).lower(),
    "ev_mod": lambda r, s: r.choice(ru.EVENT_MODS),
    "aim_acc": lambda r, s: r.choice(ru.AIMS_ACC),
    "prep_dat": lambda r, s: r.choice(ru.PREP_DAT),
    "applications": _counted(3, 96, ("заявка", "заявки", "заявок"), step=5),
    "projects": _counted(5, 90, ("проект", "проекта", "проектов")),
    "centers": _counted(2, 9, ("центр обслуживания", "центра обслуживания", "центров обслуживания")),
    "jobs": _counted(15, 900, ("рабочее место", "рабочих места", "рабочих мест")),
    "families": _counted(5, 128, ("семья", "семьи", "семей"), step=5),
    "recall": _recall,
}


@lru_cache(maxsize=None)
def _event_values(event: int) -> dict[str, str]:
    ev = ru.EVENTS[event]
    out = {"ev": ev.nom, "ev_gen": ev.gen, "ev_dat": ev.dat, "ev_acc": ev.acc, "ev_ins": ev.ins, "ev_prep": ev.prep}
    out.update({f"ev_{k}": forms[ev.g] for k, forms in ru.EVENT_VERBS.items()})
    return out


@lru_cache(maxsize=None)
def _place_values(city: int, topic: int, ministry: int) -> dict[str, str]:
    c = ru.CITIES[city]
    return {"site": ru.SITE_BRAND, "city": c.nom, "city_gen": c.gen, "city_loc": c.loc, "akimat": c.akimat,
            "topic": ru.TOPICS[topic].gen, "ministry": ru.MINISTRIES[ministry][0]}


def _person_values(prefix: str, person: Person, role: int, city: int, ministry: int) -> dict[str, str]:
    forms, _ = _role_forms(role, city, ministry)
    out = {f"{prefix}_role": forms[0], f"{prefix}_role_gen": forms[1], f"{prefix}_role_dat": forms[2],
           f"{prefix}_role_ins": forms[3], f"{prefix}_name": person.name(0), f"{prefix}_name_gen": person.name(1)}
    out.update({f"{prefix}_{k}": verbs[person.gender] for k, verbs in ru.PERSON_VERBS.items()})
    return out


def ru_slots(story: Story, rng: random.Random) -> Slots:
    """Template values of a story for the Russian edition."""
    # Merged from cached pieces: building 10,000 headlines should take a fraction of a second.
    fixed = {**_place_values(story.city, story.topic, story.ministry), **_event_values(story.event),
             "year": str(story.year)}
    lazy = {"p_": lambda: _person_values("p", story.person, story.role, story.city, story.ministry),
            "q_": lambda: _person_values("q", story.other, story.other_role, story.city, story.ministry)}
    return Slots(rng, fixed, _RU_GENS, lazy)


_KK_GENS: dict[str, Callable[[random.Random, Slots], str]] = {
    "topic2_kk": lambda r, s: r.choice(ru.TOPICS).kk,
    "measure_kk": lambda r, s: r.choice(kk.MEASURES),
    "money_kk": lambda r, s: _money(r, "млн теңге", "млрд теңге"),
    "n_people": lambda r, s: str(r.randint(40, 1500)),
    "n_proj": lambda r, s: str(r.randint(5, 60)),
    "n_jobs": lambda r, s: str(r.randint(15, 900)),
    "year_next": lambda r, s: str(int(s["year"]) + r.randint(0, 1)),
    "when_kk": lambda r, s: r.choice(kk.WHEN).lower(),
    "quote_kk": lambda r, s: r.choice(kk.QUOTES),
}


def kk_slots(story: Story, rng: random.Random) -> Slots:
    """Template values of a story for the Kazakh edition."""
    city = ru.CITIES[story.city]
    ev = ru.EVENTS[story.event]
    _, role_kk = _role_forms(story.role, story.city, story.ministry)
    fixed = {
        "site": ru.SITE_BRAND, "year": str(story.year),
        "city_kk_loc": city.kk_loc, "kk_region": city.kk_region, "kk_region_gen": city.kk_region_gen,
        "topic_kk": ru.TOPICS[story.topic].kk,
        "ev_kk": ev.kk, "ev_kk_loc": ev.kk_loc, "ev_kk_dat": ev.kk_dat,
        "p_role_kk": role_kk, "p_name": story.person.name(0),
    }
    return Slots(rng, fixed, _KK_GENS)


def ru_title(story: Story, rng: random.Random) -> str:
    """A Russian headline for the story."""
    return cap(ru_slots(story, rng).fill(rng.choice(ru.TITLES)))


def kk_title(story: Story, rng: random.Random) -> str:
    """A Kazakh headline for the story."""
    return cap(kk_slots(story, rng).fill(rng.choice(kk.TITLES)))


def _sentences(slots: Slots, rng: random.Random, pool: tuple[str, ...], k: int, used: set[int]) -> str:
    picked = []
    for _ in range(k):
        # Avoid repeating a sentence template inside one article (it reads as a glitch).
        choices = [i for i in range(len(pool)) if i not in used] or list(range(len(pool)))
        i = rng.choice(choices)
        used.add(i)
        picked.append(cap(slots.fill(pool[i])))
    return " ".join(picked)


def ru_paragraphs(story: Story, seed: int, n_paras: int, photo: bool) -> list[str]:
    """Body paragraphs of the Russian edition (photo credit, if any, as paragraph two)."""
    rng = random.Random(f"ru-body:{seed}")
    s = ru_slots(story, rng)
    used: set[int] = set()
    lead = cap(s.fill(rng.choice(ru.LEADS)))
    if rng.random() < 0.6:
        lead += " " + _sentences(s, rng, ru.SENTENCES, 1, used)
    paras = [lead]
    if photo:
        paras.append(s.fill(rng.choice(ru.PHOTO_CREDITS)))
    # Short notes get no quote, so even a three-paragraph story has some body text.
    quote_at = rng.randrange(2, n_paras) if n_paras >= 4 else -1
    while len(paras) < n_paras:
        if len(paras) == quote_at:
            quote = s["quote"] + (". " + s["quote"] if rng.random() < 0.5 else "")
            speaker = f"{s['p_role']} {s['p_name']}" if rng.random() < 0.5 else s["p_name"]
            paras.append(f"«{quote}», – {s['p_said']} {speaker}.")
        elif len(paras) + 1 == n_paras and rng.random() < 0.3:
            # a closing quote from the second speaker, as reports often end
            paras.append(f"«{s['quote']}», – {s['q_added']} {s['q_role']} {s['q_name']}.")
        else:
            paras.append(_sentences(s, rng, ru.SENTENCES, rng.randint(2, 4), used))
    return paras


def kk_paragraphs(story: Story, seed: int, n_paras: int, photo: bool) -> list[str]:
    """Body paragraphs of the Kazakh edition."""
    rng = random.Random(f"kk-body:{seed}")
    s = kk_slots(story, rng)
    used: set[int] = set()
    lead = cap(s.fill(rng.choice(kk.LEADS)))
    if rng.random() < 0.6:
        lead += " " + _sentences(s, rng, kk.SENTENCES, 1, used)
    paras = [lead]
    if photo:
        paras.append(s.fill(rng.choice(kk.PHOTO_CREDITS)))
    while len(paras) < n_paras:
        if len(paras) == 2 and n_paras >= 4:
            paras.append(f"«{s['quote_kk']}», – деді {s['p_role_kk']} {s['p_name']}.")
        else:
            paras.append(_sentences(s, rng, kk.SENTENCES, rng.randint(2, 3), used))
    return paras


def lead_sentence(paragraphs: list[str], limit: int = 200) -> str:
    """First sentence of the body, for meta descriptions and feed summaries."""
    first = paragraphs[0] if paragraphs else ""
    m = re.match(r"(.+?[.!?])(?:\s|$)", first)
    text = m.group(1) if m else first
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"
