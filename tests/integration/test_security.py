"""Who may touch what: tokens, tenant isolation, bound callbacks, users' own Kie keys."""

from __future__ import annotations

import json
import logging
import re
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.integration.conftest import callback_url, wait_for_scene

URL = re.compile(r"https?://[^\"]+")


def snapshot(api, project_id):
    return URL.sub("<url>", api.get(f"/api/projects/{project_id}").text)


def test_no_expired_or_forged_token_is_401(stack, api, project):
    pid = project["projectId"]
    now = int(time.time())
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode({"sub": "demo-user", "iss": stack.issuer.issuer, "aud": "broll-local-page", "exp": now + 600},
                        stranger, algorithm="RS256")
    expired = stack.issuer.mint("demo-user", ttl_s=-10)
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": f"Bearer {forged}"},
                    {"Authorization": f"Bearer {expired}"}):
        response = api.get(f"/api/projects/{pid}", headers=headers | {"Authorization": headers.get("Authorization", "")})
        assert response.status_code == 401, headers


def test_another_user_gets_404_on_every_route_and_changes_nothing(api, other_api, project):
    pid = project["projectId"]
    scene = api.post(f"/api/projects/{pid}/broll/generate", json={"sceneId": "hook"}).json()
    wait_for_scene(api, pid, "hook", lambda s: s["status"] == "completed")
    before = snapshot(api, pid)
    calls = [
        ("GET", f"/api/projects/{pid}", None),
        ("POST", f"/api/projects/{pid}/broll/generate", {"sceneId": "main"}),
        ("GET", f"/api/projects/{pid}/broll/status/{scene['taskId']}", None),
        ("GET", f"/api/projects/{pid}/broll/status/{scene['taskId']}?sceneIndex=0", None),
        ("POST", f"/api/projects/{pid}/broll/prompt", {"sceneId": "main"}),
        ("PUT", f"/api/projects/{pid}/broll/scenes/main", {"shotInstructions": "taken over"}),
        ("POST", f"/api/projects/{pid}/broll/cancel", {"sceneId": "hook"}),
        ("POST", f"/api/projects/{pid}/broll/generate-all", {}),
        ("POST", f"/api/projects/{pid}/complete", {}),
        ("GET", f"/api/projects/{pid}/download", None),
    ]
    missing = other_api.get("/api/projects/no-such-project").json()
    for method, path, body in calls:
        response = other_api.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"].replace(pid, "X") == missing["error"].replace("no-such-project", "X") or \
            "not found" in response.json()["error"]
    assert snapshot(api, pid) == before
    assert pid not in json.dumps(other_api.get("/api/projects").json())
    assert pid in json.dumps(api.get("/api/projects").json())


def test_callbacks_are_bound_to_their_scene(api, project, emulator):
    pid = project["projectId"]
    # The clip must still be in the making when the forged callbacks arrive: with the suite's 2 s the
    # genuine callback could settle it first on a loaded machine, and the check would see that instead.
    emulator.configure(delay_seconds=60.0)
    scene = api.post(f"/api/projects/{pid}/broll/generate", json={"sceneId": "cta"}).json()
    body = {"code": 200, "msg": "ok", "data": {"taskId": scene["taskId"]}}
    before = snapshot(api, pid)
    for url in (
        callback_url(pid, "hook", scene["generation"]).replace("sceneId=hook", "sceneId=cta"),  # another scene's URL
        callback_url(pid, "cta", scene["generation"] + 1).replace(f"generation={scene['generation'] + 1}", f"generation={scene['generation']}"),
        f"/api/callbacks/kie?projectId={pid}&sceneId=cta&generation={scene['generation']}&sig={'0' * 64}",
    ):
        response = api.post(url, json=body)
        assert response.status_code == 403, response.text
    assert snapshot(api, pid).count("generating") == before.count("generating")


@pytest.fixture
def captured_logs():
    """Every log record of the run, formatted with all its fields, as one text."""
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(json.dumps({k: str(v) for k, v in record.__dict__.items()}) + record.getMessage())

    handler = Keep()
    watched = [logging.getLogger(), logging.getLogger("broll-studio")]
    for logger in watched:
        logger.addHandler(handler)
    yield records
    for logger in watched:
        logger.removeHandler(handler)


def test_a_users_own_key_is_used_encrypted_and_never_shown(stack, api, project, emulator, captured_logs):
    user_key = "usrkey-9f3a61c2d4b8e07a5c1f"
    emulator.configure(accepted_keys=["kie-emulator-key", user_key], delay_seconds=1)
    pid = project["projectId"]
    answers = [api.put("/api/me/keys/kie", json={"key": user_key})]
    answers.append(api.get("/api/me/keys/kie"))
    assert answers[-1].json() == answers[0].json() and answers[-1].json()["last4"] == user_key[-4:]
    scene = api.post(f"/api/projects/{pid}/broll/generate", json={"sceneId": "hook"})
    answers.append(scene)
    assert scene.json()["keyOwner"] == "user" and scene.json()["keyLast4"] == user_key[-4:]
    answers.append(api.get(f"/api/projects/{pid}"))
    wait_for_scene(api, pid, "hook", lambda s: s["status"] == "completed")
    # Kie no longer accepts the user's key: the next clip fails with 401, proving it was that key.
    emulator.configure(accepted_keys=["kie-emulator-key"])
    failed = api.post(f"/api/projects/{pid}/broll/generate", json={"sceneId": "main"})
    answers.append(failed)
    assert failed.json()["status"] == "failed" and "key was refused" in failed.json()["error"]
    answers.append(api.delete("/api/me/keys/kie"))
    assert answers[-1].json() == {"set": False, "last4": None, "updatedAt": None}
    system = api.post(f"/api/projects/{pid}/broll/generate", json={"sceneId": "cta"}).json()
    assert system["keyOwner"] == "system"
    # The key is stored sealed, not in the clear.
    import boto3
    import os

    stored = boto3.client("dynamodb").scan(TableName=os.environ["USER_KEYS_TABLE"])["Items"]
    assert user_key not in str(stored)
    runs = {user_key[i:i + 8] for i in range(len(user_key) - 7)}
    text = "\n".join(captured_logs) + "\n".join(a.text for a in answers)
    assert captured_logs, "no log lines were captured"
    assert not [run for run in runs if run in text]


def test_key_input_is_validated(api):
    assert api.put("/api/me/keys/kie", json={"key": "short"}).status_code == 422
    assert api.put("/api/me/keys/kie", json={"key": "x" * 20, "extra": 1}).status_code == 422


@pytest.mark.parametrize("field,value", [
    ("stage4", {"audioDurationSec": 10.0, "audioKey": "projects/demo/voiceover.m4a"}),
    ("stage5", {"avatarVideoKey": "projects/other-user/avatar.mp4"}),
    ("stage5", {"avatarVideoKey": "projects/KEYTEST/../demo/avatar.mp4"}),
])
def test_import_refuses_media_keys_outside_the_projects_own_folder(api, field, value):
    """Otherwise an import could point at somebody else's file and get a presigned URL to it."""
    import uuid

    from tests.integration.conftest import project_body

    pid = f"keys-{uuid.uuid4().hex[:8]}"
    body = project_body(pid)
    body[field] = {k: (v.replace("KEYTEST", pid) if isinstance(v, str) else v) for k, v in value.items()}
    answer = api.post("/api/projects", json=body)
    assert answer.status_code == 422 and "folder" in answer.json()["error"]
    assert api.get(f"/api/projects/{pid}").status_code == 404
