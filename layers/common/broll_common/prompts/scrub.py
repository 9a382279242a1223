# Over 250 lines: one set of name/brand/ticker rules with their word lists; split, each change would touch both halves.
"""Scrubbing: what Veo cannot depict or will refuse goes out of the text, and is reported.

Names, tickers, brands, quotes and links (and, in strict mode, acronyms, product numbers, single-quoted
text, violence and minors). Names become roles ("a senator") or generic people ("a person"), or their
phrase is dropped ("in Texas"), so the text stays readable enough to be a prompt. Its own module because
the rules for what counts as a name change for their own reasons (a false positive, a new title), not when
the composers do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .text import article

STOP_WORDS = set(
    "a an the and or but if then so of to in on at by for with from into onto over under this that these those "
    "is are was were be been being it its it's as we you they he she i our your their his her them us me my "
    "will would can could should may might must do does did not no yes just more most very now here there "
    "what which who whom how when where why all any each every some such than too also about after before "
    "today tonight tomorrow yesterday new says said say".split()
)
# Sentence starters that are ordinary words, so a capitalised word after them is not part of their name.
_COMMON = STOP_WORDS | set(
    "after before during while since because although though despite meanwhile however later earlier still yet "
    "once first last next finally even only both several many much few one two three four five ten hundreds "
    "thousands millions experts officials critics analysts investors traders shares prices markets stocks "
    "meanwhile instead overnight tonight recently soon already again across inside outside near behind".split()
)
# Capitalised words that are not names worth removing (camera terms, calendar, institutions, nationalities).
_ALLOWED_CAPS = set(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july august "
    "september october november december dutch steadicam rembrandt earth moon sun internet english celsius "
    "fahrenheit senate congress parliament government cabinet police army navy court christmas easter ramadan "
    "american british european chinese french german japanese indian russian african asian arab latin spanish "
    "italian canadian mexican brazilian australian korean irish scottish western eastern northern southern "
    # Continents and large countries: a setting Veo can show and never refuses, not a person or a brand.
    "europe asia africa america americas australia antarctica arctic china india japan russia france germany "
    "italy spain britain england scotland ireland canada mexico brazil argentina korea indonesia egypt nigeria "
    "kenya turkey iran israel ukraine poland sweden norway".split()
)
# Title before a name -> the role it leaves behind.
_ROLES = {
    "senator": "senator", "sen.": "senator", "president": "president", "pres.": "president",
    "vice president": "vice president", "prime minister": "prime minister", "minister": "minister",
    "chancellor": "chancellor", "governor": "governor", "gov.": "governor", "mayor": "mayor", "judge": "judge",
    "justice": "judge", "representative": "lawmaker", "rep.": "lawmaker", "congressman": "lawmaker",
    "congresswoman": "lawmaker", "secretary": "official", "ambassador": "diplomat", "general": "military officer",
    "gen.": "military officer", "ceo": "business executive", "cfo": "business executive",
    "chairman": "chair", "chairwoman": "chair", "chief executive": "business executive", "dr.": "doctor",
    "doctor": "doctor", "professor": "professor", "prof.": "professor", "mr.": "man", "mrs.": "woman",
    "ms.": "woman", "king": "king", "queen": "queen", "prince": "prince", "princess": "princess",
    "pope": "religious leader", "coach": "coach", "captain": "captain", "officer": "officer",
    "detective": "detective", "sheriff": "sheriff", "founder": "founder", "director": "director",
    "spokesperson": "spokesperson", "spokesman": "spokesperson", "spokeswoman": "spokesperson",
}
# A name ending in one of these keeps its generic noun: "Golden Gate Bridge" -> "a bridge".
_GENERIC_ENDINGS = set(
    "board court bank bridge house store shop company university college hospital airport station street square "
    "park river lake mountain mountains hall tower building office ministry department agency council stadium "
    "market exchange port harbour harbor museum church cathedral palace island bay valley desert ocean sea "
    "avenue road highway plaza centre center factory plant mall arena".split()
)
# Words after a name that show it was the subject of a clause: the name becomes "a person".
_VERBISH = set(
    "says said speaks spoke talks talked walks walked stands stood sits sat announces announced arrives arrived "
    "leaves left waves waved smiles smiled looks looked holds held signs signed meets met visits visited "
    "addresses addressed answers answered testifies testified votes voted argues argued warns warned claims "
    "claimed reports reported unveils unveiled launches launched enters entered exits exited shakes shook "
    "gestures gestured points pointed reads watches watched listens listened nods nodded laughs laughed "
    "took went gave told made won lost ran came began saw wrote sold bought rose fell grew will would could "
    "should can may might must has had is was are were who".split()
)
_PREPOSITIONS = "of|in|at|on|from|near|to|by|for|with|across|inside|outside|into|around|over|under|about|against"
_UP = "A-ZÀ-ÖØ-Þ"
_LOW = "a-zß-öø-ÿ"
_ABBREV = r"(?:Sen|Rep|Gov|Gen|Dr|Mr|Mrs|Ms|Prof|Pres|Lt|Col|Capt|Sgt)\."
_WORD = rf"(?:{_ABBREV}|CEO|CFO|(?:Mc|Mac|O')?[{_UP}][{_LOW}]+(?:-[{_UP}][{_LOW}]+)?)"
_PARTICLE = r"(?:de|da|di|del|della|van|von|der|den|du|la|le|bin|al|el|ibn|dos|das)"
# Optional preposition and/or determiner before a capitalised run, so "in Texas" can go as a whole phrase.
_CONTEXT = rf"(?P<pre>(?<![\w'’])(?i:{_PREPOSITIONS})\s+)?(?P<det>(?<![\w'’])(?i:the|a|an)\s+)?"
_RUN_RE = re.compile(
    rf"{_CONTEXT}(?<![\w'’$:@#.-])(?P<run>{_WORD}(?:\s+(?:{_PARTICLE}\s+){{0,2}}{_WORD})*)(?![\w'’-]*\w)"
)
# "Port of Tyne", "Bank of England", "University of Michigan": one name around "of" when its head is a place noun.
_OF_RE = re.compile(
    rf"{_CONTEXT}(?<![\w'’$:@#.-])(?P<run>(?:{_WORD}\s+)*(?P<head>{_WORD})\s+of\s+(?:the\s+)?{_WORD}(?:\s+{_WORD})*)"
    r"(?![\w'’-]*\w)"
)
_TICKER_RE = re.compile(rf"{_CONTEXT}(?P<run>\$[A-Z]{{1,5}}(?:\.[A-Z])?\b|\b[A-Z]{{2,8}}:[A-Z]{{1,5}}\b)")
_BRAND_RE = re.compile(
    rf"{_CONTEXT}(?P<run>\b[a-z]+[A-Z][\w-]*|\b(?!Ma?c[A-Z])[A-Z][a-z]+[A-Z][\w-]*|\b[\w-]+\s?[™®©]"
    r"|\b[\w-]+\.(?:com|org|net|io|ai|co|gov|news|tv)\b)"
)
_PRODUCT_RE = re.compile(rf"{_CONTEXT}(?P<run>\b[A-Z][\w]*(?:-| )\d+[\w]*\b)")  # Boeing 737, F-150, COVID-19
_ACRONYM_RE = re.compile(rf"{_CONTEXT}(?P<run>\b[A-Z]{{2,6}}s?\b)")
_ALLOWED_ACRONYMS = {"POV", "TV", "AI", "EV", "EVs", "GDP", "HDR", "DIY", "OK", "CEO", "CEOs", "B"}
# Quoted text is text Veo would try to render; "a sign that reads" goes with it.
_READS = (
    r"(?:\b(?:that\s+)?(?:reads|reading|says|saying|titled|labelled|labeled|captioned|spelling|with the words)\s+)?"
)
_QUOTE_RE = re.compile(
    _READS + r"(?:“([^”\n]{0,200})”|\"([^\"\n]{0,200})\"|«([^»\n]{0,200})»|„([^“”\n]{0,200})[“”])"
)
_SINGLE_QUOTE_RE = re.compile(_READS + r"(?<![\w’'])['‘]([^'’\n]{1,80})['’](?!\w)")
_LINK_RE = re.compile(r"https?://\S+|www\.\S+|@\w+")
MINORS = {
    "child": "person", "children": "people", "kid": "person", "kids": "people", "boy": "person",
    "boys": "people", "girl": "person", "girls": "people", "baby": "person", "babies": "people",
    "toddler": "person", "toddlers": "people", "teen": "person", "teens": "people", "teenager": "person",
    "teenagers": "people", "schoolchildren": "people", "schoolkids": "people", "pupil": "person",
    "pupils": "people", "infant": "person", "infants": "people", "youngsters": "people",
}
VIOLENCE = {
    "gunman": "person", "gunmen": "people", "terrorist": "person", "terrorists": "people", "hostage": "person",
    "hostages": "people", "victim": "person", "victims": "people", "attacker": "person", "attackers": "people",
    **dict.fromkeys(
        "gun guns gunfire rifle rifles pistol pistols weapon weapons firearm firearms bomb bombs bombing "
        "bombings explosive explosives explosion explosions grenade grenades missile missiles knife knives "
        "blood bloody bleeding corpse corpses dead death deaths killed killing killings kill kills murder "
        "murdered murders shooting shootings stabbed stabbing attack attacks assault war wars warfare battle "
        "combat terror terrorism riot riots violence violent wounded injured massacre execution".split(),
        "",
    ),
}
_KIND_LABELS = {
    "name": "names",
    "ticker": "stock tickers",
    "brand": "brands",
    "quote": "quoted text",
    "link": "links and handles",
    "product": "product names",
    "acronym": "acronyms",
    "violence": "violent words",
    "minor": "words about children",
    "claude": "names, brands or text",
}


@dataclass
class Scrub:
    removed: list[tuple[str, str]] = field(default_factory=list)  # (item, kind)
    name_tokens: set[str] = field(default_factory=set)

    def add(self, item: str, kind: str) -> None:
        item = item.strip()
        if item and (item, kind) not in self.removed:
            self.removed.append((item, kind))


def _at_sentence_start(text: str, index: int) -> bool:
    before = text[:index].rstrip(" \t")
    return not before or before[-1] in ".!?:;(\n•*-–—"


def _next_word(text: str, index: int) -> str:
    match = re.match(r"\s*([\w'’]+)", text[index:])
    return match.group(1) if match else ""


def _verbish(word: str) -> bool:
    low = word.lower()
    return low in _VERBISH or (low.endswith("ed") and len(low) > 4)


def _generic(match: re.Match, kind: str, role: str | None = None, start: bool = False, ending: str = "") -> str:
    """What a removed name, ticker or brand leaves behind, from the words around it."""
    text, end = match.string, match.end()
    pre, det = match.group("pre") or "", match.group("det") or ""
    following = text[end:]
    nxt = _next_word(text, end)
    run_words = match.group("run").split()
    ending = ending or (run_words[-1].lower() if run_words else "")
    if role:  # "Senator Maria Lopez" -> "a senator"; "the Senator Maria Lopez" -> "the senator"
        return pre + (det + role if det else article(role))
    if kind == "name" and ending in _GENERIC_ENDINGS:  # "at Heathrow Airport" -> "at an airport"
        if not det and nxt[:1].islower() and not _verbish(nxt):
            return pre + ending  # "Bank of England officials" -> "bank officials"
        return pre + (det + ending if det else article(ending))
    if following.startswith(("'s", "’s")):  # "Musk's factory" -> "a person's factory"
        return pre + det + ("a person" if kind == "name" else "a company")
    if pre:  # "in Texas", "shares of $TSLA", "on YouTube": the whole phrase goes
        return " "
    if det:
        if nxt and nxt[0].islower() and not _verbish(nxt):  # "the Tesla factory" -> "the factory"
            return det
        return "an organisation"  # "The Federal Reserve raised rates" -> "An organisation raised rates"
    if kind == "ticker":
        return "shares"  # "Traders sold $TSLA" -> "Traders sold shares"
    if kind == "name":
        before = text[: match.start("run")].rstrip(" ")
        if before.endswith(",") and following.lstrip(" ").startswith(","):
            return "\x00"  # "a senator, Maria Lopez, stands": the apposition goes, commas too (see _tidy)
        if start or not nxt or _verbish(nxt) or not nxt[0].islower():
            return "a person"  # "while Jerome Powell speaks" -> "while a person speaks"
    return " "


def _of_names(text: str, scrub: Scrub) -> str:
    def replace(match: re.Match) -> str:
        head = match.group("head").lower()
        if head not in _GENERIC_ENDINGS:
            return match.group(0)  # "Shares of Tesla": not one name; the words are judged one by one
        first, _, rest = match.group("run").partition(" ")
        if first.lower() in _COMMON and not match.group("pre") and not match.group("det"):
            scrub.add(rest, "name")  # "Then Bank of England officials": "Then" stays
            return f"{first} {_generic(match, 'name', ending=head)}"
        scrub.add(match.group("run"), "name")
        return _generic(match, "name", ending=head)

    return _OF_RE.sub(replace, text)


def _names(text: str, scrub: Scrub) -> str:
    def replace(match: re.Match) -> str:
        run = match.group("run")
        words = run.split()
        start = _at_sentence_start(match.string, match.start("run")) and not match.group("pre") and not match.group(
            "det"
        )
        keep: list[str] = []
        i = 0
        role = None
        two = " ".join(words[:2]).lower()
        if two in _ROLES and len(words) > 2:
            role, i = _ROLES[two], 2
        elif words[0].lower() in _ROLES and len(words) > 1:
            role, i = _ROLES[words[0].lower()], 1
        elif start and words[0].lower() in _COMMON:
            keep, i = [words[0]], 1
            two = " ".join(words[1:3]).lower()
            if two in _ROLES and len(words) > 3:
                role, i = _ROLES[two], 3
            elif len(words) > 2 and words[1].lower() in _ROLES:
                role, i = _ROLES[words[1].lower()], 2
        name = " ".join(words[i:])
        if not name:
            return match.group(0)
        single = len(words) - i == 1
        if single and not role and (name.lower() in _ALLOWED_CAPS or name.lower() in _ROLES):
            return match.group(0)  # "in January", "the Senator said": ordinary words, not names
        if start and i == 0 and single and name not in scrub.name_tokens:
            return match.group(0)  # a capitalised word starting a sentence is usually just a word
        if name not in scrub.name_tokens:  # "Musk" after "Elon Musk" is the same person, listed once
            scrub.add(name, "name")
        scrub.name_tokens.update(w for w in name.split() if len(w) > 2 and not re.fullmatch(_PARTICLE, w))
        if keep:  # "Then Jerome Powell spoke" -> "Then a person spoke" (a kept starter means no pre/det matched)
            return f"{keep[0]} {_generic_from(match, role)}"
        return _generic(match, "name", role, start)

    return _RUN_RE.sub(replace, text)


def _generic_from(match: re.Match, role: str | None) -> str:
    # Like _generic, for a name that follows a kept sentence-starter ("Yesterday Elon Musk said").
    if role:
        return article(role)
    nxt = _next_word(match.string, match.end())
    ending = match.group("run").split()[-1].lower()
    if ending in _GENERIC_ENDINGS:
        return article(ending)
    if not nxt or _verbish(nxt) or not nxt[0].islower() or match.string[match.end() :].startswith("'s"):
        return "a person"
    return ""


def _simple(pattern: re.Pattern, kind: str, scrub: Scrub, text: str, keep=lambda run: False) -> str:
    def replace(match: re.Match) -> str:
        run = match.group("run")
        if keep(run):
            return match.group(0)
        scrub.add(re.sub(r"\s?[™®©]$", "", run), kind)
        return _generic(match, kind)

    return pattern.sub(replace, text)


def _words(table: dict[str, str], kind: str, scrub: Scrub, text: str) -> str:
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, table), key=len, reverse=True)) + r")\b", re.I)

    def replace(match: re.Match) -> str:
        scrub.add(match.group(1).lower(), kind)
        return table[match.group(1).lower()]

    return pattern.sub(replace, text)


def _tidy(text: str) -> str:
    """Repair what removals leave behind: doubled spaces, orphan punctuation, dangling 'reads', lower-case starts."""
    text = re.sub(r",?\s*\x00\s*,?", "", text)  # a dropped apposition and both its commas
    text = re.sub(r"[ \t]{2,}", " ", text)
    for _ in range(2):  # "A sign reads “Sale” and «Open»." -> "A sign reads and." -> "A sign."
        text = re.sub(r"\s+(?:and|or|but|with|&)\s*(?=[.,;:!?]|$)", "", text)
        text = re.sub(r"\s*\b(?:that\s+)?(?:reads|reading|says|saying|titled|labelled|labeled|captioned|spelling)"
                      r"\s*(?=[,.;:!?]|$)", "", text)
    text = re.sub(r"\b(\w+) (?:and|or) \1\b", r"\1", text)  # "sold shares and shares" -> "sold shares"
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"[,;:]\s*([.!?])", r"\1", text)
    text = re.sub(r"\(\s*\)", "", text)
    text = re.sub(r"\b(a|an|the)\s+(?=[.,;:!?]|$)", "", text, flags=re.I)
    text = re.sub(r"\b([Aa]n?) (?=(\w+))", _fix_article, text)  # "an [iPhone] case" -> "a case"
    text = re.sub(r"^[\s,;:.]+", "", text)
    text = re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def _fix_article(match: re.Match) -> str:
    article, word = match.group(1), match.group(2)
    low = word.lower()
    if word[0].isdigit() or word[0].isupper() and (len(word) == 1 or word.isupper()):
        return match.group(0)  # "an 8-second", "an X-ray", "an NGO": how they are read is not in the spelling
    vowel = (low[0] in "aeiou" and not low.startswith(("one", "uni", "use", "usu", "eu", "ur"))) or low.startswith(
        ("hour", "honest", "honour", "heir")
    )
    right = "an" if vowel else "a"
    return (right.capitalize() if article[0] == "A" else right) + " "


def scrub_text(text: str, strict: bool = False) -> tuple[str, Scrub]:
    scrub = Scrub()
    text = original = text or ""

    def quoted(match: re.Match) -> str:
        inner = next(g for g in match.groups() if g is not None).strip()
        if inner:
            scrub.add(f"“{inner}”", "quote")
        return " "

    text = _QUOTE_RE.sub(quoted, text)
    if strict:
        text = _SINGLE_QUOTE_RE.sub(quoted, text)
    text = re.sub(r"[\"“”«»„]", "", text)  # unpaired marks: Veo reads any quotation mark as "render text here"
    text = _LINK_RE.sub(lambda m: scrub.add(m.group(0), "link") or " ", text)
    text = text.replace("#", "")  # "#Bitcoin" -> "Bitcoin": the word itself is judged below
    text = _simple(_TICKER_RE, "ticker", scrub, text)
    text = _simple(_BRAND_RE, "brand", scrub, text)
    if strict:
        text = _simple(_PRODUCT_RE, "product", scrub, text)
        text = _simple(_ACRONYM_RE, "acronym", scrub, text, keep=lambda run: run in _ALLOWED_ACRONYMS)
    text = _of_names(text, scrub)
    text = _names(text, scrub)
    if scrub.name_tokens:  # "Elon Musk said ... Musk added": the surname alone, even at a sentence start
        text = _names(text, scrub)
    if strict:
        text = _words(MINORS, "minor", scrub, text)
        text = _words(VIOLENCE, "violence", scrub, text)
    # Report in reading order, not in the order the passes ran.
    lowered = original.lower()
    scrub.removed.sort(key=lambda entry: (lowered.find(entry[0].strip("“”").lower()) + 1) or len(original) + 1)
    return _tidy(text), scrub


def strip_names(text: str) -> tuple[str, list[str]]:
    """Remove what Veo cannot depict or will refuse: names (as roles or 'a person'), tickers, brands, quoted text."""
    cleaned, scrub = scrub_text(text)
    return cleaned, [item for item, _ in scrub.removed]


def note_for(removed: list[tuple[str, str]]) -> str | None:
    if not removed:
        return None
    items = [item for item, _ in removed]
    labels: list[str] = []
    for _, kind in removed:
        if _KIND_LABELS[kind] not in labels:
            labels.append(_KIND_LABELS[kind])
    count = f"{len(items)} item{'s' if len(items) != 1 else ''}"
    return f"Left out {count} Veo cannot show or may refuse ({', '.join(labels)}): {', '.join(items)}."


def merge(*groups: list[tuple[str, str]]) -> list[tuple[str, str]]:
    merged: list[tuple[str, str]] = []
    seen: set[str] = set()
    for group in groups:
        for item, kind in group:
            if item.lower() not in seen:
                seen.add(item.lower())
                merged.append((item, kind))
    return merged
