"""project_steps storage on moto: create/load, conflicts, per-scene conditional updates."""

import json

import boto3
import pytest
from moto import mock_aws
from pynamodb.exceptions import TransactWriteError

from broll_common import config
from broll_common.dal import projects as storage
from broll_common.models.errors import Conflict, NotFound
from broll_common.models.domain import Scene, SceneStatus, TimeRange
from devstack.template import load as load_template
from broll_common.dal.projects import (
    STEP_AUDIO,
    STEP_AVATAR,
    STEP_BROLL,
    STEP_PROJECT,
    STEP_SCRIPT,
    StaleScene,
    create_project,
    load_project,
    scene_document,
    update_scene,
)

TABLE = "project_steps_unit"
OWNER = "user-a"


@pytest.fixture(scope="module")
def _moto_table():
    # One moto backend and table per module (client creation dominates the cost); each
    # test starts from an empty table (see `table`).
    with pytest.MonkeyPatch.context() as mp, mock_aws():
        mp.setenv("PROJECT_STEPS_TABLE", TABLE)
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        # The table exactly as template.yaml defines it (keys and the owner index).
        props = load_template().tables["ProjectStepsTable"]
        ddb.create_table(
            TableName=TABLE,
            KeySchema=props["KeySchema"],
            AttributeDefinitions=props["AttributeDefinitions"],
            GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
            BillingMode="PAY_PER_REQUEST",
        )
        yield ddb
    storage.ProjectStep._connection = None


@pytest.fixture
def table(_moto_table, monkeypatch):
    monkeypatch.setenv("PROJECT_STEPS_TABLE", TABLE)
    config.reset_settings()
    for item in _moto_table.scan(TableName=TABLE)["Items"]:
        _moto_table.delete_item(
            TableName=TABLE, Key={"project_id": item["project_id"], "step_number": item["step_number"]}
        )
    return _moto_table


def make_scene(scene_id, title, start, end, **kw):
    return Scene(
        sceneId=scene_id,
        sceneTitle=title,
        text=f"{title} text",
        timeRange=TimeRange(start=start, end=end, label=f"0:{int(start):02d}–0:{int(end):02d}"),
        **kw,
    )


def items(project_name="Demo"):
    scenes = [
        make_scene("hook", "Hook", 0, 5, sceneType="hook", shotInstructions="city at night"),
        make_scene("main", "Main", 5, 20, sceneType="main", aiPrompt="a prompt", generation=2),
        make_scene("cta", "CTA", 20, 30, sceneType="cta"),
    ]
    return {
        STEP_PROJECT: {"name": project_name, "createdAt": "2026-01-01T00:00:00+00:00"},
        STEP_SCRIPT: {"script": "Hook text\n\nMain text\n\nCTA text", "editedScenes": []},
        STEP_AUDIO: {"audioDurationSec": 30.0},
        STEP_AVATAR: {},
        STEP_BROLL: {"scenes": [scene_document(s) for s in scenes], "status": "in_progress"},
    }


def test_create_and_load_round_trip(table):
    create_project("demo-1", items(), owner=OWNER)
    record = load_project("demo-1", owner=OWNER)
    assert record.project_id == "demo-1"
    assert record.meta.name == "Demo"
    assert record.script.script.startswith("Hook text")
    assert record.audio.stored() == {"audioDurationSec": 30.0}
    assert record.broll.status == "in_progress"
    scenes = record.scenes
    assert [s.sceneId for s in scenes] == ["hook", "main", "cta"]
    assert scenes[0].shotInstructions == "city at night"
    assert scenes[1].aiPrompt == "a prompt" and scenes[1].generation == 2
    assert scenes[2].timeRange.label == "0:20–0:30"
    assert all(s.status is SceneStatus.IDLE for s in scenes)
    # Items are really in the table under the step numbers.
    stored = table.query(
        TableName=TABLE, KeyConditionExpression="project_id = :p", ExpressionAttributeValues={":p": {"S": "demo-1"}}
    )["Items"]
    assert sorted(int(i["step_number"]["N"]) for i in stored) == [0, 3, 4, 5, 7]


def test_scene_document_keeps_internal_fields_but_not_what_each_answer_computes():
    doc = scene_document(make_scene("a", "A", 0, 1, videoKey="k.mp4", startedAt=12.5, videoUrl="https://x",
                                    statusNote="Waiting for Kie.ai", aiGenerated=True, outOfDate=True))
    assert doc["videoKey"] == "k.mp4" and doc["startedAt"] == 12.5
    assert not {"videoUrl", "statusNote", "aiGenerated", "outOfDate"} & doc.keys()


def test_second_create_with_same_id_conflicts(table):
    create_project("demo-1", items("First"), owner=OWNER)
    with pytest.raises(Conflict) as info:
        create_project("demo-1", items("Second"), owner=OWNER)
    assert info.value.status == 409
    assert "demo-1" in info.value.message
    # The first project is untouched.
    assert load_project("demo-1", owner=OWNER).meta.name == "First"


def test_load_unknown_project_is_not_found(table):
    with pytest.raises(NotFound):
        load_project("nope", owner=OWNER)


