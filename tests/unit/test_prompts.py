"""The local prompt composer, the style lock and the names/tickers filter (Veo prompt rules, DESIGN.md)."""

import re

import pytest

from broll_common import config, prompts
from broll_common.prompts import (
    CAMERA_BY_TYPE,
    LIGHTING_BY_TYPE,
    STYLE_SUFFIX,
    ComposedPrompt,
    PromptRequest,
    StyleLock,
    compose,
    compose_locally,
    rewrite_for_policy,
    strip_names,
)
from tests.unit.prompt_samples import NEWS_STYLE as STYLE

QUOTES = "\"“”«»„"
NEWS = (
    "Senator Maria Lopez announced a rail bill on Tuesday. Elon Musk said $TSLA would build trains. "
    "Commuters cheered at the station."
)


@pytest.fixture(autouse=True)
def no_claude(monkeypatch):
    # The developer's shell may hold a real key: these tests are about the local composer.
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    config.reset_settings()


def req(scene_type="main", text="", instructions="", script="", style=StyleLock(), shot=None, title="Scene"):
    return PromptRequest(scene_type, title, text, instructions, script, style, shot)


def words(text: str) -> int:
    return len(text.split())


# --- style lock ---------------------------------------------------------------------------------------------


def test_empty_style_lock_is_todays_suffix():
    assert StyleLock().suffix() == STYLE_SUFFIX
    assert StyleLock(seed=123).suffix() == STYLE_SUFFIX  # the seed is for Kie, never words


def test_style_lock_suffix_carries_every_field_once():
    suffix = STYLE.suffix()
    assert suffix.startswith(
        "Style: documentary news B-roll, cool teal-and-amber grade, 35mm, shallow depth of field, present day, "
        "vertical 9:16"
    )
    assert suffix.endswith("Avoid subtitles, captions, watermark, text overlay, logos.")
    assert "9:16" in suffix and "no dialogue" in suffix
    assert "7" not in suffix


def test_style_lock_drops_quotes_and_trailing_stops():
    suffix = StyleLock(look='"Noir" look.', colour="grey.").suffix()
    assert suffix.startswith("Noir look, grey, shallow depth of field,")
    assert StyleLock(look="archival 16mm film", colour="warm sepia").suffix().startswith(
        "Style: archival 16mm film, warm sepia, shallow depth of field, vertical 9:16"
    )


def test_style_suffix_present_once_and_identical_across_scenes():
    scenes = [
        req("hook", "Oil prices spiked overnight.", "tankers at sea", style=STYLE),
        req("main", NEWS, style=STYLE),
        req("cta", "Subscribe for more.", style=STYLE),
        req("main", "Rates rose again.", style=STYLE, shot=(2, 3)),
    ]
    for out in map(compose_locally, scenes):
        assert out.text.endswith(STYLE.suffix())
        assert out.text.count(STYLE.suffix()) == 1
        assert out.text.count("9:16") == 1


# --- the local composer -------------------------------------------------------------------------------------


@pytest.mark.parametrize("scene_type", ["hook", "main", "cta", "other"])
def test_local_prompt_has_camera_instructions_light_style_and_vertical(scene_type):
    out = compose_locally(req(scene_type, "Factory output rose in spring.", "A robotic arm welding a car door", "s"))
    assert out.source == "local"
    assert out.text.startswith(CAMERA_BY_TYPE[scene_type])
    assert LIGHTING_BY_TYPE[scene_type] in out.text
    assert "A robotic arm welding a car door." in out.text
    assert out.text.endswith(STYLE_SUFFIX)
    assert "9:16" in out.text and "no dialogue" in out.text
    assert MIN_MAX[0] <= words(out.text) <= MIN_MAX[1]


MIN_MAX = (prompts.MIN_WORDS, prompts.MAX_WORDS)


def test_veo_order_camera_subject_light_sound_style():
    text = compose_locally(req("main", "Voters queue as the election nears.")).text
    order = [text.index(CAMERA_BY_TYPE["main"]), text.index("polling station"),
             text.index(LIGHTING_BY_TYPE["main"]), text.index("Sound:"), text.index(STYLE_SUFFIX)]
    assert order == sorted(order)


