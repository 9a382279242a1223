"""A clip from click to playable file, through the real handlers, state machine and emulator."""

from __future__ import annotations

import io
import json
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

import boto3
import httpx
import pytest

from broll_common.config import reset_settings
from devstack.media import probe
from tests.integration.conftest import download_url, wait_for_scene


def completed(scene):
    return scene["status"] == "completed"


def failed(scene):
    return scene["status"] == "failed"


def generate(api, pid, scene_id, **extra):
    response = api.post(f"/api/projects/{pid}/broll/generate", json={"sceneId": scene_id, **extra})
    assert response.status_code == 202, response.text
    return response.json()


def executions_for(stack, pid, scene):
    """The poll-loop executions started for this scene's current generation."""
    sfn = boto3.client("stepfunctions")
    arn = stack.cloud.names["PollLoopStateMachine"]
    first = f"{pid}-{scene['sceneId']}-g{scene['generation']}"
    runs = sfn.list_executions(stateMachineArn=arn)["executions"]
    return [e for e in runs if e["name"] == first or e["name"].startswith(first + "-r")]


def test_generate_returns_at_once_and_status_reaches_a_playable_vertical_clip(api, project, tmp_path):
    pid = project["projectId"]
    started = time.monotonic()
    scene = generate(api, pid, "hook")
    assert time.monotonic() - started < 5
    assert scene["status"] == "generating" and scene["taskId"]
    assert scene["keyOwner"] == "system" and len(scene["keyLast4"]) == 4
    status = api.get(f"/api/projects/{pid}/broll/status/{scene['taskId']}").json()
    assert status["status"] == "generating" and 0 < status["progress"] < 100
    wait_for_scene(api, pid, "hook", completed)
    status = api.get(f"/api/projects/{pid}/broll/status/{scene['taskId']}").json()
    assert status["status"] == "completed" and status["progress"] == 100
    # The page names the scene's place so only that scene is read; a wrong place still finds it.
    for index in (0, 2):
        placed = api.get(f"/api/projects/{pid}/broll/status/{scene['taskId']}?sceneIndex={index}").json()
        assert placed.pop("videoUrl").split("?")[0] == status["videoUrl"].split("?")[0]
        assert placed == {k: v for k, v in status.items() if k != "videoUrl"}
    for bad in ("60", "-1", "x"):
        answer = api.get(f"/api/projects/{pid}/broll/status/{scene['taskId']}?sceneIndex={bad}")
        assert answer.status_code == 422 and "error" in answer.json(), bad
    # The URL is ours (the media bucket), not Kie's.
    assert f"/projects/{pid}/broll/hook/{scene['taskId']}.mp4" in status["videoUrl"]
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(httpx.get(status["videoUrl"]).content)
    info = probe(clip)
    assert info["width"] < info["height"] and info["has_audio"]
    assert 7.5 < info["duration"] < 8.5


def test_double_click_starts_one_task(api, project, emulator):
    pid = project["projectId"]
    before = emulator.stats()["generate_calls"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: generate(api, pid, "main"), range(8)))
    assert len({a["taskId"] for a in answers}) == 1
    assert emulator.stats()["generate_calls"] - before == 1


def test_poll_loop_alone_finishes_the_scene_when_callbacks_are_lost(stack, api, project, emulator):
    emulator.configure(drop_callbacks=True)
    pid = project["projectId"]
    scene = generate(api, pid, "cta")
    wait_for_scene(api, pid, "cta", completed)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        runs = executions_for(stack, pid, scene)
        if runs and runs[0]["status"] != "RUNNING":
            break
        time.sleep(0.5)
    assert [r["status"] for r in runs] == ["SUCCEEDED"]
    assert emulator.stats()["callbacks_sent"] == 0