def test_update_scene_changes_only_named_fields(table):
    create_project("demo-1", items(), owner=OWNER)
    before = load_project("demo-1", owner=OWNER).broll.scenes
    update_scene("demo-1", 1, "main", {"status": "generating", "taskId": "veo_task_9", "progress": 3}, owner=OWNER)
    after = load_project("demo-1", owner=OWNER).broll.scenes
    assert after[1]["status"] == "generating"
    assert after[1]["taskId"] == "veo_task_9"
    assert after[1]["progress"] == 3
    # Every other field of this scene is as before.
    for key in before[1]:
        if key not in ("status", "taskId", "progress"):
            assert after[1][key] == before[1][key], key
    # The other scenes are untouched.
    assert after[0] == before[0]
    assert after[2] == before[2]


def test_update_scene_none_removes_the_field(table):
    create_project("demo-1", items(), owner=OWNER)
    update_scene("demo-1", 0, "hook", {"error": "boom", "taskId": "t1"}, owner=OWNER)
    update_scene("demo-1", 0, "hook", {"error": None}, owner=OWNER)
    raw = load_project("demo-1", owner=OWNER).broll.scenes[0]
    assert "error" not in raw
    assert raw["taskId"] == "t1"
    assert load_project("demo-1", owner=OWNER).scenes[0].error is None


def test_updates_to_different_scenes_do_not_lose_each_other(table):
    create_project("demo-1", items(), owner=OWNER)
    # Two writers that both read the project before either wrote.
    update_scene("demo-1", 0, "hook", {"status": "completed", "videoKey": "clips/hook.mp4"}, owner=OWNER)
    update_scene("demo-1", 2, "cta", {"status": "failed", "error": "Kie.ai rejected the prompt."}, owner=OWNER)
    scenes = load_project("demo-1", owner=OWNER).scenes
    assert scenes[0].status is SceneStatus.COMPLETED and scenes[0].videoKey == "clips/hook.mp4"
    assert scenes[2].status is SceneStatus.FAILED and scenes[2].error == "Kie.ai rejected the prompt."
    assert scenes[1].status is SceneStatus.IDLE


def test_update_scene_with_matching_generation(table):
    create_project("demo-1", items(), owner=OWNER)
    update_scene("demo-1", 1, "main", {"generation": 3, "status": "generating"}, owner=OWNER, generation=2)
    assert load_project("demo-1", owner=OWNER).scenes[1].generation == 3


def test_update_scene_with_stale_generation_is_refused(table):
    create_project("demo-1", items(), owner=OWNER)
    with pytest.raises(StaleScene) as info:
        update_scene("demo-1", 1, "main", {"status": "completed"}, owner=OWNER, generation=1)
    assert isinstance(info.value, Conflict)
    assert load_project("demo-1", owner=OWNER).scenes[1].status is SceneStatus.IDLE


def test_update_scene_with_wrong_scene_id_at_index_is_refused(table):
    create_project("demo-1", items(), owner=OWNER)
    with pytest.raises(StaleScene):
        update_scene("demo-1", 0, "main", {"status": "completed"}, owner=OWNER)
    assert load_project("demo-1", owner=OWNER).scenes[0].status is SceneStatus.IDLE


def test_update_scene_status_guard(table):
    create_project("demo-1", items(), owner=OWNER)
    with pytest.raises(StaleScene):
        update_scene("demo-1", 0, "hook", {"status": "completed"}, owner=OWNER, status_in=("generating",))
    update_scene("demo-1", 0, "hook", {"status": "generating"}, owner=OWNER, status_in=("idle", "failed"))
    update_scene("demo-1", 0, "hook", {"status": "completed"}, owner=OWNER, status_in=("generating",))
    assert load_project("demo-1", owner=OWNER).scenes[0].status is SceneStatus.COMPLETED


def test_update_scene_of_unknown_project_is_refused(table):
    with pytest.raises(Conflict):
        update_scene("ghost", 0, "hook", {"status": "generating"}, owner=OWNER)
    with pytest.raises(NotFound):
        load_project("ghost", owner=OWNER)


def test_scene_lookup(table):
    create_project("demo-1", items(), owner=OWNER)
    update_scene("demo-1", 2, "cta", {"taskId": "veo_task_cta"}, owner=OWNER)
    record = load_project("demo-1", owner=OWNER)
    index, scene = record.scene("main")
    assert index == 1 and scene.sceneTitle == "Main"
    index, scene = record.scene_by_task("veo_task_cta")
    assert index == 2 and scene.sceneId == "cta"
    with pytest.raises(NotFound) as info:
        record.scene("missing")
    assert info.value.status == 404
    with pytest.raises(NotFound):
        record.scene_by_task("veo_task_unknown")


