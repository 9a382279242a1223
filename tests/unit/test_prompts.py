"""The local prompt composer and the names/tickers filter (Veo prompt rules, DESIGN.md)."""

import re

import pytest

from broll_common import config, prompts
from broll_common.prompts import CAMERA_BY_TYPE, LIGHTING_BY_TYPE, STYLE_SUFFIX, compose, compose_locally, strip_names

QUOTES = "\"“”«»"


@pytest.mark.parametrize("scene_type", ["hook", "main", "cta", "other"])
def test_local_prompt_has_camera_instructions_style_and_vertical(scene_type):
    out = compose_locally(scene_type, "Factory output rose in spring.", "A robotic arm welding a car door", "script")
    assert out.source == "local"
    assert out.text.startswith(CAMERA_BY_TYPE[scene_type])
    assert LIGHTING_BY_TYPE[scene_type] in out.text
    assert "A robotic arm welding a car door." in out.text
    assert out.text.endswith(STYLE_SUFFIX)
    assert "9:16" in out.text


def test_camera_moves_differ_by_type():
    texts = {t: compose_locally(t, "x y z", "", "").text for t in ("hook", "main", "cta")}
    assert "dolly" in texts["hook"]
    assert "crane" in texts["main"]
    assert "tilt" in texts["cta"]
    assert len({t.split(".")[0] for t in texts.values()}) == 3


def test_unknown_type_falls_back_to_other():
    out = compose_locally("weird", "Rain on the city.", "", "")
    assert out.text.startswith(CAMERA_BY_TYPE["other"])


def test_style_suffix_identical_across_scenes():
    a = compose_locally("hook", "Oil prices spiked.", "tankers at sea", "s")
    b = compose_locally("cta", "Subscribe for more.", "", "s")
    assert a.text.endswith(STYLE_SUFFIX) and b.text.endswith(STYLE_SUFFIX)


def test_no_quotation_marks_in_output():
    out = compose_locally(
        "main",
        "The CEO called it “a new era” and said \"buy\" twice, «vraiment».",
        "Show a sign that reads \"OPEN\" over a shop",
        "The whole script with “quotes”.",
    )
    assert not any(q in out.text for q in QUOTES), out.text


def test_without_instructions_uses_scene_keywords():
    out = compose_locally("main", "Copper mining expands across deserts.", "", "")
    assert "copper" in out.text
    assert "mining" in out.text


def test_empty_everything_still_makes_a_prompt():
    out = compose_locally("other", "", "", "")
    assert "city" in out.text and out.text.endswith(STYLE_SUFFIX)
    assert 20 <= len(out.text.split()) <= 150


def test_names_and_tickers_from_inputs_are_removed_and_reported():
    out = compose_locally(
        "hook",
        "Shares of $TSLA fell after Elon Musk spoke in Texas.",
        "Show a trader while Jerome Powell speaks on a screen",
        "",
    )
    for gone in ("Elon Musk", "Jerome Powell", "$TSLA", "TSLA"):
        assert gone not in out.text
    assert set(out.removed) == {"Elon Musk", "Jerome Powell", "$TSLA"}


def test_strip_names_mid_sentence():
    text, removed = strip_names("Yesterday Elon Musk said the factory would grow.")
    assert "Elon" not in text and "Musk" not in text
    assert removed == ["Elon Musk"]
    assert text == "Yesterday said the factory would grow."


def test_strip_names_tickers():
    text, removed = strip_names("Traders sold $TSLA and $AAPL, then NYSE:IBM rallied.")
    assert "$" not in text and "IBM" not in text
    assert removed == ["$TSLA", "$AAPL", "NYSE:IBM"]


def test_strip_names_removes_multiword_names_after_sentence_start():
    text, removed = strip_names("The market fell. Then Jerome Powell spoke at the Federal Reserve Board.")
    assert "Jerome Powell" in removed and "Federal Reserve Board" in removed
    assert "Powell" not in text and "Reserve" not in text
    assert text.startswith("The market fell. Then")


def test_strip_names_keeps_ordinary_text():
    text, removed = strip_names("A quiet harbour at dawn. Boats rock gently on grey water.")
    assert removed == []
    assert text == "A quiet harbour at dawn. Boats rock gently on grey water."


def test_strip_names_removes_double_quotes_and_collapses_space():
    text, removed = strip_names("A sign  reads “Sale” and «Open».")
    assert text == "A sign reads Sale and Open."
    assert removed == []


def test_strip_names_nasdaq_ticker():
    text, removed = strip_names("Investors bought NASDAQ:TSLA again.")
    assert "TSLA" not in text


def test_compose_uses_local_composer_without_anthropic_key(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    config.reset_settings()

    def no_claude(*a, **k):
        raise AssertionError("Claude must not be called without a key")

    monkeypatch.setattr(prompts, "compose_with_claude", no_claude)
    out = compose("hook", "Hook", "Oil prices spiked overnight.", "tankers at sea", "script")
    assert out.source == "local"
    assert out.text == compose_locally("hook", "Oil prices spiked overnight.", "tankers at sea", "script").text


def test_compose_uses_claude_when_key_set(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    config.reset_settings()
    seen = {}

    def fake_claude(title, text, instructions, script):
        seen.update(title=title, text=text, instructions=instructions, script=script)
        return prompts.ComposedPrompt(text="claude prompt", source="claude", removed=[])

    monkeypatch.setattr(prompts, "compose_with_claude", fake_claude)
    out = compose("hook", "Hook", "scene text", "instr", "whole script")
    assert out.source == "claude"
    assert seen == {"title": "Hook", "text": "scene text", "instructions": "instr", "script": "whole script"}


def test_empty_key_counts_as_unset(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "")
    config.reset_settings()
    monkeypatch.setattr(prompts, "compose_with_claude", lambda *a: pytest.fail("called Claude"))
    assert compose("main", "Main", "Rates rose.", "", "").source == "local"


def test_keywords_skip_stopwords_and_dedupe():
    assert prompts.keywords("The the copper COPPER mine and the mine is new", limit=5) == ["copper", "mine"]
    assert re.fullmatch(r"[a-z-]+", "".join(prompts.keywords("Electric-vehicle sales jumped")))
