"""The local composer: a readable Veo prompt from the scene alone, without an LLM.

Camera and light from the scene type (or the sub-shot), the subject from the person's shot instructions, a
news topic the narration matches (topics.py) or its concrete words, then setting, sound and the style lock,
all within the Veo prompt rules. Strict mode is the cautious variant used after a content-policy refusal.
"""

from __future__ import annotations

import re

from .model import ComposedPrompt, PromptRequest
from .scrub import MINORS, STOP_WORDS, VIOLENCE, merge, note_for, scrub_text, strip_names
from .text import article, sentence, trim_words
from .topics import CTA_TOPIC, GENERIC_SCENE, match_topic, mentions_cta

MIN_WORDS, MAX_WORDS = 50, 150

CAMERA_BY_TYPE = {
    "hook": "Close-up, slow dolly push-in, eye-level angle.",
    "main": "Medium shot, smooth vertical crane down, slight high angle.",
    "cta": "Wide establishing shot, slow tilt up, low angle.",
    "other": "Medium shot, gentle handheld drift.",
}

LIGHTING_BY_TYPE = {
    "hook": "Dramatic low-key lighting with soft rim light.",
    "main": "Soft natural daylight.",
    "cta": "Warm golden-hour light.",
    "other": "Soft natural light.",
}
NIGHT_LIGHTING = "Cool night light with warm street lamps and soft reflections."

# A long scene covered by several 8 s clips: classic coverage, wide -> medium -> close -> detail -> overhead,
# each with its own framing focus, so consecutive clips never repeat the same picture.
SUBSHOT_CAMERAS = (
    ("Wide establishing shot, slow vertical crane down, eye-level angle.", "The frame takes in the whole place"),
    ("Medium shot, smooth dolly push-in, slight high angle.", "The frame stays on the subject and the action"),
    ("Close-up, slow tilt up, eye-level angle.", "The frame stays close on hands, materials and small movements"),
    ("Extreme close-up, static camera, very shallow focus.", "The frame isolates one telling detail of the scene"),
    ("Overhead top-down shot, slow crane up.", "Seen from above, the pattern of the place fills the frame"),
)

_TIME_WORDS = {
    "night": "at night", "tonight": "at night", "midnight": "at midnight", "evening": "in the evening",
    "dusk": "at dusk", "dawn": "at dawn", "sunrise": "at sunrise", "sunset": "at sunset",
    "morning": "in the early morning", "afternoon": "in the afternoon", "winter": "on a winter day",
    "summer": "on a summer day", "spring": "on a spring day", "autumn": "on an autumn day",
}
_NIGHT = {"night", "tonight", "midnight", "evening", "dusk"}
# Words that are no picture at all: "A scene about night, trains, back" was the old composer's problem.
_ABSTRACT = set(
    "back way thing things part lot time times year years week weeks month months day days percent number "
    "numbers people person report reports news story stories fact facts plan plans deal deals issue issues "
    "problem problems question questions reason reasons change changes level levels rise fall growth record "
    "point points end start group groups world country countries nation state states area areas place places "
    "company companies analysts experts officials term terms case cases move moves side sides kind sort "
    "billion billions million millions trillion percent quarter half first second third last next latest "
    "while during despite against amid among within without around through across toward towards since "
    "subscribe follow like share comment channel video videos watch".split()
)
_VERBS = set(
    "rose fell grew rises falls grows expands expand expanded announced announce announces show shows showed "
    "make makes made take takes took get gets got give gives gave see sees saw come comes came go goes went "
    "keep keeps kept hit hits set sets let lets put puts cut cuts plan plans say says said tell tells told "
    "spoke speak speaks warned warns want wants need needs think thinks thought know knows knew look looks "
    "become becomes became seem seems seemed remain remains remained continue continues continued".split()
)
_ENGLISH_HINTS = {"the", "a", "an", "of", "and", "in", "on", "at", "with", "to", "is", "are", "for", "from", "by"}
_FOREIGN_HINTS = set(
    "de la le les des un une el los las der die das und ein eine il di che per por para com não och het een "
    "van dans sur avec mit und auf zu del al y et est sont".split()
)
_IMPERATIVE_RE = re.compile(
    r"^(?:please\s+)?(?:show(?:\s+me|\s+us)?|depict|film|i\s+want(?:\s+to\s+see)?|we\s+see|let'?s\s+see|give\s+me)\s+",
    re.I,
)
STRICT_PEOPLE = "People appear only as anonymous figures seen from behind or at a distance, faces not identifiable."


def _looks_english(text: str) -> bool:
    words = re.findall(r"[^\W\d_]+", text.lower())
    if len(words) < 4:
        return True
    if _ENGLISH_HINTS & set(words):
        return True
    return not (_FOREIGN_HINTS & set(words) or re.search(r"[^\x00-\x7f]", text))


def keywords(text: str, limit: int = 6) -> list[str]:
    """Concrete-looking content words in order: no stop words, abstract nouns, common verbs or -ly/-ed forms."""
    seen: list[str] = []
    for word in re.findall(r"[A-Za-z][A-Za-z-]{2,}", text):
        low = word.lower()
        if low in STOP_WORDS or low in _ABSTRACT or low in _VERBS or low in MINORS or low in VIOLENCE:
            continue
        if low.endswith("ly") or (low.endswith("ed") and len(low) > 4):
            continue
        if low not in seen:
            seen.append(low)
    return seen[:limit]

def _time_of(text: str) -> str | None:
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in _TIME_WORDS:
            return word
    return None

