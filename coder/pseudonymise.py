"""Finding identifiers in transcripts, and adding them to a pseudonymisation key. Pure: the spaCy
pipeline is passed in, and nothing here reads or writes files.

Five detectors, each kept simple enough to check by reading:

- **patterns**: emails, phone numbers (9–15 digits, never a time), social-media handles, street
  addresses and postcodes, and dates next to "born", "birthday", "DOB";
- **the packaged spaCy pipeline's NER**: PERSON → person, GPE/LOC/FAC → place, ORG → organisation;
- **titles**: "Ms. Whitfield", "Dr Okafor", "Officer Reyes" → person;
- **speaker labels** that are names ("Karen Whitfield  0:03", "<v Amara>") → person;
- **proper nouns NER left out** (the tagger's NNP, not a lone capital opening a sentence) → person.

A person's full name also brings its first name and surname into the key as variants with the same
pseudonym (:func:`extend_key`), so "Karen Whitfield", "Ms. Whitfield", "Karen" and "Karen's" all
become one person; a first name or surname that two people share stays a person of its own. An
organisation's name before its kind ("Redbrook" of "Redbrook House") joins it the same way.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from coder.pseudonym_key import TYPES, Key, KeyEntry

NER_TYPES = {"PERSON": "person", "GPE": "place", "LOC": "place", "FAC": "place", "ORG": "organisation"}

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?"
    r"|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\b\.?"
)
_ORD = r"\d{1,2}(?:st|nd|rd|th)?(?!\d)"
# a date said aloud: "the fifth of November, nineteen ninety-one", "March the third, two thousand and one"
_UNIT = r"(?:one|two|three|four|five|six|seven|eight|nine)"
_TEEN = r"(?:ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen)"
_TWO = rf"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ]{_UNIT})?|{_TEEN}|oh[- ]{_UNIT})"
_SAID_YEAR = rf"(?:nineteen[- ]{_TWO}|two thousand(?:(?: and)?[- ](?:{_TWO}|{_UNIT}))?|twenty[- ]{_TWO}|{_TWO})"
_ORD_WORD = (
    r"(?:(?:twenty|thirty)[- ](?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)|first|second|third|"
    r"fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|"
    r"seventeenth|eighteenth|nineteenth|twentieth|thirtieth)"
)
_DAY = rf"(?:{_ORD_WORD}|{_ORD})"
_YEAR = rf"(?:\d{{4}}|['’]\d{{2}}\b|{_SAID_YEAR}\b)"
_DATE = (
    rf"(?:{_DAY}(?:\s+of)?\s+{_MONTH},?\s+{_YEAR}|{_MONTH}\s+(?:the\s+)?{_DAY},?\s+{_YEAR}"
    rf"|\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}"
    rf"|{_MONTH}\s+\d{{4}}|{_DAY}(?:\s+of)?\s+{_MONTH}|{_MONTH}\s+(?:the\s+)?{_DAY})"
)
_BIRTH_CUE = re.compile(r"(?i)\b(?:born|birth|birthday|b-day|d\.?o\.?b\.?)\b")
_STREET = (
    r"(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Close|Crescent|Court|Ct|Place|Pl|Way|Terrace|Boulevard|"
    r"Blvd|Grove|Gardens|Hill|Row|Parade|Square|Walk|Mews|Highway|Hwy)"
)
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")),
    ("handle", re.compile(r"(?<![\w@.])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?(?![\w@])")),
    (
        "handle",
        re.compile(
            r"(?i:\b(?:snapchat|snap|insta(?:gram)?|ig|tiktok|twitter|telegram|onlyfans|kik)\b(?:\s+(?:handle|name|"
            r"username|account|is|was|:|-)){0,3}\s*:?\s*)(?-i:(?P<value>(?=[\w.]*[A-Za-z])[A-Za-z0-9_]*[._\d][A-Za-z0-9_.]*[A-Za-z0-9_]))"
        ),
    ),
    (
        "phone",
        re.compile(
            r"(?<![\w:/.+£$€-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,5}\)[ .-]?)?\d{1,12}(?:[ .-]\d{2,8}){0,4}(?![\w:/]|[.-]\d)"
        ),
    ),
    (
        "address",
        re.compile(
            rf"(?:\b(?:Flat|Apt\.?|Apartment|Unit|Suite)\s*#?\w{{1,4}},?\s+)?\b\d{{1,5}}[A-Za-z]?,?\s+"
            rf"(?:[A-Z][\w'’-]*\s+){{1,3}}{_STREET}\b(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\b)?"
        ),
    ),
    ("address", re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}\b")),  # a UK postcode
    ("date_of_birth", re.compile(rf"(?i:{_DATE})")),
)
PHONE_DIGITS = (9, 15)

TITLES = (
    "Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Doctor", "Prof", "Professor", "Officer", "Detective", "Sergeant", "Sgt",
    "Constable", "PC", "DC", "DS", "Inspector", "Sister", "Father", "Pastor", "Reverend", "Rev", "Nurse", "Judge",
    "Councillor",
)  # fmt: skip
_TITLE = "|".join(TITLES)
_CAPWORD = r"[A-Z][a-zA-Z'’-]+"
TITLED = re.compile(rf"\b(?:{_TITLE})\.?\s+(?P<name>{_CAPWORD})")  # one word: "Ms Whitfield And she…"
_LEADING_TITLE = re.compile(rf"^(?:(?:{_TITLE})\.?\s+)+")

STOP = {
    # faith, family words, festivals and days that NER can take for names
    "god", "jesus", "christ", "lord", "allah", "mum", "mom", "mummy", "mommy", "dad", "daddy", "nan", "nana",
    "gran", "granny", "grandma", "grandad", "auntie", "aunty", "aunt", "uncle", "sis", "bro", "babe", "baby",
    "christmas", "easter", "ramadan", "eid", "diwali", "new year", "monday", "tuesday", "wednesday", "thursday",
    "friday", "saturday", "sunday", "today", "tonight", "yesterday", "day", "valentine", "valentine's day",
    "mother's day", "halloween", "bonfire night", "thanksgiving",
    # languages and nationalities: not identifying, and NER's NORP keeps most of them out already
    "english", "spanish", "french", "portuguese", "arabic", "polish", "romanian", "albanian", "vietnamese",
    "chinese", "thai", "pidgin", "yoruba", "igbo", "british", "american", "irish", "scottish", "welsh",
    "nigerian", "african", "european", "asian", "latina", "latino", "black", "white",
    # roles and transcript words
    "interviewer", "interviewee", "participant", "respondent", "researcher", "facilitator", "moderator",
    "speaker", "unknown", "inaudible", "crosstalk", "laughs", "int", "q", "a", "i", "ok", "okay", "yeah", "um",
    # platforms and services everyone uses: naming them identifies no one
    "facebook", "instagram", "snapchat", "tiktok", "twitter", "whatsapp", "telegram", "onlyfans", "google",
    "youtube", "uber", "tinder", "zoom", "teams", "internet", "covid", "covid-19",
    # transcription tools and formats, named in transcript headers
    "microsoft teams", "webvtt", "teams webvtt", "vtt", "srt", "subrip", "markdown", "otter", "otter.ai", "rev",
    "trint", "descript", "nvivo", "maxqda", "atlas.ti", "word",
    # public bodies named in general
    "police", "the police", "nhs", "council", "the council", "home office", "social services", "a&e", "gp",
    "government", "the government", "court", "the court", "jobcentre",
}  # fmt: skip
_MARKUP = re.compile(r"[<>()\[\]{}:;/\\|#*=+\"\n]")
NOT_A_NAME = re.compile(r"(?i)^(?:speaker|person|participant|respondent|interviewer|interviewee|guest|host)\b")


@dataclass(frozen=True)
class Piece:
    """Text to search, and where it is for the key's ``found`` column ("P03.txt:12")."""

    where: str
    text: str