def test_a_failed_generation_reads_as_a_sentence_and_retry_works(api, project, emulator):
    flagged = {"successFlag": 2, "errorCode": 400, "errorMessage": "Prompt flagged by content policy"}
    emulator.configure(fail_next=[flagged, flagged])  # refused again after the one automatic rewrite
    pid = project["projectId"]
    generate(api, pid, "hook")
    scene = wait_for_scene(api, pid, "hook", failed)
    assert "content policy" in scene["error"] and "{" not in scene["error"]
    retried = generate(api, pid, "hook", regenerate=True)
    assert retried["generation"] == scene["generation"] + 1 and retried["error"] is None
    wait_for_scene(api, pid, "hook", completed)


@pytest.mark.parametrize(
    "envelope,words",
    [
        ({"code": 402, "msg": "Credits insufficient"}, "out of credits"),
        ({"code": 401, "msg": "You do not have access permissions"}, "key was refused"),
        ({"code": 422, "msg": "prompt too long"}, "invalid"),
    ],
)
def test_a_refused_submit_fails_the_scene_with_what_to_change(api, project, emulator, envelope, words):
    emulator.configure(reject_next_submit=[envelope])
    pid = project["projectId"]
    scene = generate(api, pid, "main")
    assert scene["status"] == "failed" and words in scene["error"]
    assert api.get(f"/api/projects/{pid}").json()["scenes"][1]["status"] == "failed"


def test_rate_limit_is_retried_not_failed(api, project, emulator):
    emulator.configure(reject_next_submit=[{"code": 429, "msg": "Too many requests"}])
    pid = project["projectId"]
    scene = generate(api, pid, "main")
    assert scene["status"] == "generating" and scene["taskId"]


def test_the_deadline_fails_a_clip_that_never_finishes(api, project, emulator, monkeypatch):
    emulator.configure(delay_seconds=60, drop_callbacks=True)
    monkeypatch.setenv("GENERATION_DEADLINE_S", "3")
    reset_settings()
    try:
        pid = project["projectId"]
        generate(api, pid, "cta")
        scene = wait_for_scene(api, pid, "cta", failed, timeout=30)
        assert "did not finish" in scene["error"]
    finally:
        monkeypatch.undo()
        reset_settings()


