"""Claude's side of prompts (prompts/claude.py and the SDK call, clients/claude.py), against a real HTTP fake of the Messages API (fake_anthropic.py).

The real `anthropic` SDK sends every request over a socket, so these tests see the exact body
(scene, neighbouring context, instructions, style lock, sub-shot, output_config schema, no sampling knobs) and
every kind of answer: a structured prompt, a name Claude left in, malformed JSON, a refusal, errors.
"""

import json

import anthropic
import pydantic
import pytest

from broll_common import config, prompts
from broll_common.clients import claude as claude_client
from broll_common.prompts import (
    STYLE_SUFFIX,
    PromptError,
    PromptRequest,
    compose,
    rewrite_for_policy,
)
from tests.unit.prompt_samples import NEWS_STYLE as STYLE
from fake_anthropic import fake_anthropic  # noqa: F401 (the fixture)

CONTEXT = "Before: Night trains are back.\nAfter: Operators expect full carriages by winter. Follow for more."
REQUEST = PromptRequest(
    scene_type="main",
    scene_title="The funding",
    scene_text="Senator Maria Lopez announced funding for sleeper routes on Tuesday.",
    shot_instructions="A sleeper train pulling out of a station at dusk, steam in the lamplight",
    context=CONTEXT,
    style=STYLE,
)
GOOD = (
    "Wide shot, slow crane down, eye-level angle. A sleeper train pulls out of a station platform at dusk, "
    "steam curling through warm lamplight as the carriages glide past the centre of the frame. A quiet station "
    "in the early evening. Soft lamplight with a cool sky. Sound: wheels on rails and a distant whistle."
)


def user_text(body: dict) -> str:
    (message,) = body["messages"]
    assert message["role"] == "user"
    content = message["content"]
    return content if isinstance(content, str) else "".join(part["text"] for part in content)


def test_request_carries_scene_context_instructions_style_and_schema(fake_anthropic):
    fake_anthropic.answer(GOOD + " " + STYLE.suffix())
    compose(REQUEST)

    (request,) = fake_anthropic.requests
    assert request.path == "/v1/messages"
    # SDK 2.10 sends the key as "Authorization: Bearer", older SDKs as x-api-key: either reaches Anthropic.
    key = "sk-ant-test-fake"
    assert request.headers.get("authorization") == f"Bearer {key}" or request.headers.get("x-api-key") == key
    body = request.body
    text = user_text(body)
    assert REQUEST.scene_text in text
    assert CONTEXT in text and "<script>" not in text
    assert REQUEST.shot_instructions in text
    assert REQUEST.scene_title in text
    assert STYLE.suffix() in text
    assert "teal-and-amber" in text and "35mm" in text
    assert "Sub-shot" not in text  # only when the scene is split
    assert "4242" not in text  # the seed goes to Kie, not into words
    assert body["model"] == "claude-haiku-5-5"
    assert "Veo" in body["system"] and "9:16" in body["system"] and "no dialogue" in body["system"]
    assert "Never name a real person" in body["system"] and "quotation" in body["system"]
    # The 5.5 models reject sampling knobs, prefill and forced tool use.
    for knob in ("temperature", "top_p", "top_k", "tool_choice", "tools"):
        assert knob not in body
    assert body["messages"][-1]["role"] == "user"
    # Structured output: the JSON schema messages.parse would send for the answer model.
    fmt = body["output_config"]["format"]
    assert fmt["type"] == "json_schema"
    schema = fmt["schema"]
    assert schema == anthropic.transform_schema(prompts.claude._ClaudeAnswer)
    assert schema["additionalProperties"] is False
    assert {"prompt", "removed", "note"} <= set(schema["properties"]) and "prompt" in schema["required"]


def test_same_schema_as_messages_parse_would_send(fake_anthropic):
    fake_anthropic.answer(GOOD)
    compose(REQUEST)
    client = anthropic.Anthropic(api_key="sk-ant-test-fake", base_url=fake_anthropic.url, max_retries=0)
    client.messages.parse(model="m", max_tokens=10, messages=[{"role": "user", "content": "x"}],
                          output_format=prompts.claude._ClaudeAnswer)
    ours, parse = (r.body["output_config"] for r in fake_anthropic.requests)
    assert ours == parse


def test_sdk_parse_hides_a_refusal_behind_a_validation_error(fake_anthropic):
    """Why clients/claude.py calls messages.create: parse validates the text first, so stop_reason is never seen."""
    fake_anthropic.refuse()
    client = anthropic.Anthropic(api_key="sk-ant-test-fake", base_url=fake_anthropic.url, max_retries=0)
    with pytest.raises(pydantic.ValidationError):
        client.messages.parse(model="m", max_tokens=10, messages=[{"role": "user", "content": "x"}],
                              output_format=prompts.claude._ClaudeAnswer)