@dataclass(frozen=True)
class Finding:
    text: str
    type: str
    where: str


def find_patterns(text: str) -> list[tuple[int, int, str]]:
    """(start, end, type) of every email, handle, phone number, address and date of birth in ``text``."""
    out: list[tuple[int, int, str]] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    for kind, rx in PATTERNS:
        for m in rx.finditer(text):
            a, b = m.span("value") if "value" in rx.groupindex else m.span()
            value = text[a:b]
            if kind == "phone" and not _phone(value):
                continue
            if kind == "date_of_birth" and not _BIRTH_CUE.search(text, max(0, a - 60), a):
                continue
            if free(a, b):
                out.append((a, b, kind))
                taken.append((a, b))
    return sorted(out)


def _phone(value: str) -> bool:
    digits = sum(ch.isdigit() for ch in value)
    return PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1] and not re.fullmatch(
        r"(?:19|20)\d\d(?:[ .-](?:19|20)\d\d)+", value
    )


def clean(text: str, kind: str) -> str | None:
    """An entity as it goes into the key, or None for what is not an identifier ("the police", "God", "Mum")."""
    text = re.sub(r"\s+", " ", text).strip(" \t\"'“”‘’()[]{}<>,;:!?*_")
    text = re.sub(r"^(?:the|The|THE|[Mm]y|[Yy]our|[Hh]is|[Hh]er|[Oo]ur|[Tt]heir)\s+", "", text)
    if kind in ("person", "place", "organisation"):
        text = re.sub(r"(?:'s|’s|s'|s’|['’](?:ll|d|ve|re|m))$", "", text)  # Karen's, Marky'll
    text = text.rstrip(".") if kind in ("person", "place", "organisation") else text
    if kind == "person":
        text = _LEADING_TITLE.sub("", text)
        if any(ch.isdigit() for ch in text) or NOT_A_NAME.match(text):
            return None
    if re.fullmatch(r"[A-Z]{1,3}\d{1,4}", text):  # P03, R12: an id the study gave, not a name
        return None
    if kind in ("person", "place", "organisation"):
        if _MARKUP.search(text):  # "Interviewer)>Okay": a tag or a label caught up in the entity
            return None
        if not any(ch.isupper() for ch in text) or len(text) < 2 or text.lower() in STOP:
            return None
        if all(w.lower() in STOP or w.lower() in {t.lower() for t in TITLES} for w in text.split()):
            return None
        if re.fullmatch(r"[A-Z][a-z]+ \d+", text):  # "Person 3", "Place 2": a pseudonym already
            return None
    return text or None


