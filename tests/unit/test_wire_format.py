"""DynamoDB's wire format: every number goes out as a string (`{"N": "7"}`).

Real DynamoDB (and strict emulators) refuse `{"N": 7}` ("The parameter cannot be converted
to a numeric value"); moto accepts it, and pynamodb skips botocore's parameter validation,
so only the request bodies themselves show the difference. These tests read every body the
code sends during representative writes.
"""

import json

import boto3
import botocore.endpoint
import pytest
from moto import mock_aws

from broll_common.logic import callback_health, ledger, quota, rate_limit
from broll_common.logic.generation import claim
from broll_common import config
from broll_common.dal import history, projects as storage
from broll_common.aws import reset_clients
from broll_common.clients.breaker import FleetFailures
from broll_common.clients.secrets import KieKey
from broll_common.models.domain import Scene, SceneSlot, TimeRange
from devstack.template import load as load_template

TABLES = {"ProjectStepsTable": "PROJECT_STEPS_TABLE", "SceneHistoryTable": "HISTORY_TABLE",
          "BreakerStateTable": "BREAKER_TABLE", "UserKeysTable": "USER_KEYS_TABLE", "UsageTable": "USAGE_TABLE"}
OWNER = "user-a"


def numbers_not_sent_as_strings(value, path="$") -> list[str]:
    """Every `N` (and `NS` member) in a DynamoDB request body that is not a string."""
    found = []
    if isinstance(value, dict):
        for key, inner in value.items():
            # A dict under "N" is a map attribute that happens to be named N, not a number.
            if key == "N" and not isinstance(inner, (str, dict)):
                found.append(f"{path}.N = {inner!r}")
            elif key == "NS" and isinstance(inner, list):
                found += [f"{path}.NS[{i}] = {n!r}" for i, n in enumerate(inner) if not isinstance(n, str)]
            else:
                found += numbers_not_sent_as_strings(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += numbers_not_sent_as_strings(inner, f"{path}[{i}]")
    return found


@pytest.fixture
def sent(monkeypatch):
    """(operation, body) of every DynamoDB request, as serialized for the wire. Wraps the one
    place every botocore client (boto3's and pynamodb's alike) builds its HTTP request."""
    bodies: list[tuple[str, dict]] = []
    build = botocore.endpoint.Endpoint.create_request

    def capture(self, params, operation_model=None):
        request = build(self, params, operation_model)
        if operation_model is not None and operation_model.service_model.service_name == "dynamodb" and request.body:
            bodies.append((operation_model.name, json.loads(request.body)))
        return request

    monkeypatch.setattr(botocore.endpoint.Endpoint, "create_request", capture)
    return bodies


@pytest.fixture
def tables(monkeypatch):
    template = load_template().tables
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        for logical_id, variable in TABLES.items():
            props = template[logical_id]
            name = f"wire-{logical_id.lower()}"
            monkeypatch.setenv(variable, name)
            indexes = {k: v for k, v in props.items() if k == "GlobalSecondaryIndexes"}
            ddb.create_table(TableName=name, KeySchema=props["KeySchema"], BillingMode="PAY_PER_REQUEST",
                             AttributeDefinitions=props["AttributeDefinitions"], **indexes)
        monkeypatch.setenv("KIE_API_KEY", "kie-system-key-0001")
        config.reset_settings()
        reset_clients()
        yield
        reset_clients()
    storage.ProjectStep._connection = None
    history.HistoryEntry._connection = None


def _project_scene() -> Scene:
    return Scene(sceneId="hook", sceneTitle="Hook", text="Cranes at dawn.",
                 timeRange=TimeRange(start=0, end=5, label="0:00–0:05"))


def _project() -> dict:
    scenes = [
        Scene(sceneId="hook", sceneTitle="Hook", text="Cranes at dawn.", shotInstructions="harbour cranes",
              timeRange=TimeRange(start=0, end=5, label="0:00–0:05")),
        Scene(sceneId="main", sceneTitle="Main", text="Ships wait offshore.", aiPrompt="a prompt", generation=2,
              timeRange=TimeRange(start=5, end=12.5, label="0:05–0:12")),
    ]
    return {
        storage.STEP_PROJECT: {"name": "Wire", "createdAt": "2026-01-01T00:00:00+00:00"},
        storage.STEP_SCRIPT: {"script": "Cranes at dawn.\n\nShips wait offshore.", "editedScenes": []},
        storage.STEP_AUDIO: {"audioDurationSec": 12.5},
        storage.STEP_AVATAR: {},
        storage.STEP_BROLL: {"scenes": [storage.scene_document(s) for s in scenes], "status": "in_progress"},
    }


def test_every_number_written_goes_on_the_wire_as_a_string(tables, sent):
    storage.create_project("wire-1", _project(), owner=OWNER)
    claim._claim("wire-1", "hook", False, OWNER)  # the claim: a new generation, conditional on the old
    storage.update_scene("wire-1", 1, "main", {"progress": 42, "startedAt": 1767225600.25}, owner=OWNER,
                         generation=2, expect={"attempt": None})
    storage.replace_part("wire-1", "schedule", {"at": 1767229200, "maxClips": 3}, owner=OWNER, expect={})
    history.record("wire-1", "hook", "generation", taskId="veo_task_1", shot=1, shots=2)
    # The counters: the submit window, callback health and the fleet's failure count.
    admission = rate_limit.try_admit("kie-system-key-0001", now=1767225600.5)
    rate_limit.finish("kie-system-key-0001", admission.slot, now=1767225601.5)
    callback_health.callback_arrived()
    callback_health.callback_missed()
    fleet = FleetFailures(config.settings().breaker_table, window_s=60)
    assert fleet.record(now=1767225600) == 1
    assert fleet.record(now=1767225601) == 2
    fleet.reset()
    # The ledger: a clip (charged by the balance, and not), a reported charge, a prompt, the quota read.
    slot, key = SceneSlot("wire-1", 0, _project_scene(), OWNER), KieKey("kie-system-key-0001", "system")
    ledger.clip_submitted(slot, "veo_task_1", key, 80.0, 85.5, "balance")
    ledger.clip_submitted(slot, "veo_task_2", key, 80.0, None, None)
    ledger.charge_reported("veo_task_2", 79.25, "creditsConsumed")
    quota.record_prompt(OWNER)
    ledger.hold(OWNER, "wire-1", key, [(slot.scene, 2)], 80.0)
    ledger.release(slot, sent=True)  # one clip's share kept: it may be at Kie
    ledger.release(slot, sent=False)  # the rest of the claim comes off, never below zero
    later = slot.with_scene(slot.scene.model_copy(update={"generation": slot.scene.generation + 1}))
    ledger.hold(OWNER, "wire-1", key, [(later.scene, 1)], 40.5)
    assert quota.left(OWNER, key).usedToday == 85.5 + 79.25 + 1 + 40.5
    assert ledger.project_spend("wire-1").chargedClips == 2

    operations = {operation for operation, _ in sent}
    assert {"TransactWriteItems", "UpdateItem", "PutItem", "BatchWriteItem"} <= operations
    numbers = sum(json.dumps(body).count('"N"') for _, body in sent)
    assert numbers > 20  # the bodies really carry numbers
    offending = [f"{operation}: {problem}" for operation, body in sent for problem in numbers_not_sent_as_strings(body)]
    assert offending == []


def test_the_check_catches_a_raw_number():
    body = {"Key": {"step_number": {"N": 7}}, "Item": {"data": {"M": {"N": {"S": "a field named N"}}}},
            "ExpressionAttributeValues": {":s": {"NS": ["1", 2]}, ":ok": {"N": "7"}}}
    assert numbers_not_sent_as_strings(body) == ["$.Key.step_number.N = 7", "$.ExpressionAttributeValues.:s.NS[1] = 2"]
