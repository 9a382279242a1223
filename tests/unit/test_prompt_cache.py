"""Claude's prompts cached by what they were written from (logic/style.compose, dal/prompt_cache):
a hit makes no Claude call, a style change asks again, each call made counts toward the
owner's quota; a scene is sent with its neighbours' narration (capped), not the whole script."""

import time

import boto3
import pytest
from moto import mock_aws

from broll_common import config, prompts
from broll_common.dal import projects as storage
from broll_common.dal.prompt_cache import TTL_S, DynamoPromptCache, get_prompt_cache
from broll_common.logic import style
from broll_common.models.domain import Scene, TimeRange
from broll_common.prompts import ComposedPrompt, PromptError
from fake_anthropic import fake_anthropic  # noqa: F401 (the fixture)

BODY = (
    "Wide shot, slow crane down. A sleeper train pulls out of a station at dusk, steam curling through warm "
    "lamplight as the carriages glide past the centre of the frame. Sound: wheels on rails."
)


class MemoryCache:
    def __init__(self):
        self.items: dict[str, ComposedPrompt] = {}

    def get(self, key):
        return self.items.get(key)

    def put(self, key, prompt):
        self.items[key] = prompt


def scene(scene_id: str, text: str, **fields) -> Scene:
    return Scene(sceneId=scene_id, sceneTitle=scene_id.title(), text=text,
                 timeRange=TimeRange(start=0, end=6, label="0:00–0:06"), **fields)


def record(*scenes: Scene, look: str = "") -> storage.ProjectRecord:
    broll = {"scenes": [storage.scene_document(s) for s in scenes], "ownerId": "ann"}
    if look:
        broll["style"] = {"look": look}
    return storage.ProjectRecord("p", {"ownerId": "ann"}, {"script": " ".join(s.text for s in scenes)}, {}, {}, broll)


SCENES = (scene("hook", "Night trains are back. " * 30), scene("main", "Funding for sleeper routes was announced."),
          scene("cta", "Operators expect full carriages by winter. " * 30), scene("outro", "Far away, unrelated words."))


@pytest.fixture
def counted(monkeypatch):
    """Owners of the Claude calls counted toward a quota."""
    calls = []
    monkeypatch.setattr(style.quota, "record_prompt", calls.append)
    return calls


@pytest.fixture
def cache():
    with get_prompt_cache.use(MemoryCache()) as fake:
        yield fake


def test_a_hit_makes_no_claude_call_and_a_miss_is_counted(fake_anthropic, cache, counted):
    fake_anthropic.answer(BODY)
    first = style.compose(record(*SCENES), SCENES[1])
    second = style.compose(record(*SCENES), SCENES[1])
    assert len(fake_anthropic.requests) == 1 and counted == ["ann"]
    assert first == second and first.source == "claude"
    # A sub-shot, other instructions or other narration is another prompt.
    style.compose(record(*SCENES), SCENES[1], (2, 3))
    style.compose(record(*SCENES), SCENES[1].model_copy(update={"shotInstructions": "a night platform"}))
    assert len(fake_anthropic.requests) == 3 and counted == ["ann"] * 3


def test_a_style_change_asks_again_and_the_same_style_is_a_hit(fake_anthropic, cache, counted):
    """Claude is told the project style and writes the body to it: another style is another prompt."""
    fake_anthropic.answer(BODY)
    style.compose(record(*SCENES), SCENES[1])
    locked = style.compose(record(*SCENES, look="archival 16mm film"), SCENES[1])
    assert len(fake_anthropic.requests) == 2 and counted == ["ann"] * 2 and len(cache.items) == 2
    assert "look: archival 16mm film" in str(fake_anthropic.requests[1].body)  # what Claude is told is keyed
    new_suffix = style.prompt_request(record(*SCENES, look="archival 16mm film"), SCENES[1]).style.suffix()
    assert locked.text.endswith(new_suffix) and locked.text.count("16mm") == 1
    # The same style asked again: the kept prompt, no call, nothing counted.
    assert style.compose(record(*SCENES, look="archival 16mm film"), SCENES[1]) == locked
    assert len(fake_anthropic.requests) == 2 and counted == ["ann"] * 2


def test_the_answer_is_kept_before_the_caller_goes_on(fake_anthropic, cache, counted):
    """A request that times out after Claude answered (its scene write never made) pays nothing again."""
    fake_anthropic.answer(BODY)
    style.compose(record(*SCENES), SCENES[1])
    assert len(cache.items) == 1
    fake_anthropic.error(529)  # Claude down now: the kept prompt still serves
    assert style.compose(record(*SCENES), SCENES[1]).source == "claude"


def test_a_failed_call_keeps_nothing_and_still_counts(fake_anthropic, cache, counted):
    fake_anthropic.error(529)
    with pytest.raises(PromptError):
        style.compose(record(*SCENES), SCENES[1])
    assert cache.items == {} and counted == ["ann"]


def test_without_a_claude_key_nothing_is_cached_or_counted(monkeypatch, cache, counted):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    config.reset_settings()
    assert style.compose(record(*SCENES), SCENES[1]).source == "local"
    assert cache.items == {} and counted == []


def test_the_scene_goes_with_its_neighbours_narration_capped_not_the_script():
    context = style.prompt_request(record(*SCENES), SCENES[1]).context
    assert context.startswith("Before: ") and "\nAfter: Operators expect" in context
    assert "Far away" not in context  # only the neighbours
    assert len(context) <= style.CONTEXT_CHARS + len("Before: \nAfter: ")
    assert style.prompt_request(record(*SCENES), SCENES[0]).context.startswith("After: Funding")


def test_the_dynamo_cache_keeps_a_prompt_for_thirty_days(monkeypatch):
    with mock_aws():
        monkeypatch.setenv("USAGE_TABLE", "usage_cache_unit")
        config.reset_settings()
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(TableName="usage_cache_unit", BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                               {"AttributeName": "sk", "AttributeType": "S"}])
        cache = DynamoPromptCache()
        kept = ComposedPrompt(text=BODY, source="claude", removed=["Maria Lopez"], note="A senator is shown instead.")
        assert cache.get("abc") is None
        cache.put("abc", kept)
        assert cache.get("abc") == kept
        item = ddb.get_item(TableName="usage_cache_unit", Key={"pk": {"S": "prompt#abc"}, "sk": {"S": "prompt"}})["Item"]
        assert abs(int(item["expiresAt"]["N"]) - (time.time() + TTL_S)) < 60 and TTL_S == 30 * 86400
        # Past its time (TTL deletes late): a miss.
        monkeypatch.setattr(time, "time", lambda: 2e10)
        assert cache.get("abc") is None