_PLACES = {
    "desert": "a desert", "deserts": "a desert", "city": "a city", "cities": "a city", "street": "a street",
    "streets": "a street", "harbour": "a harbour", "harbor": "a harbour", "port": "a port", "village": "a village",
    "villages": "a village", "countryside": "the countryside", "mountains": "the mountains", "coast": "the coast",
    "beach": "a beach", "forest": "a forest", "forests": "a forest", "farm": "a farm", "farms": "a farm",
    "office": "an office", "offices": "an office", "factory": "a factory", "mine": "a mine", "mines": "a mine",
    "river": "a river", "sea": "the sea", "ocean": "the ocean", "fields": "open fields", "station": "a station",
    "suburbs": "the suburbs", "island": "an island", "islands": "an island", "town": "a town", "towns": "a town",
}


def _noun_phrase(text: str) -> tuple[str, str]:
    """The first run of adjacent concrete words ("copper mining") and a place word ("in a desert"), if any."""
    content = set(keywords(text, 50))
    runs: list[list[str]] = [[]]
    place = ""
    for word in re.findall(r"[A-Za-z][A-Za-z-]*|[^\sA-Za-z]", text):
        low = word.lower()
        if low in _PLACES:
            place = place or _PLACES[low]
            runs.append([])
        elif low in content:
            runs[-1].append(low)
        else:
            runs.append([])
    phrase = next((" ".join(run[:3]) for run in runs if run), "")
    return phrase, place


_MASS = set("water rain snow oil gas gold copper steel coffee food traffic energy money power wheat grain sand".split())


def _subject_from_nouns(phrase: str, place: str, n: int) -> str:
    last = phrase.split()[-1] if phrase else ""
    if last and not (last.endswith(("s", "ing", "ion")) or last in _MASS):
        phrase = article(phrase)  # "old lighthouse keeper" -> "an old lighthouse keeper"
    if place:
        phrase = f"{phrase} in {place}" if phrase else place
    variants = (
        f"A scene of {phrase}: one person in the middle of it carries out a single, continuous, everyday action.",
        f"{phrase[0].upper() + phrase[1:]} seen up close, with a person's hands at work in the foreground.",
        f"{phrase[0].upper() + phrase[1:]} in context, as people pass calmly through the frame.",
    )
    return variants[(n - 1) % 3]


def compose_locally(request: PromptRequest, *, strict: bool = False) -> ComposedPrompt:
    """A readable Veo prompt without an LLM: camera, subject and action, setting, light, sound, style."""
    scene_type = request.scene_type if request.scene_type in CAMERA_BY_TYPE else "other"
    n, count = request.shot or (1, 1)
    instructions, s_instr = scrub_text(request.shot_instructions, strict)
    narration, s_narr = scrub_text(request.scene_text, strict)
    removed = merge(s_instr.removed, s_narr.removed)
    notes: list[str] = []

    instructions = _IMPERATIVE_RE.sub("", instructions).strip()
    if instructions and not _looks_english(instructions):
        notes.append("the shot instructions are not in English, so the local composer could not use them")
        instructions = ""
    story = narration if _looks_english(narration) else ""
    topic = match_topic(story) or (CTA_TOPIC if scene_type == "cta" or mentions_cta(story) else None)

    if count > 1:
        camera, focus = SUBSHOT_CAMERAS[(n - 1) % len(SUBSHOT_CAMERAS)]
        moment = "as the moment begins" if n == 1 else "as the moment comes to rest" if n == count else "midway through"
        framing = f"{focus}, {moment}."
    else:
        camera, framing = CAMERA_BY_TYPE[scene_type], ""

    if instructions:
        subject = sentence(trim_words(instructions, 70))
    elif topic:
        subject = topic.moments[(n - 1) % 3]
    elif any(phrase_place := _noun_phrase(story)):
        subject = _subject_from_nouns(*phrase_place, n)
    else:
        context_topic = match_topic(strip_names(request.context)[0]) if _looks_english(request.context) else None
        subject = (context_topic.moments if context_topic else GENERIC_SCENE)[(n - 1) % 3]
    if strict:
        subject, s_subject = scrub_text(subject, strict=True)
        removed = merge(removed, s_subject.removed)

    time_word = _time_of(" ".join([instructions, story]))
    setting = f"The moment takes place {_TIME_WORDS[time_word]}." if time_word else ""
    lighting = NIGHT_LIGHTING if time_word in _NIGHT else LIGHTING_BY_TYPE[scene_type]
    sound = f"Sound: {topic.sound}." if topic else "Sound: the natural ambience of the place."
    suffix = request.style.suffix()
    parts = [camera, subject, framing, setting, lighting, STRICT_PEOPLE if strict else "", sound, suffix]
    text = " ".join(p for p in parts if p)
    excess = len(text.split()) - MAX_WORDS
    if excess > 0:  # long instructions (or a long style lock): the subject gives way, never the rules
        parts[1] = trim_words(subject, max(12, len(subject.split()) - excess))
        text = " ".join(p for p in parts if p)
    if len(text.split()) < MIN_WORDS:  # still within Veo's sweet spot, and says something useful about movement
        extra = "The camera moves slowly and steadily, keeping the subject in the centre of the vertical frame."
        parts.insert(len(parts) - 1, extra)
        text = " ".join(p for p in parts if p)

    note = note_for(removed)
    if notes:
        extra = "; ".join(notes)
        note = (note[:-1] + "; " + extra + ".") if note else extra[0].upper() + extra[1:] + "."
    return ComposedPrompt(text=text, source="local", removed=[item for item, _ in removed], note=note)
