"""Generate All writes no prompt in its request: the claim leaves the prompts to write empty,
and each scene's poll loop writes them on its submit turn, just before it submits (issue 12
item 8). Storage, the prompt writer and the rate limit are fakes here."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from broll_common.logic import plan, style
from broll_common.logic.generation import claim, submit
from broll_common.dal import projects as storage
from broll_common.models.domain import Scene, SceneSlot, SubShot, TimeRange
from broll_common.prompts import ComposedPrompt, PromptError

KEY = SimpleNamespace(value="k" * 32, owner="system", last4="kkkk")


def scene(**fields) -> Scene:
    base = {"sceneId": "main", "sceneTitle": "Main", "text": "Cranes unload a ship at dawn.",
            "timeRange": TimeRange(start=0, end=6, label="0:00–0:06")}
    return Scene(**(base | fields))


def record(*scenes: Scene, style: dict | None = None) -> storage.ProjectRecord:
    broll = {"scenes": [storage.scene_document(s) for s in scenes], "ownerId": "u"}
    if style:
        broll["style"] = style
    return storage.ProjectRecord("p", {"ownerId": "u"}, {"script": "The port at dawn."}, {}, {}, broll)


@pytest.fixture
def composed(monkeypatch):
    """Every prompt written, by whom it was asked for (never the claim's)."""
    calls = []

    def compose(record, scene, shot=None):
        calls.append(shot)
        label = f"shot {shot[0]}" if shot else "scene"
        return ComposedPrompt(text=f"Written prompt for the {label}.", source="local", removed=[])

    monkeypatch.setattr(style, "compose", compose)
    return calls


# ---------------------------------------------------------------- the claim writes none


def test_a_queued_claim_writes_no_prompt_and_leaves_the_missing_one_empty(composed):
    changes = claim._claim_changes(record(scene()), scene(), True, KEY)
    assert composed == []
    assert changes["aiPrompt"] == "" and changes["promptSource"] is None
    assert changes["queued"] is True and changes["status"] == "generating"


def test_a_queued_claim_empties_a_prompt_composed_for_an_older_style_and_keeps_a_persons(composed):
    locked = {"look": "archival 16mm film"}
    old = scene(aiPrompt="Composed before the style lock.", promptSource="local", styleVersion="")
    assert claim._claim_changes(record(old, style=locked), old, True, KEY)["aiPrompt"] == ""
    own = scene(aiPrompt="My own prompt.", promptSource="person", styleVersion="")
    assert "aiPrompt" not in claim._claim_changes(record(own, style=locked), own, True, KEY)
    assert composed == []


def test_a_queued_claim_lays_out_sub_shots_without_writing_their_prompts(composed):
    long = scene(timeRange=TimeRange(start=0, end=20, label=""))
    changes = claim._claim_changes(record(long), long, True, KEY)
    assert composed == []
    assert [s["prompt"] for s in changes["plan"]] == ["", "", ""] and changes["aiPrompt"] == ""


def test_the_single_scene_claim_still_writes_its_prompt_in_the_request(composed):
    changes = claim._claim_changes(record(scene()), scene(), False, KEY)
    assert composed == [None] and changes["aiPrompt"] == "Written prompt for the scene."


# ---------------------------------------------------------------- the loop writes them


@pytest.fixture
def loop(monkeypatch):
    """A submit turn against fakes: what was written, and a rate limit with no free slot
    (so the turn ends right after the prompt, before any Kie call)."""
    seen = SimpleNamespace(writes=[], failed=[], project=None)

    def update_scene(project_id, index, scene_id, changes, **guard):
        seen.writes.append((scene_id, changes, guard))

    monkeypatch.setattr(storage, "load_project", lambda project_id, owner: seen.project)
    monkeypatch.setattr(storage, "update_scene", update_scene)
    monkeypatch.setattr(submit, "_fail", lambda slot, message, reason: seen.failed.append(message))
    monkeypatch.setattr(submit.rate_limit, "try_admit",
                        lambda key: submit.rate_limit.Admission(admitted=False, free_in=(5.0,)))
    return seen


def turn(queued: Scene) -> dict:
    state = {"projectId": "p", "sceneId": queued.sceneId, "sceneIndex": 0, "taskId": None, "generation": queued.generation}
    return submit._submit_turn(SceneSlot("p", 0, queued), state, 1, kie=None, key=KEY)


def test_the_submit_turn_writes_the_missing_prompt_before_asking_for_a_slot(composed, loop):
    queued = scene(status="generating", generation=3, queued=True)
    loop.project = record(queued)
    answer = turn(queued)
    assert composed == [None]
    [(scene_id, changes, guard)] = loop.writes
    assert scene_id == "main" and changes["aiPrompt"] == "Written prompt for the scene."
    # Only while this very generation still waits to be submitted (a cancel wins).
    assert guard["generation"] == 3 and guard["status_in"] == ("generating",) and guard["expect"] == {"taskId": None}
    assert answer["outcome"] == "pending" and answer["taskId"] is None  # then waits for a slot as before


def test_a_scene_with_its_prompt_goes_straight_to_the_slot(composed, loop):
    queued = scene(status="generating", queued=True, aiPrompt="Already written.", promptSource="person")
    turn(queued)
    assert composed == [] and loop.writes == []


def test_the_submit_turn_writes_every_sub_shot_prompt_left_empty_and_keeps_a_persons(composed, loop):
    shots = [SubShot(n=1, start=0, end=6.667), SubShot(n=2, start=6.667, end=13.333, prompt="Mine.", promptSource="person"),
             SubShot(n=3, start=13.333, end=20)]
    queued = scene(status="generating", queued=True, timeRange=TimeRange(start=0, end=20, label=""), plan=shots)
    loop.project = record(queued)
    turn(queued)
    assert sorted(composed) == [(1, 3), (3, 3)]
    [(_, changes, _)] = loop.writes
    assert [s["prompt"] for s in changes["plan"]] == ["Written prompt for the shot 1.", "Mine.", "Written prompt for the shot 3."]
    assert changes["aiPrompt"] == "Written prompt for the shot 1."  # the sub-shot submitted first


def test_a_prompt_error_fails_the_scene_with_its_sentence(monkeypatch, loop):
    def broken(record, scene, shot=None):
        raise PromptError("Claude is not available right now. Write the prompt yourself or try again.")

    monkeypatch.setattr(style, "compose", broken)
    queued = scene(status="generating", queued=True)
    loop.project = record(queued)
    answer = turn(queued)
    assert loop.failed == ["Claude is not available right now. Write the prompt yourself or try again."]
    assert answer["outcome"] == "done" and loop.writes == []


def test_a_scene_cancelled_while_its_prompt_was_written_ends_its_loop(composed, loop, monkeypatch):
    def stale(*args, **kwargs):
        raise storage.StaleScene("moved on")

    monkeypatch.setattr(storage, "update_scene", stale)
    queued = scene(status="generating", queued=True)
    loop.project = record(queued)
    assert turn(queued)["outcome"] == "done" and loop.failed == []
