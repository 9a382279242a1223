"""The credit ledger and quotas on the local stack, against the Kie emulator: a batch's charges add
up to what Kie charged, a batch beyond the credits is capped or refused before any submit, and a
user over quota is refused with a sentence while another user is unaffected."""

from __future__ import annotations

import os
import re
import time
import uuid

import boto3
import pytest

from tests.integration.conftest import client_for, project_body, wait_for_scene


def _user(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"  # a fresh user: an empty day, no override


def _project(client, scenes: int = 3) -> str:
    pid = f"ledger-{uuid.uuid4().hex[:8]}"
    assert client.post("/api/projects", json=project_body(pid, scenes)).status_code == 201
    return pid


def _usage():
    return boto3.client("dynamodb"), os.environ["USAGE_TABLE"]


@pytest.fixture
def measured_price_forgotten():
    """The price measured here (jittered charges) must not become the price of later tests."""
    yield
    ddb, table = _usage()
    ddb.delete_item(TableName=table, Key={"pk": {"S": "price"}, "sk": {"S": "veo3_fast"}})


def test_after_a_batch_the_ledger_holds_what_kie_charged(stack, emulator, measured_price_forgotten):
    emulator.configure(price_jitter=6)  # each task costs 74..86: an estimate of 80 is not the charge
    with client_for(stack, _user("spender")) as client:
        pid = _project(client)
        charged_before = emulator.stats()["charged_credits"]
        answer = client.post(f"/api/projects/{pid}/broll/generate-all", json={})
        assert answer.status_code == 202 and len(answer.json()["started"]) == 3
        for scene_id in ("hook", "main", "cta"):
            wait_for_scene(client, pid, scene_id, lambda s: s["status"] == "completed")
        deadline = time.monotonic() + 20
        while (spend := client.get(f"/api/projects/{pid}").json()["spend"])["chargedClips"] < 3:
            assert time.monotonic() < deadline, spend  # the callbacks' creditsConsumed
            time.sleep(0.3)
        charged = emulator.stats()["charged_credits"] - charged_before
        assert spend == {"clips": 3, "estimatedCredits": 240.0, "chargedCredits": float(charged), "chargedClips": 3}
        quota = client.get(f"/api/projects/{pid}").json()["quota"]
        assert quota["usedToday"] == charged and quota["left"] == quota["dailyCredits"] - charged


def test_a_batch_beyond_the_balance_is_capped_and_one_beyond_every_scene_refused_before_any_submit(stack, emulator):
    with client_for(stack, _user("capped")) as client:
        emulator.configure(credits=170)  # the system account: two 80-credit clips
        pid = _project(client)
        estimate = client.get(f"/api/projects/{pid}/broll/estimate").json()
        counts = (estimate["scenes"], estimate["clips"], estimate["startableClips"], estimate["startableScenes"])
        assert counts == (3, 3, 2, 2)
        # A system-key user sees their quota left, never the system account's balance.
        quota = client.get(f"/api/projects/{pid}").json()["quota"]
        assert (estimate["remainingCredits"], estimate["remainingSource"]) == (quota["left"], "daily_quota")
        assert "170" not in estimate["note"] and "cover 2 of the 3 clips" in estimate["note"]
        created = emulator.stats()["tasks_created"]
        answer = client.post(f"/api/projects/{pid}/broll/generate-all", json={}).json()
        assert [s["sceneId"] for s in answer["started"]] == ["hook", "main"]
        assert answer["skipped"] == [{"sceneId": "cta", "reason": "not enough credits"}]
        for scene_id in ("hook", "main"):
            wait_for_scene(client, pid, scene_id, lambda s: s["status"] == "completed")
        assert emulator.stats()["tasks_created"] - created == 2

        emulator.configure(credits=50)
        other = _project(client)
        created = emulator.stats()["tasks_created"]
        refused = client.post(f"/api/projects/{other}/broll/generate-all", json={})
        assert refused.status_code == 429 and "credits do not cover this" in refused.json()["error"]
        assert all(s["status"] == "idle" for s in client.get(f"/api/projects/{other}").json()["scenes"])
        time.sleep(1.5)  # a submit would have reached the emulator by now
        assert emulator.stats()["tasks_created"] == created


def test_a_user_over_quota_is_refused_with_a_sentence_and_no_kie_call_while_another_is_unaffected(stack, emulator):
    over, fine = _user("over"), _user("fine")
    ddb, table = _usage()
    # What docs/OPERATIONS.md tells an admin to write ("Raising one user's quota"), here lowering it.
    ddb.put_item(TableName=table, Item={"pk": {"S": f"user#{over}"}, "sk": {"S": "quota"}, "dailyCredits": {"N": "50"}})
    with client_for(stack, over) as a, client_for(stack, fine) as b:
        a_project, b_project = _project(a), _project(b)
        created = emulator.stats()["tasks_created"]
        for path, body in (("generate", {"sceneId": "hook"}), ("generate-all", {})):
            refused = a.post(f"/api/projects/{a_project}/broll/{path}", json=body)
            assert refused.status_code == 429, refused.text
            assert re.fullmatch(
                r"You have used 0 of your 50 credits for today; this needs 80 more\. "
                r"It resets in \d+ (hours|minutes), or ask an admin to raise your quota\.", refused.json()["error"])
        view = a.get(f"/api/projects/{a_project}").json()
        assert view["quota"]["dailyCredits"] == 50 and all(s["status"] == "idle" for s in view["scenes"])
        assert emulator.stats()["tasks_created"] == created

        started = b.post(f"/api/projects/{b_project}/broll/generate", json={"sceneId": "hook"})
        assert started.status_code == 202 and started.json()["taskId"]
        assert emulator.stats()["tasks_created"] == created + 1