def label_name(label: str) -> str | None:
    """The name in a speaker label, if it is a person's name ("Karen Whitfield", not "Speaker 1" or "P03")."""
    from coder.transcripts import role_word, split_role

    name, _ = split_role(label)
    if role_word(name) is not None or not re.fullmatch(r"[A-Z][\w'’.-]*(?: [A-Z][\w'’.-]*){0,3}", name):
        return None
    return clean(name, "person")


def detect(pieces: Sequence[Piece], nlp: Any | None, labels: Iterable[tuple[str, str]] = ()) -> list[Finding]:
    """Every identifier found in ``pieces`` (with the pipeline's NER, unless ``nlp`` is None) and every
    speaker label ``(where, label)`` that is a name."""
    found: list[Finding] = []
    for where, label in labels:
        name = label_name(label)
        if name:
            found.append(Finding(name, "person", where))
    spans = [find_patterns(piece.text) for piece in pieces]  # once per piece: NER's entities are checked against them
    for piece, piece_spans in zip(pieces, spans, strict=True):
        for a, b, kind in piece_spans:
            found.append(Finding(piece.text[a:b].strip(), kind, piece.where))
        for m in TITLED.finditer(piece.text):
            titled = clean(m["name"], "person")
            if titled:
                found.append(Finding(titled, "person", piece.where))
    if nlp is not None:
        texts = [p.text for p in pieces]
        for piece, piece_spans, doc in zip(pieces, spans, nlp.pipe(texts, batch_size=256), strict=True):
            for ent in doc.ents:
                ner_kind = NER_TYPES.get(ent.label_)
                if ner_kind and _LEADING_TITLE.match(ent.text):  # "DC Pemberton" read as an organisation
                    ner_kind = "person"
                if len(ent) == 1 and ent[0].tag_.startswith("VB"):  # "Tell me…", "Laid out…": a verb, not a name
                    continue
                entity = clean(ent.text, ner_kind) if ner_kind else None
                if ner_kind and entity and not _inside_pattern(entity, piece.text, piece_spans):
                    found.append(Finding(entity, ner_kind, piece.where))
            for name in _proper_nouns(doc):
                found.append(Finding(name, "person", piece.where))
    return found


