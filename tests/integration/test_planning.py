"""Issue 8 item 4 on the local stack: a scene longer than one Veo clip is planned as several
sub-shots, each generated (one Kie task each, one after another), and the composite and
Download All use them in order; the plan is the person's to change; a scene that fails part
way goes on from where it stopped without paying again for the finished sub-shots."""

from __future__ import annotations

import io
import json
import zipfile

import httpx
import pytest

from devstack.media import frame_colour, render_avatar, render_voiceover
from tests.integration.conftest import download_url, import_with_media, wait_for_scene
from tests.integration.test_export import _close, _wait

SECONDS = 24.0
TIMINGS = [("hook", 0.0, 2.0), ("main", 2.0, 22.0), ("cta", 22.0, 24.0)]  # main: 20 s
SUB_SHOTS = [(2.0, 8.667), (8.667, 15.333), (15.333, 22.0)]


@pytest.fixture(scope="module")
def long_media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("long")
    voice = render_voiceover(folder / "voice.m4a", seconds=SECONDS)
    return voice, render_avatar(folder / "avatar.mp4", voice, seconds=SECONDS)


@pytest.fixture
def long_project(api, long_media):
    """Hook 2 s, Main 20 s, CTA 2 s, with a voice-over and an avatar video to render over."""
    return import_with_media(api, "plan", *long_media, SECONDS, TIMINGS)


def _scene(project, scene_id):
    return next(s for s in project["scenes"] if s["sceneId"] == scene_id)


def _generate(api, pid, scene_id, **extra):
    answer = api.post(f"/api/projects/{pid}/broll/generate", json={"sceneId": scene_id, **extra})
    assert answer.status_code == 202, answer.text
    return answer.json()


def _history(api, pid, scene_id):
    return api.get(f"/api/projects/{pid}/broll/scenes/{scene_id}/history").json()["entries"]


def _plan(api, pid, scene_id, body):
    return api.put(f"/api/projects/{pid}/broll/scenes/{scene_id}/plan", json=body)


def test_a_twenty_second_scene_gets_three_sub_shots_each_generated_and_cut_in_in_order(
    api, long_project, emulator, tmp_path
):
    pid = long_project["projectId"]
    main = _scene(long_project, "main")
    assert main["plannedShots"] == 3 and main["shotCount"] is None
    assert (main["autoShots"], main["maxShots"]) == (3, 8)  # the page offers what the server allows
    assert (_scene(long_project, "hook")["autoShots"], _scene(long_project, "hook")["maxShots"]) == (1, 1)
    assert [(s["n"], s["start"], s["end"], s["status"]) for s in main["plan"]] == [
        (n, a, b, "waiting") for n, (a, b) in enumerate(SUB_SHOTS, start=1)
    ]
    assert _scene(long_project, "hook")["plan"] == []  # 2 s: one clip, trimmed
    # The estimate counts clips, not scenes: 1 + 3 + 1.
    assert api.get(f"/api/projects/{pid}/broll/estimate").json()["clips"] == 5

    created = emulator.stats()["tasks_created"]
    started = _generate(api, pid, "main")
    assert started["status"] == "generating" and started["plan"][0]["status"] == "generating"
    scene = wait_for_scene(api, pid, "main", lambda s: s["status"] in ("completed", "failed"), timeout=120)
    assert scene["status"] == "completed", scene
    assert emulator.stats()["tasks_created"] - created == 3  # one Kie task per sub-shot, no more
    shots = scene["plan"]
    assert [s["status"] for s in shots] == ["ready"] * 3
    assert len({s["taskId"] for s in shots}) == 3 and len({s["prompt"] for s in shots}) == 3
    assert all(s["prompt"] and s["promptSource"] == "local" for s in shots)
    clips = [h for h in _history(api, pid, "main") if h["kind"] == "clip"]
    assert sorted((h["shot"], h["shots"], h["taskId"]) for h in clips) == [
        (s["n"], 3, s["taskId"]) for s in shots
    ]
    assert all(h["current"] for h in clips)

    # The full layout: each sub-shot over its own part of the scene (cutaway squeezes them into its share).
    assert api.put(f"/api/projects/{pid}/layout", json={"layout": "full"}).status_code == 200
    api.post(f"/api/projects/{pid}/render", json={})
    render = _wait(api, f"/api/projects/{pid}/render", lambda b: b["render"]["status"] != "rendering", 120)["render"]
    assert render["status"] == "completed", render
    video = tmp_path / "composite.mp4"
    video.write_bytes(httpx.get(render["videoUrl"]).content)
    for shot in shots:  # each sub-shot's own clip over its own part, in order
        clip = tmp_path / f"shot-{shot['n']}.mp4"
        clip.write_bytes(httpx.get(shot["videoUrl"]).content)
        assert _close(frame_colour(video, (shot["start"] + shot["end"]) / 2), frame_colour(clip, 1.0)), shot["n"]

    archive = zipfile.ZipFile(io.BytesIO(httpx.get(download_url(api, pid)).content))
    assert [n for n in archive.namelist() if n.startswith("02-")] == ["02-main-1.mp4", "02-main-2.mp4", "02-main-3.mp4"]
    timeline = json.loads(archive.read("timeline.json"))
    listed = _scene({"scenes": timeline["scenes"]}, "main")
    assert [(c["file"], c["start"], c["end"]) for c in listed["clips"]] == [
        (f"02-main-{n}.mp4", a, b) for n, (a, b) in enumerate(SUB_SHOTS, start=1)
    ]
    assert listed["aiGenerated"] and all(c["aiGenerated"] for c in listed["clips"])


