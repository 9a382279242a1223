"""Issue 6 on the local stack: the composite render, Download All with it, Complete and
reopen, the cost estimate, the budget cap and scheduled batches."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from devstack.auth import DEMO_USER
from devstack.media import frame_colour, probe, render_avatar, render_voiceover
from tests.integration.conftest import download_url, import_with_media, project_body, wait_for_scene

AVATAR_SECONDS = 12.0


def _wait(api, path, until, timeout=60.0):
    import time

    deadline = time.monotonic() + timeout
    while True:
        body = api.get(path).json()
        if until(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.5)


@pytest.fixture(scope="module")
def avatar_media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("avatar")
    voice = render_voiceover(folder / "voice.m4a", seconds=AVATAR_SECONDS)
    avatar = render_avatar(folder / "avatar.mp4", voice, seconds=AVATAR_SECONDS)
    return voice, avatar


@pytest.fixture
def media_project(api, avatar_media):
    """A project with a voice-over and an avatar video in the media bucket."""
    return import_with_media(api, "media", *avatar_media, AVATAR_SECONDS)


def _all_ready(api, pid):
    assert api.post(f"/api/projects/{pid}/broll/generate-all", json={}).status_code == 202
    for scene_id in ("hook", "main", "cta"):
        wait_for_scene(api, pid, scene_id, lambda s: s["status"] == "completed")
    return api.get(f"/api/projects/{pid}").json()


def _close(a, b, tolerance=30):
    return all(abs(x - y) <= tolerance for x, y in zip(a, b))


def test_the_composite_cuts_each_clip_in_over_its_scene_and_joins_download_all(api, media_project, tmp_path):
    pid = media_project["projectId"]
    project = _all_ready(api, pid)
    started = api.post(f"/api/projects/{pid}/render", json={})
    assert started.status_code == 202 and started.json()["render"]["status"] in ("rendering", "completed")
    render = _wait(api, f"/api/projects/{pid}/render", lambda b: b["render"]["status"] != "rendering")["render"]
    assert render["status"] == "completed", render
    assert render["progress"] == 100 and not render["outOfDate"]
    video = tmp_path / "composite.mp4"
    video.write_bytes(httpx.get(render["videoUrl"]).content)
    info = probe(video)
    assert abs(info["duration"] - AVATAR_SECONDS) <= 0.2
    assert info["width"] * 16 == info["height"] * 9 and info["has_audio"]
    for scene in project["scenes"]:
        clip = tmp_path / f"{scene['sceneId']}.mp4"
        clip.write_bytes(httpx.get(scene["videoUrl"]).content)
        middle = (scene["timeRange"]["start"] + scene["timeRange"]["end"]) / 2
        assert _close(frame_colour(video, middle), frame_colour(clip, 1.0)), scene["sceneId"]
    # Nothing changed: asking again makes nothing new.
    again = api.post(f"/api/projects/{pid}/render", json={}).json()["render"]
    assert again["status"] == "completed" and again["videoUrl"].split("?")[0] == render["videoUrl"].split("?")[0]
    archive = zipfile.ZipFile(io.BytesIO(httpx.get(download_url(api, pid)).content))
    composite = f"test-{pid}.mp4"  # named after the project ("Test media-…")
    assert archive.namelist() == [
        "script.txt", "timeline.json", "captions.ass", "captions.srt", "voiceover.m4a", "avatar.mp4",
        "01-hook.mp4", "02-main.mp4", "03-cta.mp4", composite,
    ]
    assert json.loads(archive.read("timeline.json"))["composite"] == composite
    for name in archive.namelist():  # every media file in it is a valid, playable file
        if name.endswith((".mp4", ".m4a")):
            (tmp_path / name).write_bytes(archive.read(name))
            info = probe(tmp_path / name)
            assert info["duration"] > 0 and info["has_audio"], name
            if name.endswith(".mp4"):
                assert info["width"] < info["height"], name
    # A new clip makes the composite out of date, and it leaves Download All until rendered again.
    api.post(f"/api/projects/{pid}/broll/generate", json={"sceneId": "main", "regenerate": True})
    wait_for_scene(api, pid, "main", lambda s: s["status"] == "completed")
    assert api.get(f"/api/projects/{pid}").json()["render"]["outOfDate"] is True
    archive = zipfile.ZipFile(io.BytesIO(httpx.get(download_url(api, pid)).content))
    assert composite not in archive.namelist()


def test_download_all_builds_in_the_background_and_answers_the_url_once_built(api, project):
    pid = project["projectId"]
    first = api.get(f"/api/projects/{pid}/download")
    assert first.status_code == 202, first.text
    assert first.json()["status"] == "building" and first.json()["url"] is None and first.json()["startedAt"]
    url = download_url(api, pid)
    names = zipfile.ZipFile(io.BytesIO(httpx.get(url).content)).namelist()
    assert names == ["script.txt", "timeline.json", "captions.ass", "captions.srt"]
    ready = api.get(f"/api/projects/{pid}/download")  # the same content: at once, the same archive
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert ready.json()["url"].split("?")[0] == url.split("?")[0]


def test_a_failed_zip_is_said_once_in_a_sentence_and_asking_again_builds_it_again(api, media_project, avatar_media):
    import os

    import boto3

    pid = media_project["projectId"]
    s3, bucket, avatar = boto3.client("s3"), os.environ["MEDIA_BUCKET"], f"users/{DEMO_USER}/projects/{pid}/avatar.mp4"
    s3.delete_object(Bucket=bucket, Key=avatar)
    assert api.get(f"/api/projects/{pid}/download").status_code == 202
    failed = _wait(api, f"/api/projects/{pid}/download", lambda b: b["status"] != "building")
    assert failed["status"] == "failed" and failed["url"] is None
    assert failed["error"] == "The ZIP could not be made: avatar.mp4 is missing from storage."
    s3.upload_file(str(avatar_media[1]), bucket, avatar)
    again = api.get(f"/api/projects/{pid}/download")  # the failure was said: this starts a new build
    assert again.status_code == 202 and again.json()["status"] == "building"
    archive = zipfile.ZipFile(io.BytesIO(httpx.get(download_url(api, pid)).content))
    assert "avatar.mp4" in archive.namelist()


def test_scenes_without_a_clip_keep_the_avatar(api, media_project, tmp_path, avatar_media):
    pid = media_project["projectId"]
    api.post(f"/api/projects/{pid}/broll/generate", json={"sceneId": "main"})
    scene = wait_for_scene(api, pid, "main", lambda s: s["status"] == "completed")
    api.post(f"/api/projects/{pid}/render", json={})
    render = _wait(api, f"/api/projects/{pid}/render", lambda b: b["render"]["status"] != "rendering")["render"]
    assert render["status"] == "completed", render
    video = tmp_path / "composite.mp4"
    video.write_bytes(httpx.get(render["videoUrl"]).content)
    hook = api.get(f"/api/projects/{pid}").json()["scenes"][0]["timeRange"]
    at = (hook["start"] + hook["end"]) / 2
    assert _close(frame_colour(video, at), frame_colour(avatar_media[1], at))
    main = scene["timeRange"]
    clip = tmp_path / "main.mp4"
    clip.write_bytes(httpx.get(scene["videoUrl"]).content)
    assert _close(frame_colour(video, (main["start"] + main["end"]) / 2), frame_colour(clip, 1.0))


def test_a_project_without_an_avatar_cannot_render(api, project):
    pid = project["projectId"]
    answer = api.post(f"/api/projects/{pid}/render", json={})
    assert answer.status_code == 409 and "avatar" in answer.json()["error"]
    assert api.get(f"/api/projects/{pid}").json()["render"]["status"] == "idle"


def test_render_of_another_users_project_is_not_found(other_api, media_project):
    pid = media_project["projectId"]
    assert other_api.post(f"/api/projects/{pid}/render", json={}).status_code == 404
    assert other_api.get(f"/api/projects/{pid}/render").status_code == 404


def test_complete_then_reopen(api, project):
    pid = project["projectId"]
    assert api.post(f"/api/projects/{pid}/reopen", json={}).status_code == 409
    done = api.post(f"/api/projects/{pid}/complete", json={}).json()["step7"]
    assert done["status"] == "completed"
    reopened = api.post(f"/api/projects/{pid}/reopen", json={})
    assert reopened.status_code == 200
    step7 = reopened.json()["step7"]
    assert step7["status"] == "in_progress" and step7["reopenedAt"] and step7["completedAt"] == done["completedAt"]
    assert api.get("/api/projects").json()["projects"][0]["step7Status"] in ("in_progress", "completed")


def test_estimate_counts_what_generate_all_would_start(api, project, emulator):
    pid = project["projectId"]
    emulator.configure(credits=1000)
    estimate = api.get(f"/api/projects/{pid}/broll/estimate").json()
    quota_left = api.get(f"/api/projects/{pid}").json()["quota"]["left"]
    # The demo user pays with the system key: they see their daily quota left, not its balance.
    assert estimate == {
        "scenes": 3, "clips": 3, "creditsPerClip": 80.0, "estimatedCredits": 240.0,
        "price": {"configured": 80.0, "measured": estimate["price"]["measured"],
                  "samples": estimate["price"]["samples"], "used": 80.0},
        "remainingCredits": quota_left, "remainingSource": "daily_quota", "startableClips": 3, "startableScenes": 3,
        "sceneClips": [1, 1, 1], "note": None,
    }
    emulator.configure(outage=True)
    unknown = api.get(f"/api/projects/{pid}/broll/estimate").json()
    assert unknown["clips"] == 3 and "Kie.ai" in unknown["note"]


def test_a_budget_cap_of_two_clips_starts_exactly_two(api, emulator):
    pid = f"cap-{uuid.uuid4().hex[:8]}"
    body = project_body(pid)
    body["stage3"]["editedScenes"].append({"sceneTitle": "Extra", "text": "Extra narration about tugboats."})
    assert api.post("/api/projects", json=body).status_code == 201
    created_before = emulator.stats()["tasks_created"]
    answer = api.post(f"/api/projects/{pid}/broll/generate-all", json={"maxClips": 2})
    assert answer.status_code == 202
    assert [s["sceneId"] for s in answer.json()["started"]] == ["hook", "main"]
    assert {s["reason"] for s in answer.json()["skipped"]} == {"budget cap reached"}
    for scene_id in ("hook", "main"):
        wait_for_scene(api, pid, scene_id, lambda s: s["status"] == "completed")
    assert emulator.stats()["tasks_created"] - created_before == 2
    assert [s["status"] for s in api.get(f"/api/projects/{pid}").json()["scenes"]][2:] == ["idle", "idle"]
    # A cap in credits: 100 credits buy one 80-credit clip.
    answer = api.post(f"/api/projects/{pid}/broll/generate-all", json={"maxCredits": 100}).json()
    assert [s["sceneId"] for s in answer["started"]] == ["cta"]


@pytest.mark.parametrize("body", [{"maxClips": 0}, {"maxClips": "two"}, {"maxCredits": -5}, {"budget": 3}])
def test_a_bad_budget_cap_is_refused_and_starts_nothing(api, project, body):
    pid = project["projectId"]
    answer = api.post(f"/api/projects/{pid}/broll/generate-all", json=body)
    assert answer.status_code == 422 and answer.json()["error"]
    assert all(s["status"] == "idle" for s in api.get(f"/api/projects/{pid}").json()["scenes"])


def _sweep(stack):
    return stack.functions.invoke("SweepFunction", {"source": "aws.events", "detail": {}})["batches"]


def test_a_scheduled_batch_starts_when_due_and_not_before(stack, api, project):
    pid = project["projectId"]
    later = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    answer = api.put(f"/api/projects/{pid}/broll/schedule", json={"at": later, "maxClips": 1})
    assert answer.status_code == 200 and answer.json()["maxClips"] == 1
    _sweep(stack)
    assert api.get(f"/api/projects/{pid}").json()["schedule"]["at"] is not None
    assert all(s["status"] == "idle" for s in api.get(f"/api/projects/{pid}").json()["scenes"])
    soon = (datetime.now(timezone.utc) + timedelta(seconds=1)).isoformat()
    api.put(f"/api/projects/{pid}/broll/schedule", json={"at": soon, "maxClips": 1})
    import time

    time.sleep(1.2)
    assert _sweep(stack)["started"] >= 1
    project_now = api.get(f"/api/projects/{pid}").json()
    assert project_now["schedule"] is None
    assert [s["status"] for s in project_now["scenes"]] == ["generating", "idle", "idle"]


def test_a_batch_waiting_for_credits_starts_once_they_cover_it(stack, api, project, emulator):
    pid = project["projectId"]
    emulator.configure(credits=100)  # 3 clips need 240
    assert api.put(f"/api/projects/{pid}/broll/schedule", json={"whenCreditsAllow": True}).status_code == 200
    _sweep(stack)
    waiting = api.get(f"/api/projects/{pid}").json()
    assert "Waiting for credits" in waiting["schedule"]["note"] and "240" in waiting["schedule"]["note"]
    assert all(s["status"] == "idle" for s in waiting["scenes"])
    emulator.configure(credits=1000)
    _sweep(stack)
    started = api.get(f"/api/projects/{pid}").json()
    assert started["schedule"] is None and all(s["status"] != "idle" for s in started["scenes"])


def test_a_cleared_schedule_never_runs(stack, api, project):
    pid = project["projectId"]
    api.put(f"/api/projects/{pid}/broll/schedule", json={"whenCreditsAllow": True})
    assert api.delete(f"/api/projects/{pid}/broll/schedule").status_code == 204
    _sweep(stack)
    assert all(s["status"] == "idle" for s in api.get(f"/api/projects/{pid}").json()["scenes"])


@pytest.mark.parametrize("body", [{}, {"at": "tomorrow"}, {"at": "2020-01-01T00:00:00+00:00"}, {"at": "2030-01-01T00:00:00"}])
def test_a_bad_schedule_is_refused(api, project, body):
    pid = project["projectId"]
    answer = api.put(f"/api/projects/{pid}/broll/schedule", json=body)
    assert answer.status_code == 422 and answer.json()["error"]
    assert api.get(f"/api/projects/{pid}").json()["schedule"] is None