def _proper_nouns(doc: Any) -> list[str]:
    """Runs of proper nouns (the tagger's NNP) that NER left out: most are names it did not know ("Gwen was
    lovely"), so they are offered as people; a false one is deleted from the key once."""
    out: list[str] = []
    run: list[Any] = []
    for tok in [*doc, None]:
        if tok is not None and _proper(tok):
            run.append(tok)
            continue
        if run:
            name = clean(" ".join(t.text for t in run), "person")
            first = run[0].i == 0 or doc[run[0].i - 1].text in _SENTENCE_OPENERS
            if len(run) == 1 and first:  # "Good.", "Funny, …", "Hope you…": a capital any sentence has
                name = None
            if name and len(run) <= 3 and not any(t.text.lower() in _TITLES_LOWER for t in run):
                out.append(name)
            run = []
    return out


def _proper(tok: Any) -> bool:
    """A capitalised proper noun outside every entity: "Gwen", "O'Neill", "Mary-Beth"."""
    if tok.ent_type_ or tok.tag_ not in ("NNP", "NNPS") or not tok.text[:1].isupper():
        return False
    return bool(tok.is_alpha or re.fullmatch(r"[A-Z][a-z]*['’-][A-Za-z]+", tok.text))


_TITLES_LOWER = {t.lower() for t in TITLES}
_SENTENCE_OPENERS = {".", "!", "?", ":", ";", '"', "“", "—", "–", "-", "…", "...", "(", "["}


def _inside_pattern(name: str, text: str, spans: Sequence[tuple[int, int, str]]) -> bool:
    """A name inside an email or a handle is found by the patterns (NER's "Carver Street" inside an address
    is kept: the street is a place on its own too)."""
    return any(name in text[a:b] and name != text[a:b] for a, b, kind in spans if kind != "address")


ORG_WORDS = {
    "house", "centre", "center", "project", "trust", "service", "services", "clinic", "hospital", "church", "chapel",
    "mosque", "shelter", "refuge", "network", "alliance", "foundation", "association", "outreach", "hostel", "club",
    "bar", "lounge", "rooms", "hotel", "spa", "salon", "agency", "ministries", "ministry", "fellowship", "assembly",
    "collective", "group", "partnership", "hub", "place", "lodge", "court", "home", "homes", "charity", "society",
}  # fmt: skip


PLACE_WORDS = {
    "street", "st", "road", "rd", "avenue", "ave", "terrace", "crescent", "mews", "boulevard",
}  # fmt: skip
"""A name ending in one of these is a place ("Maple Street"), whatever NER called it; only words no one has as a
surname (Green, Hill, Park, Lane are surnames: "Dr Sarah Green" stays a person, with her first name and surname)."""


def ordinary_words(texts: Sequence[str]) -> set[str]:
    """The words these texts use in lower case ("hope", "street"): an organisation's short name that is one of them
    is not put in the key on its own, where it would rewrite that word wherever a sentence starts with it. A word
    just before an organisation's kind ("redbrook house", typed in lower case) names it: that use does not count."""
    out: set[str] = set()
    for t in texts:
        for m in re.finditer(r"\b([a-z][a-z'’-]*)\b(?=(?:\s+(\w+))?)", t):  # the next word looked at, not taken
            if not (m[2] and m[2].lower() in ORG_WORDS):
                out.add(m[1])
    return out


def _short_name(org: str) -> str | None:
    """What people call an organisation for short: the name before its kind ("Redbrook House" → "Redbrook")."""
    words = org.split()
    cut = next((i for i, w in enumerate(words) if w.lower() in ORG_WORDS), None)
    if not cut or cut > 2:
        return None
    short = " ".join(words[:cut])
    if short.lower() in STOP or not short[0].isupper() or len(short) < 4 or short.endswith(("'s", "’s")):
        return None
    return short