def test_sub_shot_is_in_the_request(fake_anthropic):
    fake_anthropic.answer(GOOD)
    compose(PromptRequest(**{**REQUEST.__dict__, "shot": (2, 3)}))
    text = user_text(fake_anthropic.last)
    assert "Sub-shot 2 of 3" in text
    assert "distinct moment of the same scene" in text


def test_answer_is_returned_with_the_suffix_exactly_once(fake_anthropic):
    fake_anthropic.answer(GOOD + " " + STYLE.suffix(), removed=[{"item": "Maria Lopez", "reason": "real person"}],
                          note="Left out the senator's name; shown as a train instead.")
    out = compose(REQUEST)
    assert out.source == "claude"
    assert out.text.startswith("Wide shot, slow crane down")
    assert out.text.endswith(STYLE.suffix())
    assert out.text.count(STYLE.suffix()) == 1
    assert out.removed == ["Maria Lopez"]
    assert out.note == "Left out the senator's name; shown as a train instead."


def test_suffix_added_when_claude_forgot_it_and_deduplicated_when_twice(fake_anthropic):
    fake_anthropic.answer(GOOD)
    assert compose(REQUEST).text == f"{GOOD} {STYLE.suffix()}"
    fake_anthropic.replies.clear()
    fake_anthropic.answer(f"{GOOD} {STYLE.suffix()} {STYLE.suffix()}")
    assert compose(REQUEST).text.count(STYLE.suffix()) == 1


def test_default_style_is_the_standard_suffix(fake_anthropic):
    fake_anthropic.answer(GOOD)
    out = compose(PromptRequest("hook", "Hook", "Trains are back.", "", "Trains are back."))
    assert out.text.endswith(STYLE_SUFFIX)
    assert STYLE_SUFFIX in user_text(fake_anthropic.last)


def test_a_name_claude_left_in_is_stripped_and_reported(fake_anthropic):
    fake_anthropic.answer(
        "Medium shot, slow tilt up. Senator Maria Lopez stands at a podium in a marble hall and raises one hand "
        "toward the listeners. Soft window light.",
        removed=[],
    )
    out = compose(REQUEST)
    assert "Maria" not in out.text and "Lopez" not in out.text
    assert "A senator stands at a podium" in out.text
    assert out.removed == ["Maria Lopez"]
    assert out.note and "Maria Lopez" in out.note
    assert out.text.endswith(STYLE.suffix())


def test_quotes_claude_left_in_are_removed(fake_anthropic):
    fake_anthropic.answer('Close-up of a station board that reads "DEPARTURES" as a train passes at night.')
    out = compose(REQUEST)
    assert '"' not in out.text and "DEPARTURES" not in out.text


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda f: f.malformed(), "not the structured prompt"),
        (lambda f: f.message("Sure! Here is a prompt: a train at night."), "not the structured prompt"),
        (lambda f: f.message(json.dumps({"prompt": "x"})), "not the structured prompt"),  # schema mismatch
        (lambda f: f.message(json.dumps({"prompt": "x", "removed": [], "note": ""}), stop_reason="max_tokens"),
         "cut off"),
        (lambda f: f.refuse(), "declined"),
        (lambda f: f.message(None, stop_reason="refusal"), "declined"),
        (lambda f: f.answer("   "), "empty prompt"),
        (lambda f: f.answer(STYLE.suffix()), "empty prompt"),
        (lambda f: f.error(500), "server error (HTTP 500)"),
        (lambda f: f.error(529), "overloaded right now (HTTP 529)"),
        (lambda f: f.error(429), "rate-limiting requests (HTTP 429)"),
        (lambda f: f.error(401, "invalid x-api-key"), "refused the API key (HTTP 401)"),
        (lambda f: f.error(404, "model: claude-haiku-9"), "rejected the request (HTTP 404: model: claude-haiku-9)"),
        (lambda f: f.error(400, "temperature: not supported"), "HTTP 400: temperature: not supported"),
    ],
)
def test_every_failure_is_a_prompt_error_with_a_sentence(fake_anthropic, setup, expected):
    setup(fake_anthropic)
    with pytest.raises(PromptError) as caught:
        compose(REQUEST)
    assert expected in caught.value.message
    assert caught.value.message.startswith("Claude")
    assert caught.value.message.endswith(".")
    assert caught.value.status == 502
    assert len(fake_anthropic.requests) == 1  # max_retries=0 from ANTHROPIC_MAX_RETRIES