def test_cancel_goes_back_to_idle_and_ignores_the_late_result(api, project, emulator):
    emulator.configure(delay_seconds=2)
    pid = project["projectId"]
    scene = generate(api, pid, "hook")
    cancelled = api.post(f"/api/projects/{pid}/broll/cancel", json={"sceneId": "hook"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "idle"
    time.sleep(4)  # the emulator finishes the old task and calls back meanwhile
    after = api.get(f"/api/projects/{pid}").json()["scenes"][0]
    assert after["status"] == "idle" and after["taskId"] is None and after["generation"] == scene["generation"] + 1


def test_a_cancelled_clip_kie_still_makes_lands_in_history_and_can_be_selected(api, project, emulator):
    emulator.configure(delay_seconds=2)
    pid = project["projectId"]
    scene = generate(api, pid, "hook")
    cancelled = api.post(f"/api/projects/{pid}/broll/cancel", json={"sceneId": "hook"}).json()
    assert "if Kie.ai finishes it, it lands in this scene's History" in cancelled["statusNote"]
    history = f"/api/projects/{pid}/broll/scenes/hook/history"
    deadline = time.monotonic() + 30
    while not (clips := [e for e in api.get(history).json()["entries"] if e["kind"] == "clip"]):
        assert time.monotonic() < deadline, api.get(history).json()
        time.sleep(0.3)
    [clip] = clips
    assert clip["taskId"] == scene["taskId"] and clip["note"].startswith("Finished after it was cancelled")
    assert clip["videoUrl"] and not clip["current"]
    after = api.get(f"/api/projects/{pid}").json()["scenes"][0]
    assert (after["status"], after["taskId"], after["generation"]) == ("idle", None, scene["generation"] + 1)
    chosen = api.post(f"/api/projects/{pid}/broll/scenes/hook/select", json={"entryId": clip["id"]})
    assert chosen.status_code == 200 and chosen.json()["status"] == "completed", chosen.text
    assert httpx.get(chosen.json()["videoUrl"]).content == httpx.get(clip["videoUrl"]).content
    assert [e["kind"] for e in api.get(history).json()["entries"] if e["kind"] == "clip"] == ["clip"]  # landed once


def test_completed_scene_needs_regenerate(api, project):
    pid = project["projectId"]
    generate(api, pid, "hook")
    wait_for_scene(api, pid, "hook", completed)
    response = api.post(f"/api/projects/{pid}/broll/generate", json={"sceneId": "hook"})
    assert response.status_code == 409 and "Regenerate" in response.json()["error"]
    again = generate(api, pid, "hook", regenerate=True)
    assert again["status"] == "generating"


def test_generate_all_then_complete_then_download(api, project):
    pid = project["projectId"]
    result = api.post(f"/api/projects/{pid}/broll/generate-all", json={})
    assert result.status_code == 202
    assert [s["sceneId"] for s in result.json()["started"]] == ["hook", "main", "cta"]
    for scene_id in ("hook", "main", "cta"):
        wait_for_scene(api, pid, scene_id, completed)
    again = api.post(f"/api/projects/{pid}/broll/generate-all", json={}).json()
    assert again["started"] == [] and len(again["skipped"]) == 3
    done = api.post(f"/api/projects/{pid}/complete", json={}).json()
    assert done["step7"]["status"] == "completed" and done["step7"]["completedAt"]
    assert done["step7"]["scenesWithClips"] == ["hook", "main", "cta"]
    url = download_url(api, pid)
    archive = zipfile.ZipFile(io.BytesIO(httpx.get(url).content))
    assert archive.namelist() == ["script.txt", "timeline.json", "captions.ass", "captions.srt",
                                  "01-hook.mp4", "02-main.mp4", "03-cta.mp4"]
    timeline = json.loads(archive.read("timeline.json"))
    assert [s["clip"] for s in timeline["scenes"]] == ["01-hook.mp4", "02-main.mp4", "03-cta.mp4"]
    assert all(s["aiGenerated"] for s in timeline["scenes"])
    # Unchanged project: the same archive is handed out again, not rebuilt.
    assert api.get(f"/api/projects/{pid}/download").json()["url"].split("?")[0] == url.split("?")[0]


def test_sweep_repairs_a_scene_whose_poll_loop_died(stack, api, project, emulator):
    # Kie takes 3 s: the loop (first look after 1 s) is stopped well before the task is done, even
    # on a loaded machine (with 1 s, a late stop let the loop settle it first).
    emulator.configure(drop_callbacks=True, delay_seconds=3)
    pid = project["projectId"]
    scene = generate(api, pid, "main")
    for run in executions_for(stack, pid, scene):
        boto3.client("stepfunctions").stop_execution(executionArn=run["executionArn"])
    time.sleep(4)  # the task is done at Kie; nothing is polling any more
    assert api.get(f"/api/projects/{pid}").json()["scenes"][1]["status"] == "generating"
    counts = stack.functions.invoke("SweepFunction", {"source": "aws.events", "detail": {}})
    assert counts["checked"] >= 1
    wait_for_scene(api, pid, "main", completed, timeout=5)


def test_sweep_restarts_the_loop_for_a_task_still_running(stack, api, project, emulator):
    emulator.configure(drop_callbacks=True, delay_seconds=4)
    pid = project["projectId"]
    scene = generate(api, pid, "cta")
    for run in executions_for(stack, pid, scene):
        boto3.client("stepfunctions").stop_execution(executionArn=run["executionArn"])
    counts = stack.functions.invoke("SweepFunction", {"source": "aws.events", "detail": {}})
    assert counts["restarted"] >= 1
    wait_for_scene(api, pid, "cta", completed, timeout=20)
    statuses = sorted(r["status"] for r in executions_for(stack, pid, scene))
    assert statuses == ["ABORTED", "SUCCEEDED"]
