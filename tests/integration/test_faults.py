"""The fault suite: double clicks, outages, rate limits, lost or forged callbacks, copy errors."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from broll_common.clients import breaker
from broll_common.config import reset_settings
from tests.integration.conftest import callback_url, wait_for_scene


def generate(api, pid, scene_id, **extra):
    return api.post(f"/api/projects/{pid}/broll/generate", json={"sceneId": scene_id, **extra})


def test_twenty_concurrent_generates_start_exactly_one_task(api, project, emulator):
    pid = project["projectId"]
    before = emulator.stats()["tasks_created"]
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: generate(api, pid, "hook"), range(20)))
    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["taskId"] for a in answers}) == 1
    assert emulator.stats()["tasks_created"] - before == 1


def test_fifty_concurrent_scene_updates_lose_nothing(api):
    from tests.integration.conftest import project_body

    body = project_body(f"busy-{int(time.time() * 1000)}", scenes=1)
    body["stage3"]["editedScenes"] = [
        {"sceneId": f"s{i:02d}", "sceneTitle": f"Shot {i}", "text": f"Crane {i}."} for i in range(25)
    ]
    pid = api.post("/api/projects", json=body).json()["projectId"]
    writes = [(f"s{i:02d}", "shotInstructions", f"instructions {i}") for i in range(25)]
    writes += [(f"s{i:02d}", "aiPrompt", f"prompt {i}") for i in range(25)]

    def put(write):
        scene_id, field, value = write
        return api.put(f"/api/projects/{pid}/broll/scenes/{scene_id}", json={field: value}).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        assert set(pool.map(put, writes)) == {200}
    scenes = {s["sceneId"]: s for s in api.get(f"/api/projects/{pid}").json()["scenes"]}
    lost = [(scene_id, field) for scene_id, field, value in writes if scenes[scene_id][field] != value]
    print(f"\nfault suite: 50 concurrent scene updates, {len(lost)} lost")
    assert lost == []


@pytest.fixture
def low_breaker(monkeypatch):
    monkeypatch.setenv("BREAKER_FAILURE_THRESHOLD", "2")
    monkeypatch.setenv("BREAKER_RECOVERY_TIMEOUT_S", "2")
    monkeypatch.setenv("BREAKER_CACHE_S", "0")
    reset_settings()  # the breaker's numbers are settings
    breaker.kie_client.cache_clear()
    yield
    monkeypatch.undo()
    reset_settings()
    breaker.kie_client.cache_clear()


def test_outage_opens_the_breaker_and_the_waiting_scenes_start_when_it_closes(api, project, emulator, low_breaker):
    """A compressed outage (tests/integration/test_outage.py has the 60 s one)."""
    pid = project["projectId"]
    emulator.configure(outage=True)
    before = emulator.stats()["api_calls"]
    first = generate(api, pid, "hook").json()  # a 503 page: waits, nothing charged
    assert first["status"] == "generating" and first["waiting"]["reason"] == "kie_down" and first["error"] is None
    deadline = time.monotonic() + 10
    while emulator.stats()["api_calls"] - before < 2:  # its loop tries again: the second 503 opens the circuit
        assert time.monotonic() < deadline, "the hook's loop never met the outage a second time"
        time.sleep(0.2)
    time.sleep(0.2)  # the open state written
    calls = emulator.stats()["api_calls"]
    fast = generate(api, pid, "main").json()
    assert fast["status"] == "generating" and fast["waiting"]["reason"] == "kie_down"
    assert fast["statusNote"] == "Waiting for Kie.ai; it starts by itself, nothing charged yet."
    assert emulator.stats()["api_calls"] == calls  # the circuit answered: Kie was not called
    emulator.configure(outage=False)
    for scene_id in ("hook", "main"):  # past the cool-down, one probe closes it; both start by themselves
        done = wait_for_scene(api, pid, scene_id, lambda s: s["status"] == "completed")
        assert done["waiting"] is None


def test_a_poll_that_meets_an_outage_waits_instead_of_failing(api, project, emulator, low_breaker):
    pid = project["projectId"]
    emulator.configure(drop_callbacks=True, delay_seconds=1)
    assert generate(api, pid, "cta").json()["status"] == "generating"
    emulator.configure(outage=True)
    time.sleep(5)  # several poll turns meet the outage (and the open breaker)
    assert api.get(f"/api/projects/{pid}").json()["scenes"][2]["status"] == "generating"
    emulator.configure(outage=False)
    wait_for_scene(api, pid, "cta", lambda s: s["status"] == "completed", timeout=30)


def test_a_rate_limit_storm_is_retried_and_then_waited_out(api, project, emulator):
    pid = project["projectId"]
    emulator.configure(reject_next_submit=[{"code": 429, "msg": "slow down"}] * 2)
    ok = generate(api, pid, "hook").json()
    assert ok["status"] == "generating"
    emulator.configure(rate_limit_storm=True)
    storm = generate(api, pid, "main").json()  # 429 on every in-request try: it waits for a free slot
    assert storm["status"] == "generating" and storm["waiting"]["reason"] == "rate_limited"
    assert storm["statusNote"] == "Waiting for a free Kie.ai slot; it starts by itself, nothing charged yet."
    emulator.configure(rate_limit_storm=False)
    wait_for_scene(api, pid, "main", lambda s: s["status"] == "completed", timeout=30)


def test_signed_callbacks_finish_the_scene_and_forged_ones_are_refused(api, project, emulator, monkeypatch):
    monkeypatch.setenv("KIE_WEBHOOK_HMAC_KEY", "whk-local-secret")
    emulator.configure(webhook_hmac_key="whk-local-secret", delay_seconds=1)
    pid = project["projectId"]
    scene = generate(api, pid, "main").json()
    forged = api.post(
        callback_url(pid, "main", scene["generation"]),
        json={"code": 200, "msg": "ok", "data": {"taskId": scene["taskId"], "info": {"resultUrls": ["http://evil/x.mp4"]}}},
        headers={"X-Webhook-Timestamp": str(int(time.time())), "X-Webhook-Signature": "Zm9yZ2Vk"},
    )
    assert forged.status_code == 401 and "signature" in forged.json()["error"]
    done = wait_for_scene(api, pid, "main", lambda s: s["status"] == "completed", timeout=20)
    assert "evil" not in done["videoUrl"]
    # The emulator counts a delivery once our answer is back, a moment after the scene settled.
    deadline = time.monotonic() + 5
    while emulator.stats()["callbacks_sent"] < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert emulator.stats()["callbacks_sent"] >= 1


def test_a_duplicate_callback_is_a_no_op(api, project, emulator):
    emulator.configure(delay_seconds=1)
    pid = project["projectId"]
    scene = generate(api, pid, "cta").json()
    done = wait_for_scene(api, pid, "cta", lambda s: s["status"] == "completed")
    again = api.post(
        callback_url(pid, "cta", scene["generation"]),
        json={"code": 200, "msg": "ok", "data": {"taskId": scene["taskId"]}},
    )
    assert again.status_code == 200 and again.json()["settled"] is False
    after = api.get(f"/api/projects/{pid}").json()["scenes"][2]
    assert after["status"] == "completed" and after["videoUrl"].split("?")[0] == done["videoUrl"].split("?")[0]


def test_a_failed_clip_copy_is_retried_not_lost(api, project, emulator, monkeypatch):
    from broll_common.logic.generation import settle

    real_copy, calls = settle.copy_from_url, []
    pid = project["projectId"]

    def flaky_copy(url, key):
        if f"/projects/{pid}/" not in key:  # another test's clip, still settling in the background
            return real_copy(url, key)
        calls.append(url)
        if len(calls) <= 2:
            raise httpx.ConnectError("connection reset while copying")
        return real_copy(url, key)

    monkeypatch.setattr(settle, "copy_from_url", flaky_copy)
    emulator.configure(drop_callbacks=True, delay_seconds=1)
    generate(api, pid, "hook")
    scene = wait_for_scene(api, pid, "hook", lambda s: s["status"] != "generating", timeout=30)
    assert scene["status"] == "completed" and len(calls) == 3
    reset_settings()


def test_generate_all_of_fifty_under_a_429_storm_completes_within_the_limit(api, emulator):
    from tests.integration.conftest import project_body

    body = project_body(f"fifty-{int(time.time())}", scenes=1)
    body["stage3"]["editedScenes"] = [
        {"sceneId": f"s{i:02d}", "sceneTitle": f"Shot {i}", "text": f"Harbour crane number {i} at dawn."}
        for i in range(50)
    ]
    body["stage4"]["audioDurationSec"] = 200
    pid = api.post("/api/projects", json=body).json()["projectId"]
    emulator.configure(delay_seconds=1, reject_next_submit=[{"code": 429, "msg": "Too many requests"}] * 15)
    started = time.monotonic()
    answer = api.post(f"/api/projects/{pid}/broll/generate-all", json={})
    assert answer.status_code == 202 and len(answer.json()["started"]) == 50
    # Queued, not submitted inside the request (50 submits at 20 per 10 s take over 20 s).
    assert time.monotonic() - started < 15
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        scenes = api.get(f"/api/projects/{pid}").json()["scenes"]
        if all(s["status"] != "generating" for s in scenes):
            break
        time.sleep(1)
    assert [s["status"] for s in scenes] == ["completed"] * 50, [(s["sceneId"], s["error"]) for s in scenes if s["error"]]
    stats = emulator.stats()
    assert stats["max_generate_calls_per_window"] <= 20
    assert stats["tasks_created"] == 50


def test_an_outage_ends_every_scene_completed_or_failed_with_few_probes(api, project, emulator, low_breaker):
    """A compressed 60 s outage (6 s here, 2 s cool-down): the breaker opens after at most
    5 failures, lets at most one probe through per cool-down, and no scene stays generating."""
    pid = project["projectId"]
    emulator.configure(outage=True, delay_seconds=1, drop_callbacks=True)
    outage_started = time.monotonic()
    calls_before = emulator.stats()["api_calls"]
    api.post(f"/api/projects/{pid}/broll/generate-all", json={})
    time.sleep(6)
    calls_during = emulator.stats()["api_calls"] - calls_before
    outage_s = time.monotonic() - outage_started
    emulator.configure(outage=False)
    # threshold (2 here, <= 5) failures open it, then one probe per 2 s cool-down at most
    assert calls_during <= 2 + int(outage_s / 2) + 1
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        scenes = api.get(f"/api/projects/{pid}").json()["scenes"]
        if all(s["status"] in ("completed", "failed") for s in scenes):
            break
        time.sleep(0.5)
    assert all(s["status"] in ("completed", "failed") for s in scenes), scenes
    assert any(s["status"] == "completed" for s in scenes)


def test_our_clip_url_still_plays_after_kie_forgets_the_task(api, project, emulator):
    emulator.configure(delay_seconds=1)
    pid = project["projectId"]
    generate(api, pid, "hook")
    scene = wait_for_scene(api, pid, "hook", lambda s: s["status"] == "completed")
    emulator.reset()  # Kie's files and tasks are gone
    clip = httpx.get(scene["videoUrl"])
    assert clip.status_code == 200 and clip.content[4:8] == b"ftyp"