def test_camera_moves_differ_by_type():
    texts = {t: compose_locally(req(t, "x y z")).text for t in ("hook", "main", "cta")}
    assert "dolly" in texts["hook"] and "crane" in texts["main"] and "tilt" in texts["cta"]
    assert len({t.split(".")[0] for t in texts.values()}) == 3


def test_unknown_type_falls_back_to_other():
    assert compose_locally(req("weird", "Rain on the city.")).text.startswith(CAMERA_BY_TYPE["other"])


def test_news_topics_become_concrete_scenes_not_keyword_soup():
    cases = {
        "Turnout is expected to be high in the election.": "polling station",
        "Inflation pushed prices up again this month.": "market",
        "Night trains are coming back.": "train",
        "The central bank raised interest rates.": "bank",
        "Subscribe for more stories like this.": "smartphone",
    }
    for narration, visual in cases.items():
        text = compose_locally(req("cta" if "Subscribe" in narration else "main", narration)).text
        assert visual in text, (narration, text)
        assert "A scene about" not in text


def test_night_in_the_story_sets_time_and_light():
    text = compose_locally(req("main", "Night trains are coming back.")).text
    assert "at night" in text and prompts.NIGHT_LIGHTING in text
    assert "back" not in text.split(STYLE_SUFFIX)[0]  # the old composer's "A scene about night, trains, back"


def test_without_a_topic_the_narration_gives_a_readable_subject():
    text = compose_locally(req("main", "Copper mining expands across deserts.")).text
    assert "A scene of copper mining in a desert:" in text


def test_imperative_instructions_become_a_subject():
    text = compose_locally(req("main", "", "Show a fisherman mending nets on a quay")).text
    assert "A fisherman mending nets on a quay." in text


def test_no_quotation_marks_in_output():
    out = compose_locally(req(
        "main",
        "The CEO called it “a new era” and said \"buy\" twice, «vraiment».",
        "Show a sign that reads \"OPEN\" over a shop",
        "The whole script with “quotes”.",
    ))
    assert not any(q in out.text for q in QUOTES), out.text
    assert "OPEN" not in out.text and "reads" not in out.text
    assert "“OPEN”" in out.removed


def test_empty_everything_still_makes_a_prompt():
    out = compose_locally(req("other"))
    assert "city" in out.text and out.text.endswith(STYLE_SUFFIX)
    assert MIN_MAX[0] <= words(out.text) <= MIN_MAX[1]
    assert out.removed == [] and out.note is None


def test_long_instructions_are_trimmed_to_150_words():
    long = "A fisherman walks along the harbour wall carrying nets, " * 30
    out = compose_locally(req("main", "", long, style=STYLE, shot=(2, 4)))
    assert words(out.text) <= MIN_MAX[1]
    assert out.text.endswith(STYLE.suffix())


def test_news_scene_naming_people_and_a_ticker_leaves_them_out_and_says_so():
    out = compose_locally(req("hook", NEWS, script=NEWS))
    for gone in ("Maria", "Lopez", "Elon", "Musk", "TSLA", "$"):
        assert gone not in out.text
    assert out.removed == ["Maria Lopez", "Elon Musk", "$TSLA"]
    assert out.note == (
        "Left out 3 items Veo cannot show or may refuse (names, stock tickers): Maria Lopez, Elon Musk, $TSLA."
    )
    assert "train" in out.text  # the story's picture survives the names


def test_names_in_instructions_become_roles_or_people():
    out = compose_locally(req("main", "", "Senator Maria Lopez walks into the chamber while Jerome Powell waves"))
    assert "A senator walks into the chamber while a person waves." in out.text
    assert out.removed == ["Maria Lopez", "Jerome Powell"]


def test_names_and_tickers_from_inputs_are_removed_and_reported():
    out = compose_locally(req(
        "hook",
        "Shares of $TSLA fell after Elon Musk spoke in Texas.",
        "Show a trader while Jerome Powell speaks on a screen",
    ))
    for gone in ("Elon Musk", "Jerome Powell", "$TSLA", "TSLA", "Texas"):
        assert gone not in out.text
    assert set(out.removed) == {"Elon Musk", "Jerome Powell", "$TSLA", "Texas"}
    assert "A trader while a person speaks on a screen." in out.text