def test_exact_messages_for_the_main_failures(fake_anthropic):
    expected = {
        "refuse": "Claude declined to write a prompt for this scene; edit the shot instructions or write the prompt "
        "yourself.",
        "malformed": "Claude's answer was not the structured prompt that was asked for; try again.",
    }
    for how, message in expected.items():
        fake_anthropic.replies.clear()
        getattr(fake_anthropic, how)()
        with pytest.raises(PromptError) as caught:
            compose(REQUEST)
        assert caught.value.message == message
    fake_anthropic.replies.clear()
    fake_anthropic.error(500)
    with pytest.raises(PromptError, match=r"^Claude had a server error \(HTTP 500\); try again in a minute\.$"):
        compose(REQUEST)
    fake_anthropic.replies.clear()
    fake_anthropic.error(401)
    with pytest.raises(PromptError, match=r"^Claude refused the API key \(HTTP 401\); check ANTHROPIC_API_KEY\.$"):
        compose(REQUEST)


def test_unreachable_claude_is_a_prompt_error(fake_anthropic):
    fake_anthropic.stop()  # nothing listens on that port any more
    with pytest.raises(PromptError, match=r"^Claude could not be reached; check the network and try again\.$"):
        compose(REQUEST)


def test_a_slow_claude_is_a_prompt_error(fake_anthropic, monkeypatch):
    monkeypatch.setattr(claude_client, "CLAUDE_TIMEOUT_S", 0.2)
    claude_client._client.cache_clear()  # the cached client holds the old timeout
    fake_anthropic.delay_s = 1.0
    fake_anthropic.answer(GOOD)
    try:
        with pytest.raises(PromptError, match=r"^Claude did not answer within 0.2 seconds; try again\.$"):
            compose(REQUEST)
    finally:
        claude_client._client.cache_clear()


def test_sdk_retries_by_default(fake_anthropic, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_MAX_RETRIES")
    monkeypatch.setattr(anthropic._base_client.BaseClient, "_calculate_retry_timeout", lambda *a, **k: 0.0)
    fake_anthropic.error(529).error(529).answer(GOOD)
    out = compose(REQUEST)
    assert out.source == "claude" and len(fake_anthropic.requests) == 3


def test_rewrite_sends_rejected_prompt_and_reason_and_returns_claudes_prompt(fake_anthropic):
    rejected = "Medium shot of Senator Maria Lopez at a podium. " + STYLE.suffix()
    reason = "Your prompt was flagged by Google's content policy: prominent public figure."
    safer = "Medium shot, slow tilt up. A lawmaker in a grey suit stands at a podium in a marble hall, one hand raised."
    fake_anthropic.answer(safer, removed=[{"item": "Maria Lopez", "reason": "public figure"}],
                          note="Kie refused a public figure, so the senator became an anonymous lawmaker.")
    out = rewrite_for_policy(REQUEST, rejected, reason)

    text = user_text(fake_anthropic.last)
    assert rejected.strip() in text
    assert reason in text
    assert "safer" in text and "content policy" in text
    assert REQUEST.shot_instructions in text and REQUEST.scene_text in text
    assert "temperature" not in fake_anthropic.last
    assert out.source == "claude"
    assert out.text == f"{safer} {STYLE.suffix()}"
    assert out.text != rejected
    assert out.note == "Kie refused a public figure, so the senator became an anonymous lawmaker."
    assert out.removed == ["Maria Lopez"]


def test_rewrite_without_a_note_from_claude_explains_itself(fake_anthropic):
    fake_anthropic.answer("Wide shot, slow crane down. A train crosses a bridge at dusk, lamps glowing inside.")
    out = rewrite_for_policy(REQUEST, "anything else", "public figure")
    assert out.source == "claude"
    assert out.note and "Kie refused" in out.note and "public figure" in out.note


def test_rewrite_falls_back_to_strict_local_when_claude_fails_or_repeats(fake_anthropic):
    fake_anthropic.error(500)
    out = rewrite_for_policy(REQUEST, "the rejected prompt", "public figure")
    assert out.source == "local"
    assert "Maria" not in out.text and out.text.endswith(STYLE.suffix())
    assert "Claude could not help (Claude had a server error (HTTP 500))" in out.note

    fake_anthropic.replies.clear()
    fake_anthropic.answer(GOOD)
    same = f"{GOOD} {STYLE.suffix()}"
    out = rewrite_for_policy(REQUEST, same, "public figure")
    assert out.source == "local" and out.text != same
    assert "repeated the same prompt" in out.note


def test_no_key_means_no_request(fake_anthropic, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "")
    config.reset_settings()
    out = compose(REQUEST)
    assert out.source == "local"
    assert fake_anthropic.requests == []