def test_update_broll_and_list_projects(table):
    create_project("demo-1", items("One"), owner=OWNER)
    create_project("demo-2", items("Two"), owner=OWNER)
    create_project("theirs", items("Theirs"), owner="user-b")
    storage.update_broll("demo-1", {"status": "completed", "completedAt": "2026-01-02T00:00:00Z"}, owner=OWNER)
    listed = storage.list_projects(OWNER)
    assert [record.project_id for record in listed] == ["demo-1", "demo-2"]
    assert listed[0].name == "One" and listed[0].broll.status == "completed"
    assert listed[1].broll.status == "in_progress"
    # Set at creation, then by every write: demo-1 was written after demo-2 was made.
    assert listed[1].broll.updatedAt is not None and listed[0].broll.updatedAt >= listed[1].broll.updatedAt
    assert len(load_project("demo-1", owner=OWNER).scenes) == 3


def test_generating_scenes(table):
    create_project("demo-1", items(), owner=OWNER)
    update_scene("demo-1", 1, "main", {"status": "generating", "taskId": "t1"}, owner=OWNER)
    found = storage.sweep_work().generating
    assert [(pid, owner, idx, s.sceneId) for pid, owner, idx, s in found] == [("demo-1", OWNER, 1, "main")]


def test_another_users_project_is_exactly_like_a_missing_one(table):
    create_project("demo-1", items(), owner=OWNER)
    for load in (storage.load_project, storage.load_broll):
        with pytest.raises(NotFound) as theirs:
            load("demo-1", owner="user-b")
        with pytest.raises(NotFound) as missing:
            load("nope-1", owner="user-b")
        assert str(theirs.value).replace("demo-1", "X") == str(missing.value).replace("nope-1", "X")
    with pytest.raises(StaleScene):
        update_scene("demo-1", 0, "hook", {"shotInstructions": "mine now"}, owner="user-b")
    with pytest.raises(NotFound):
        storage.update_broll("demo-1", {"status": "completed"}, owner="user-b")
    assert load_project("demo-1", owner=OWNER).scenes[0].shotInstructions == "city at night"
    assert storage.list_projects("user-b") == []


def test_second_create_leaves_first_project_untouched(table):
    create_project("demo-1", items("First"), owner=OWNER)
    with pytest.raises(Exception):
        create_project("demo-1", items("Second"), owner=OWNER)
    assert load_project("demo-1", owner=OWNER).meta.name == "First"


def _sixty_scene_items():
    scenes = [make_scene(f"s{i:02d}", f"Shot {i}", i, i + 1, generation=3) for i in range(60)]
    return items() | {STEP_BROLL: {"scenes": [scene_document(s) for s in scenes], "ownerId": OWNER}}


def test_a_claim_of_the_last_chunk_of_sixty_scenes_fits_dynamodbs_expression_limit(table):
    from broll_common.logic.generation.claim import CLAIM_CHUNK

    create_project("big", _sixty_scene_items(), owner=OWNER)
    sent = []
    events = storage.ProjectStep._get_connection().connection.client.meta.events
    events.register("before-call.dynamodb.UpdateItem", lambda params, **_: sent.append(params))
    changes = {
        "aiPrompt": "x" * 900, "promptSource": "claude", "status": "generating", "generation": 4, "taskId": None,
        "pollExecution": None, "queued": True, "error": None, "progress": 0, "startedAt": 1.5e9,
        "keyOwner": "system", "keyLast4": "abcd",
    }
    last = range(60 - CLAIM_CHUNK, 60)
    storage.update_scenes("big", [storage.SceneWrite(i, f"s{i:02d}", changes, generation=3) for i in last], owner=OWNER)
    body = json.loads(sent[-1]["body"])
    assert len(body["UpdateExpression"]) < 4096 and len(body["ConditionExpression"]) < 4096
    scenes = load_project("big", owner=OWNER).scenes
    assert [s.status for s in scenes[50:]] == [SceneStatus.GENERATING] * 10
    assert all(s.status is SceneStatus.IDLE for s in scenes[:50])


def test_update_scenes_is_all_or_nothing(table):
    create_project("big", _sixty_scene_items(), owner=OWNER)
    writes = [storage.SceneWrite(i, f"s{i:02d}", {"status": "generating"}, generation=3) for i in range(5)]
    writes[3] = storage.SceneWrite(3, "s03", {"status": "generating"}, generation=2)  # moved on
    with pytest.raises(StaleScene):
        storage.update_scenes("big", writes, owner=OWNER)
    assert all(s.status is SceneStatus.IDLE for s in load_project("big", owner=OWNER).scenes)


def test_a_poll_turn_reads_one_scene_by_its_place_and_finds_a_moved_one(table):
    create_project("demo-s", items(), owner=OWNER)
    owner, index, scene = storage.load_scene("demo-s", 1, "main")
    assert (owner, index, scene.sceneId, scene.generation, scene.aiPrompt) == (OWNER, 1, "main", 2, "a prompt")
    assert isinstance(scene.timeRange.start, (int, float)) and scene.timeRange.end == 20
    # A scene no longer at the place the loop remembers is found by a whole read.
    assert storage.load_scene("demo-s", 0, "cta")[:2] == (OWNER, 2)
    assert storage.load_scene("demo-s", 7, "hook")[:2] == (OWNER, 0)  # past the end of the list
    with pytest.raises(NotFound):
        storage.load_scene("missing", 0, "hook")