def test_non_english_instructions_are_not_sent_to_veo():
    out = compose_locally(req("main", "Les trains de nuit reviennent.", "Un train de nuit traverse la campagne"))
    assert "traverse" not in out.text
    assert out.note and "not in English" in out.note


def test_sub_shots_differ_and_keep_the_style():
    outs = [compose_locally(req("main", "Voters queue as the election nears.", style=STYLE, shot=(n, 3)))
            for n in (1, 2, 3)]
    texts = [o.text for o in outs]
    assert len(set(texts)) == 3
    assert len({t.split(".")[0] for t in texts}) == 3  # a different camera each
    assert texts[0].startswith("Wide") and texts[1].startswith("Medium") and texts[2].startswith("Close-up")
    for text in texts:
        assert text.endswith(STYLE.suffix()) and MIN_MAX[0] <= words(text) <= MIN_MAX[1]


def test_sub_shots_with_instructions_still_differ():
    texts = {compose_locally(req("hook", "x", "A ferry crossing a bay", shot=(n, 4))).text for n in (1, 2, 3, 4)}
    assert len(texts) == 4


def test_sub_shot_out_of_range_is_a_programming_error():
    with pytest.raises(ValueError):
        req(shot=(4, 3))


# --- rewrite after a content-policy refusal -----------------------------------------------------------------


def test_rewrite_locally_removes_more_and_differs_from_the_rejected_prompt():
    request = req("main", "Children watch as Elon Musk unveils the F-150 rival near NASA.",
                  "Show a gunman-free crowd of kids waving at Musk in front of the 'Gigafactory' sign", style=STYLE)
    first = compose_locally(request)
    out = rewrite_for_policy(request, first.text, "Prompt rejected: public figure, minors.")
    assert out.source == "local"
    assert out.text != first.text
    assert out.text.endswith(STYLE.suffix()) and out.text.count(STYLE.suffix()) == 1
    assert prompts.STRICT_PEOPLE in out.text
    body = out.text.split(STYLE.suffix())[0]
    for gone in ("Musk", "kids", "F-150", "NASA", "Gigafactory", "'", "gunman"):
        assert gone not in body, (gone, body)
    assert set(first.removed) < set(out.removed)
    assert out.note.startswith("Kie refused the last prompt (Prompt rejected: public figure, minors)")
    assert "people kept anonymous" in out.note
    assert MIN_MAX[0] <= words(out.text) <= MIN_MAX[1]


def test_rewrite_always_differs_even_from_a_strict_prompt():
    request = req("main", "Rates rose again.")
    strict = compose_locally(request, strict=True).text
    assert rewrite_for_policy(request, strict, "policy").text != strict


def test_rewrite_of_a_short_hand_written_prompt_keeps_its_wording_safely():
    out = rewrite_for_policy(req("hook", NEWS), "Senator Maria Lopez waves at a rally.", "")
    assert "A senator waves at a rally." in out.text
    assert "Lopez" not in out.text and prompts.STRICT_PEOPLE in out.text
    assert out.text.startswith(CAMERA_BY_TYPE["hook"]) and out.text.endswith(STYLE_SUFFIX)
    assert "no reason given" in out.note and "Maria Lopez" in out.removed


def test_rewrite_of_a_full_prompt_keeps_its_camera_and_drops_an_old_style_sentence():
    old_style = StyleLock(look="archival film").suffix()
    rejected = (
        "Low-angle shot, slow tilt up. Elon Musk walks across a factory floor past rows of gleaming cars, "
        "pausing to wave at workers on a mezzanine. Morning light through high windows. Sound: machinery hum. "
        + old_style
    )
    out = rewrite_for_policy(req("main", "Car output rose.", style=STYLE), rejected, "public figure")
    assert out.text.startswith("Low-angle shot, slow tilt up. A person walks across a factory floor")
    assert "archival" not in out.text and out.text.endswith(STYLE.suffix()) and out.text.count("9:16") == 1
    assert out.removed == ["Elon Musk"]


# --- strip_names --------------------------------------------------------------------------------------------


def test_strip_names_mid_sentence_becomes_a_person():
    text, removed = strip_names("Yesterday Elon Musk said the factory would grow.")
    assert text == "Yesterday a person said the factory would grow."
    assert removed == ["Elon Musk"]


