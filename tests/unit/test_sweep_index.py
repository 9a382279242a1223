"""The sweep's sparse index (by-sweep) on moto: only flagged step-7 items are read, a stale
flag is cleared, and a claim racing the sweep keeps its flag."""

import time

import boto3
import pytest
from moto import mock_aws

from broll_common import config
from broll_common.dal import projects as storage
from broll_common.dal.projects import STEP_BROLL, STEP_PROJECT, scene_document
from broll_common.models.domain import Scene, TimeRange
from devstack.template import load as load_template

TABLE = "project_steps_sweep"
OWNER = "user-a"


@pytest.fixture
def table(monkeypatch):
    with mock_aws():
        monkeypatch.setenv("PROJECT_STEPS_TABLE", TABLE)
        config.reset_settings()
        storage.ProjectStep._connection = None
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        props = load_template().tables["ProjectStepsTable"]  # as template.yaml defines it, with by-sweep
        ddb.create_table(TableName=TABLE, KeySchema=props["KeySchema"], AttributeDefinitions=props["AttributeDefinitions"],
                         GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"], BillingMode="PAY_PER_REQUEST")
        yield ddb
    storage.ProjectStep._connection = None


@pytest.fixture
def reads(table):
    """Items the sweep read, by DynamoDB call; a Scan fails the test."""
    seen = {"Query": 0, "BatchGetItem": 0}
    events = storage._bind()._get_connection().connection.client.meta.events

    def count(http_response, parsed, model, **_):
        name = model.name
        if name == "Query":
            seen[name] += len(parsed.get("Items", []))
        elif name == "BatchGetItem":
            seen[name] += sum(len(found) for found in parsed.get("Responses", {}).values())

    events.register("after-call.dynamodb", count)
    events.register("before-call.dynamodb.Scan", lambda **_: pytest.fail("the sweep scanned the table"))
    return seen


def _create(project_id: str) -> None:
    scene = Scene(sceneId="main", sceneTitle="Main", text="Cranes at dawn.",
                  timeRange=TimeRange(start=0, end=6, label="0:00–0:06"))
    storage.create_project(project_id, {STEP_PROJECT: {"name": project_id}, STEP_BROLL: {"scenes": [scene_document(scene)]}},
                           owner=OWNER)


def _flagged(table) -> list[str]:
    items = table.query(TableName=TABLE, IndexName="by-sweep", KeyConditionExpression="sweep_due = :d",
                        ExpressionAttributeValues={":d": {"S": storage.SWEEP_DUE}})["Items"]
    return [item["project_id"]["S"] for item in items]


def _claim(project_id: str) -> None:
    storage.update_scene(project_id, 0, "main", {"status": "generating", "generation": 1}, owner=OWNER)


def test_the_sweep_reads_only_flagged_items(table, reads):
    for n in range(20):
        _create(f"idle-{n:02d}")
    _create("busy")
    _claim("busy")
    _create("later")
    storage.replace_part("later", "schedule", {"whenCreditsAllow": True}, owner=OWNER, expect=None)

    assert _flagged(table) == ["busy", "later"]
    work = storage.sweep_work()
    assert [(p, i, s.sceneId) for p, _, i, s in work.generating] == [("busy", 0, "main")]
    assert [p for p, *_ in work.scheduled] == ["later"]
    assert reads == {"Query": 2, "BatchGetItem": 2}  # one read of the two flagged items, none of the 20 idle ones


def test_an_item_whose_work_ended_loses_its_flag(table, reads):
    _create("done")
    _claim("done")
    storage.update_scene("done", 0, "main", {"status": "completed"}, owner=OWNER)
    _create("unscheduled")
    storage.replace_part("unscheduled", "schedule", {"whenCreditsAllow": True}, owner=OWNER, expect=None)
    storage.replace_part("unscheduled", "schedule", None, owner=OWNER, expect=None)

    assert storage.sweep_work() == storage.SweepWork(generating=[], scheduled=[]) and _flagged(table) == []
    assert reads["BatchGetItem"] == 2  # both read once, then unflagged
    assert storage.sweep_work() == storage.SweepWork(generating=[], scheduled=[])
    assert reads["BatchGetItem"] == 2  # the next sweep found nothing flagged to read


@pytest.mark.parametrize("same_instant", [False, True], ids=["a-later-millisecond", "the-same-millisecond"])
def test_a_claim_racing_the_sweep_keeps_its_flag(table, monkeypatch, same_instant):
    if same_instant:  # every write at one instant: an updatedAt condition could not tell the claim apart
        monkeypatch.setattr(storage, "_now", lambda: "2026-12-02T03:00:00.000+00:00")
    _create("racing")
    _claim("racing")
    storage.update_scene("racing", 0, "main", {"status": "completed"}, owner=OWNER)
    model = storage.ProjectStep
    read = model.batch_get

    def claimed_after_the_read(keys, **kwargs):
        for item in read(keys, **kwargs):
            if not same_instant:
                time.sleep(0.002)  # the claim's updatedAt is a later millisecond than the one read
            storage.update_scene("racing", 0, "main", {"status": "generating", "generation": 2}, owner=OWNER)
            yield item

    monkeypatch.setattr(model, "batch_get", claimed_after_the_read)
    assert storage.sweep_work().generating == []  # what was read had no work
    monkeypatch.setattr(model, "batch_get", read)
    assert _flagged(table) == ["racing"]
    assert [s.generation for *_, s in storage.sweep_work().generating] == [2]
