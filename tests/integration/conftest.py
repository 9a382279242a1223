"""The local stack, started once for the integration tests (random free ports)."""

from __future__ import annotations

import itertools
import os
import time
import uuid

import httpx
import pytest

from devstack.auth import DEMO_USER
from devstack.stack import LocalStack, StackOptions

_ids = itertools.count(1)


@pytest.fixture(scope="session")
def stack():
    # The suite's users make far more clips in a day than one person; tests/integration/test_ledger.py
    # sets a low quota for its own users (the override item).
    os.environ.setdefault("DAILY_CREDIT_QUOTA", "1000000")
    local = LocalStack(
        StackOptions(api_port=0, moto_port=0, kie_port=0, kie_delay_s=2.0, sweep_every_s=3600,
                     poll_first_wait_s=1.0, poll_max_wait_s=2.0)
    ).start()
    yield local
    local.stop()


def client_for(stack, user: str) -> httpx.Client:
    """An API client signed in as `user` (a token from the local issuer)."""
    headers = {"Authorization": f"Bearer {stack.issuer.mint(user)}"}
    return httpx.Client(base_url=stack.api_url, timeout=30, headers=headers)


@pytest.fixture
def api(stack):
    # The demo user, who owns the demo project.
    with client_for(stack, DEMO_USER) as client:
        yield client


@pytest.fixture
def other_api(stack):
    with client_for(stack, "user-b") as client:
        yield client


def callback_url(project_id: str, scene_id: str, generation: int) -> str:
    """A callback URL as the product issues it to Kie (signed for this scene)."""
    from broll_common.clients.secrets import callback_signature

    sig = callback_signature(project_id, scene_id, generation)
    return f"/api/callbacks/kie?projectId={project_id}&sceneId={scene_id}&generation={generation}&sig={sig}"


@pytest.fixture
def emulator(stack):
    yield stack.emulator
    stack.emulator.reset()
    stack.emulator.configure(delay_seconds=2.0)


def project_body(project_id: str, scenes: int = 3) -> dict:
    titles = ["Hook", "Main", "CTA", "Extra"][:scenes]
    return {
        "projectId": project_id,
        "name": f"Test {project_id}",
        "stage3": {"editedScenes": [{"sceneTitle": t, "text": f"{t} narration about harbour cranes at dawn."} for t in titles]},
        "stage4": {"audioDurationSec": 24.0},
    }


def import_with_media(api, prefix: str, voice, avatar, seconds: float, timings: list | None = None) -> dict:
    """Import a project whose voice-over and avatar video (local files) are in the media bucket."""
    import os

    import boto3

    pid = f"{prefix}-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3")
    folder = f"users/{DEMO_USER}/projects/{pid}/"
    s3.upload_file(str(voice), os.environ["MEDIA_BUCKET"], f"{folder}voice.m4a")
    s3.upload_file(str(avatar), os.environ["MEDIA_BUCKET"], f"{folder}avatar.mp4")
    body = project_body(pid)
    body["stage4"] = {"audioDurationSec": seconds, "audioKey": f"{folder}voice.m4a"}
    if timings:
        body["stage4"]["sceneTimings"] = [{"sceneId": i, "start": a, "end": b} for i, a, b in timings]
    body["stage5"] = {"avatarVideoKey": f"{folder}avatar.mp4"}
    response = api.post("/api/projects", json=body)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def project(api) -> dict:
    project_id = f"t{next(_ids)}-{uuid.uuid4().hex[:8]}"
    response = api.post("/api/projects", json=project_body(project_id))
    assert response.status_code == 201, response.text
    return response.json()


def wait_for_scene(api, project_id: str, scene_id: str, until, timeout: float = 40.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        scene = next(s for s in api.get(f"/api/projects/{project_id}").json()["scenes"] if s["sceneId"] == scene_id)
        if until(scene):
            return scene
        time.sleep(0.3)
    raise AssertionError(f"scene {scene_id} never reached the expected state; last: {scene}")


def download_url(api, project_id: str, timeout: float = 60.0) -> str:
    """Download All as the page does it: ask until the ZIP is built (202 while building), then
    its presigned URL."""
    deadline = time.monotonic() + timeout
    while True:
        response = api.get(f"/api/projects/{project_id}/download")
        body = response.json()
        if response.status_code == 200 and body.get("url"):
            return body["url"]
        assert response.status_code == 202 and body["status"] == "building", (response.status_code, body)
        assert time.monotonic() < deadline, f"the ZIP was never built; last: {body}"
        time.sleep(0.3)