def test_a_scene_that_fails_part_way_goes_on_from_the_first_sub_shot_without_a_clip(api, long_project, emulator):
    pid = long_project["projectId"]
    created = emulator.stats()["tasks_created"]
    broken = {"successFlag": 2, "errorCode": 500, "errorMessage": "Internal error"}
    emulator.configure(delay_seconds=1, fail_next=[{"successFlag": 1}, broken])
    _generate(api, pid, "main")
    failed = wait_for_scene(api, pid, "main", lambda s: s["status"] in ("completed", "failed"), timeout=90)
    assert failed["status"] == "failed" and failed["error"], failed
    assert [s["status"] for s in failed["plan"]] == ["ready", "waiting", "waiting"]
    assert emulator.stats()["tasks_created"] - created == 2
    first_clip = failed["plan"][0]["taskId"]

    _generate(api, pid, "main", regenerate=True)  # the page's Retry
    scene = wait_for_scene(api, pid, "main", lambda s: s["status"] in ("completed", "failed"), timeout=90)
    assert scene["status"] == "completed", scene
    assert emulator.stats()["tasks_created"] - created == 4  # sub-shots 2 and 3 only: 1 was kept
    assert scene["plan"][0]["taskId"] == first_clip


def test_the_plan_is_the_persons_to_change(api, long_project, emulator):
    pid = long_project["projectId"]
    answer = _plan(api, pid, "main", {"count": 2})
    assert answer.status_code == 200, answer.text
    scene = answer.json()
    assert scene["shotCount"] == 2 and scene["plannedShots"] == 2
    assert [(s["start"], s["end"]) for s in scene["plan"]] == [(2.0, 12.0), (12.0, 22.0)]
    own = "Wide shot, slow dolly along an empty harbour quay at dawn, cranes in mist, 9:16."
    scene = _plan(api, pid, "main", {"prompts": [own, None]}).json()
    assert scene["plan"][0]["prompt"] == own and scene["plan"][0]["promptSource"] == "person"
    assert scene["plan"][1]["prompt"] == ""

    for body, status in [
        ({"count": 9}, 422),  # more than 8
        ({}, 422),  # nothing to change
        ({"count": 2, "auto": True}, 422),
        ({"prompts": ["one", "two", "three"]}, 409),  # the plan has 2 sub-shots
    ]:
        answer = _plan(api, pid, "main", body)
        assert answer.status_code == status, (body, answer.text)
        assert "error" in answer.json()
    tiny = _plan(api, pid, "hook", {"count": 2})  # 2 s: a sub-shot would last 1 s
    assert tiny.status_code == 422 and "at most 1" in tiny.json()["error"]
    aiprompt = api.put(f"/api/projects/{pid}/broll/scenes/main", json={"aiPrompt": "One prompt for all."})
    assert aiprompt.status_code == 409
    assert _scene(api.get(f"/api/projects/{pid}").json(), "main")["shotCount"] == 2  # unchanged by the refusals

    emulator.configure(delay_seconds=3)
    _generate(api, pid, "main")
    assert _plan(api, pid, "main", {"count": 3}).status_code == 409  # not while generating
    scene = wait_for_scene(api, pid, "main", lambda s: s["status"] in ("completed", "failed"), timeout=90)
    assert scene["status"] == "completed", scene
    sent = [h for h in _history(api, pid, "main") if h["kind"] == "generation"]
    assert sorted((h["shot"], h["prompt"] == own) for h in sent)[0] == (1, True)  # the person's words were sent

    # Back to one clip: the two made stay in the cut until the scene is regenerated.
    scene = _plan(api, pid, "main", {"auto": False, "count": 1}).json()
    assert scene["plannedShots"] == 1 and [s["status"] for s in scene["plan"]] == ["ready", "ready"]
    created = emulator.stats()["tasks_created"]
    _generate(api, pid, "main", regenerate=True)
    scene = wait_for_scene(api, pid, "main", lambda s: s["status"] == "completed" and not s["plan"], timeout=60)
    assert emulator.stats()["tasks_created"] - created == 1 and scene["aiPrompt"]
