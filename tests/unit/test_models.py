"""Request bodies refuse what the API must not accept; Scene hides its internal fields."""

import pytest
from pydantic import ValidationError

from broll_common.models.api import (
    EditedScene,
    GenerateRequest,
    ProjectImport,
    SceneEdit,
    SceneRef,
    SceneTiming,
    Stage4,
)
from broll_common.models.domain import Scene, SceneStatus, TimeRange


def _import_body(**overrides):
    body = {
        "projectId": "demo-1",
        "name": "Demo",
        "stage3": {"editedScenes": [{"sceneTitle": "Hook", "text": "Markets fell today."}]},
        "stage4": {"audioDurationSec": 30},
    }
    body.update(overrides)
    return body


def test_valid_import_parses():
    parsed = ProjectImport.model_validate(_import_body())
    assert parsed.projectId == "demo-1"
    assert parsed.stage3.editedScenes[0].sceneTitle == "Hook"
    assert parsed.stage4.audioDurationSec == 30


@pytest.mark.parametrize(
    "model, body",
    [
        (GenerateRequest, {"sceneId": "hook", "force": True}),
        (SceneRef, {"sceneId": "hook", "extra": 1}),
        (SceneEdit, {"shotInstructions": "x", "videoUrl": "http://evil"}),
        (EditedScene, {"sceneTitle": "Hook", "text": "t", "status": "completed"}),
        (Stage4, {"audioDurationSec": 3, "bogus": 1}),
    ],
)
def test_unknown_fields_are_refused(model, body):
    with pytest.raises(ValidationError) as info:
        model.model_validate(body)
    assert any(err["type"] == "extra_forbidden" for err in info.value.errors())


def test_unknown_nested_field_in_import_is_refused():
    body = _import_body()
    body["stage3"]["editedScenes"][0]["videoUrl"] = "http://x"
    with pytest.raises(ValidationError):
        ProjectImport.model_validate(body)
    with pytest.raises(ValidationError):
        ProjectImport.model_validate(_import_body(owner="me"))


@pytest.mark.parametrize("good", ["a", "hook", "scene-2", "0abc", "a" * 40, "a-" + "b" * 38])
def test_good_ids_are_accepted(good):
    assert GenerateRequest.model_validate({"sceneId": good}).sceneId == good
    assert ProjectImport.model_validate(_import_body(projectId=good)).projectId == good


@pytest.mark.parametrize(
    "bad",
    ["", "-hook", "Hook", "scene_2", "scene 2", "a" * 41, "../etc", "scène", "a.b", "hook\n"],
)
def test_bad_ids_are_refused(bad):
    with pytest.raises(ValidationError):
        GenerateRequest.model_validate({"sceneId": bad})
    with pytest.raises(ValidationError):
        SceneRef.model_validate({"sceneId": bad})
    with pytest.raises(ValidationError):
        ProjectImport.model_validate(_import_body(projectId=bad))
    with pytest.raises(ValidationError):
        SceneTiming.model_validate({"sceneId": bad, "start": 0, "end": 1})


def test_shot_instructions_limit_is_2000():
    assert SceneEdit(shotInstructions="x" * 2000).shotInstructions == "x" * 2000
    with pytest.raises(ValidationError):
        SceneEdit(shotInstructions="x" * 2001)


def test_prompt_limit_is_1800():
    assert SceneEdit(aiPrompt="p" * 1800).aiPrompt == "p" * 1800
    with pytest.raises(ValidationError):
        SceneEdit(aiPrompt="p" * 1801)


def test_stage4_duration_bounds():
    with pytest.raises(ValidationError):
        Stage4(audioDurationSec=0)
    with pytest.raises(ValidationError):
        Stage4(audioDurationSec=3601)
    assert Stage4(audioDurationSec=3600).audioDurationSec == 3600


def test_stage3_needs_one_to_sixty_scenes():
    with pytest.raises(ValidationError):
        ProjectImport.model_validate(_import_body(stage3={"editedScenes": []}))
    enough = [{"sceneTitle": f"S{i}", "text": "t"} for i in range(60)]
    assert len(ProjectImport.model_validate(_import_body(stage3={"editedScenes": enough})).stage3.editedScenes) == 60
    many = [{"sceneTitle": f"S{i}", "text": "t"} for i in range(61)]
    with pytest.raises(ValidationError):
        ProjectImport.model_validate(_import_body(stage3={"editedScenes": many}))


def _scene(**kw):
    return Scene(sceneId="hook", sceneTitle="Hook", timeRange=TimeRange(start=0, end=3, label="0:00–0:03"), **kw)


def test_scene_dump_excludes_internal_fields():
    scene = _scene(videoKey="clips/p/hook/1.mp4", startedAt=1234.5, videoUrl="https://x/y.mp4")
    dumped = scene.model_dump()
    assert "videoKey" not in dumped
    assert "startedAt" not in dumped
    assert dumped["videoUrl"] == "https://x/y.mp4"
    as_json = scene.model_dump_json()
    assert "videoKey" not in as_json and "startedAt" not in as_json and "clips/p/hook" not in as_json
    # The fields are still readable on the model itself.
    assert scene.videoKey == "clips/p/hook/1.mp4" and scene.startedAt == 1234.5


def test_scene_defaults():
    scene = _scene()
    assert scene.status is SceneStatus.IDLE
    assert scene.generation == 0 and scene.progress == 0
    assert scene.keyOwner == "system"
    assert scene.model_dump(mode="json")["status"] == "idle"


def test_scene_status_values_are_exact():
    assert {s.value for s in SceneStatus} == {"idle", "generating", "completed", "failed"}
    assert len(SceneStatus) == 4
    assert SceneStatus("completed") is SceneStatus.COMPLETED
    with pytest.raises(ValueError):
        SceneStatus("done")
    with pytest.raises(ValidationError):
        _scene(status="pending")