def _where(places: Sequence[str], most: int = 5) -> str:
    unique = list(dict.fromkeys(places))
    more = len(unique) - most
    return ", ".join(unique[:most]) + (f" (+{more} more)" if more > 0 else "")


def extend_key(
    key: Key,
    findings: Sequence[Finding],
    *,
    style: str = "tag",
    deleted: Callable[[str], bool] = lambda text: False,
    ordinary: Collection[str] = (),
) -> tuple[list[KeyEntry], list[str]]:
    """Add to ``key`` what it does not cover yet: the new rows, and what was left as it is.

    ``deleted``: whether the researcher deleted an original from the key (it is left as it is). A text
    found as two types is given the type found most often (ties: the order of :data:`TYPES`); one ending in a
    :data:`PLACE_WORDS` word is a place. A full name's first name and surname join it as variants, unless
    another full name shares them (even a name that is also a word, such as "Precious": a person's name must
    never be left in a copy), and an organisation's short name joins it unless it is one of the ``ordinary`` words
    of the texts (:func:`ordinary_words`: "Hope" of "Hope Clinic" where the texts say "hope", which would otherwise
    rewrite "Hope is what keeps me going").
    """
    where: dict[str, list[str]] = defaultdict(list)
    kinds: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for f in findings:
        where[f.text].append(f.where)
        kinds[f.text][f.type] += 1
    # "KAREN WHITFIELD:" as a label is the Karen Whitfield of the speech: one person, one pseudonym
    usual = {e.original.upper(): e.original for e in key.entries} | {t.upper(): t for t in where if not t.isupper()}
    for text in [t for t in where if t.isupper() and usual.get(t, t) != t]:
        where[usual[text]] += where.pop(text)
        for kind, n in kinds.pop(text).items():
            kinds[usual[text]][kind] += n
    kind_of = {t: min(k, key=lambda x: (-k[x], TYPES.index(x))) for t, k in kinds.items() if t in where}
    for t, kind in kind_of.items():  # "Maple Street" taken for a person: a place, with no first name to offer
        titled = t.split()[0].rstrip(".").lower() in _TITLES_LOWER
        if (
            kind in ("person", "organisation")
            and " " in t
            and not titled
            and t.split()[-1].lower().strip(".") in PLACE_WORDS
        ):
            kind_of[t] = "place"
    plain = {w.lower() for w in ordinary}

    people = [t for t, k in kind_of.items() if k == "person"] + [e.original for e in key.entries if e.type == "person"]
    full_names = sorted({p for p in people if " " in p}, key=lambda p: (-len(p.split()), p))
    shorts: dict[str, str] = {}
    owners: dict[str, set[str]] = defaultdict(set)
    for name in full_names:
        parts = name.split()
        for part in (parts[0], parts[-1]):
            if len(part) > 2 and part.lower() not in STOP:  # even a word ("Precious", "Grace"): privacy first
                owners[part].add(name)
    for part, names in owners.items():
        if len(names) == 1 and part not in where:
            (owner,) = names
            where[part] = [f"part of {owner}"]
            kind_of[part] = "person"

    for org in [t for t, k in kind_of.items() if k == "organisation"]:
        short = _short_name(org)
        if short and short not in where and key.get(short) is None and short.lower() not in plain:
            where[short] = [f"part of {org}"]
            kind_of[short] = "organisation"
            shorts[short] = org

    def order(text: str) -> tuple[int, int, str]:
        return (TYPES.index(kind_of[text]), -len(text.split()), text)

    added: list[KeyEntry] = []
    left: list[str] = []
    for text in sorted(where, key=order):
        if key.get(text) is not None or (kind_of[text] != "person" and key.covers(text)):
            continue
        if deleted(text):
            left.append(text)
            continue
        same_as = shorts.get(text) if key.get(shorts.get(text, "")) is not None else None
        if kind_of[text] == "person" and " " not in text and len(owners.get(text, ())) == 1:
            same_as = next(iter(owners[text]))
            if key.get(same_as) is None:
                same_as = None
        base = key.get(same_as) if same_as else None
        kind = base.type if base is not None else kind_of[text]  # a variant is what the researcher says its name is
        added.append(key.add(text, kind, _where(where[text]), style=style, same_as=same_as))
    return added, sorted(left)