def test_strip_names_at_sentence_start_and_surname_later():
    text, removed = strip_names("Elon Musk unveiled a truck. Musk later waved.")
    assert text == "A person unveiled a truck. A person later waved."
    assert removed == ["Elon Musk"]


def test_strip_names_titles_become_roles():
    text, removed = strip_names("Senator Maria Lopez announced it. Then Prime Minister Keir Starmer spoke.")
    assert text == "A senator announced it. Then a prime minister spoke."
    assert removed == ["Maria Lopez", "Keir Starmer"]


def test_strip_names_single_capitalised_names_mid_sentence():
    text, removed = strip_names("Factories opened near Detroit while Powell watched.")
    assert removed == ["Detroit", "Powell"]
    assert text == "Factories opened while a person watched."


def test_strip_names_tickers():
    text, removed = strip_names("Traders sold $TSLA and $AAPL, then NYSE:IBM rallied.")
    assert "$" not in text and "IBM" not in text and "TSLA" not in text
    assert removed == ["$TSLA", "$AAPL", "NYSE:IBM"]


def test_strip_names_nasdaq_ticker():
    text, removed = strip_names("Investors bought NASDAQ:TSLA again.")
    assert "TSLA" not in text and removed == ["NASDAQ:TSLA"]


def test_strip_names_removes_multiword_names_after_sentence_start():
    text, removed = strip_names("The market fell. Then Jerome Powell spoke at the Federal Reserve Board.")
    assert removed == ["Jerome Powell", "Federal Reserve Board"]
    assert "Powell" not in text and "Reserve" not in text
    assert text == "The market fell. Then a person spoke at the board."


def test_strip_names_brands_and_places_keep_the_sentence_readable():
    text, removed = strip_names("A woman films the Golden Gate Bridge with an iPhone for YouTube.")
    assert text == "A woman films the bridge."
    assert removed == ["Golden Gate Bridge", "iPhone", "YouTube"]


def test_strip_names_keeps_ordinary_text_and_allowed_words():
    for ordinary in (
        "A quiet harbour at dawn. Boats rock gently on grey water.",
        "Medium shot, Dutch angle, Steadicam glide. A woman walks in January light across Europe.",
        "The Senator said the bill passed.",
    ):
        assert strip_names(ordinary) == (ordinary, [])


def test_strip_names_removes_quoted_text_and_says_so():
    text, removed = strip_names("A banner reads “Sale” and a man smiles.")
    assert text == "A banner and a man smiles."
    assert removed == ["“Sale”"]
    assert strip_names('He said "wow"')[0] == "He said"


def test_strip_names_removes_stray_quote_marks():
    assert strip_names("A sign  with a ” mark.")[0] == "A sign with a mark."


# --- compose() chooses ----------------------------------------------------------------------------------------


def test_compose_uses_local_composer_without_anthropic_key(monkeypatch):
    monkeypatch.setattr(prompts, "compose_with_claude", lambda r: pytest.fail("Claude called without a key"))
    request = req("hook", "Oil prices spiked overnight.", "tankers at sea", "script")
    out = compose(request)
    assert out.source == "local"
    assert out.text == compose_locally(request).text


def test_compose_uses_claude_when_key_set(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    config.reset_settings()
    seen = []
    monkeypatch.setattr(prompts, "compose_with_claude",
                        lambda r: seen.append(r) or ComposedPrompt(text="claude prompt", source="claude", removed=[]))
    request = req("hook", "scene text", "instr", "whole script", title="Hook")
    assert compose(request).source == "claude"
    assert seen == [request]


def test_empty_key_counts_as_unset(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "")
    config.reset_settings()
    monkeypatch.setattr(prompts, "compose_with_claude", lambda r: pytest.fail("called Claude"))
    assert compose(req("main", "Rates rose.")).source == "local"


def test_keywords_skip_stopwords_abstract_words_and_dedupe():
    assert prompts.keywords("The the copper COPPER mine and the mine is new", limit=5) == ["copper", "mine"]
    assert "back" not in prompts.keywords("Night trains are coming back")
    assert re.fullmatch(r"[a-z-]+", "".join(prompts.keywords("Electric-vehicle sales jumped")))
