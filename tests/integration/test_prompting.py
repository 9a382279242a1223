"""Issue 8 on the local stack: the one automatic rewrite after a content-policy refusal,
no automatic resubmit after an unknown outcome, history, choosing an earlier clip without
a new task, the style lock, and the AI-generated flag."""

from __future__ import annotations

import io
import json
import time
import zipfile

import httpx

from broll_common.config import reset_settings
from tests.integration.conftest import download_url, wait_for_scene

POLICY = "The prompt was flagged by the content policy: prominent public figure."


def completed(scene):
    return scene["status"] == "completed"


def settled(scene):
    return scene["status"] in ("completed", "failed")


def generate(api, pid, scene_id, **extra):
    answer = api.post(f"/api/projects/{pid}/broll/generate", json={"sceneId": scene_id, **extra})
    assert answer.status_code == 202, answer.text
    return answer.json()


def history(api, pid, scene_id):
    answer = api.get(f"/api/projects/{pid}/broll/scenes/{scene_id}/history")
    assert answer.status_code == 200, answer.text
    return answer.json()["entries"]


def test_a_refused_prompt_at_submit_is_rewritten_once_and_submitted_again(api, project, emulator):
    pid = project["projectId"]
    api.put(f"/api/projects/{pid}/broll/scenes/hook", json={"aiPrompt": "Senator Maria Lopez waves at a rally."})
    created = emulator.stats()["tasks_created"]
    emulator.configure(reject_next_submit=[{"code": 400, "msg": POLICY}])
    generate(api, pid, "hook")
    scene = wait_for_scene(api, pid, "hook", settled)
    assert scene["status"] == "completed", scene
    assert scene["rewrite"]["fromPrompt"] == "Senator Maria Lopez waves at a rally."
    assert scene["rewrite"]["reason"] == POLICY and scene["aiPrompt"] != scene["rewrite"]["fromPrompt"]
    assert "Maria Lopez" not in scene["aiPrompt"]
    assert emulator.stats()["tasks_created"] - created == 1
    kinds = [e["kind"] for e in history(api, pid, "hook")]
    assert kinds[:3] == ["clip", "generation", "rewrite"] and kinds.count("rewrite") == 1


def test_a_refusal_in_the_task_result_is_rewritten_once_then_a_second_refusal_fails(api, project, emulator):
    pid = project["projectId"]
    created = emulator.stats()["tasks_created"]
    refused = {"successFlag": 2, "errorCode": 400, "errorMessage": POLICY}
    emulator.configure(delay_seconds=1, fail_next=[refused, refused])
    generate(api, pid, "main")
    scene = wait_for_scene(api, pid, "main", settled, timeout=40)
    assert scene["status"] == "failed" and "rejected the prompt" in scene["error"]
    assert scene["rewrite"] and scene["rewrite"]["reason"] == POLICY
    # Exactly one rewritten submit: the first task and the rewritten one, never a third.
    assert emulator.stats()["tasks_created"] - created == 2
    entries = history(api, pid, "main")
    assert [e["kind"] for e in entries].count("rewrite") == 1
    assert [e["kind"] for e in entries].count("generation") == 2


def test_a_submit_timeout_is_never_resubmitted(api, project, emulator, monkeypatch):
    monkeypatch.setenv("KIE_TIMEOUT_S", "0.5")
    reset_settings()
    from broll_common.clients.breaker import kie_client

    kie_client.cache_clear()
    try:
        pid = project["projectId"]
        emulator.configure(slow_generate_ms=1500)  # the submit times out; the balance read before it does not
        calls = emulator.stats()["generate_calls"]
        answer = api.post(f"/api/projects/{pid}/broll/generate", json={"sceneId": "cta"})
        assert answer.status_code == 202
        scene = answer.json()
        assert scene["status"] == "failed" and "Retry may charge again" in scene["error"]
        emulator.configure(slow_generate_ms=0)
        time.sleep(3)  # the slow request reaches the emulator's count, and nothing follows it
        assert emulator.stats()["generate_calls"] - calls == 1
        assert [e["kind"] for e in history(api, pid, "cta")] == ["failed"]
    finally:
        monkeypatch.undo()
        reset_settings()
        kie_client.cache_clear()


def test_an_earlier_clip_becomes_current_without_a_new_task(api, project, emulator):
    pid = project["projectId"]
    generate(api, pid, "hook")
    first = wait_for_scene(api, pid, "hook", completed)
    generate(api, pid, "hook", regenerate=True)
    second = wait_for_scene(api, pid, "hook", lambda s: completed(s) and s["taskId"] != first["taskId"])
    clips = [e for e in history(api, pid, "hook") if e["kind"] == "clip"]
    assert [c["taskId"] for c in clips] == [second["taskId"], first["taskId"]]
    assert clips[0]["current"] and not clips[1]["current"] and clips[1]["videoUrl"]
    created = emulator.stats()["tasks_created"]
    chosen = api.post(f"/api/projects/{pid}/broll/scenes/hook/select", json={"entryId": clips[1]["id"]})
    assert chosen.status_code == 200 and chosen.json()["taskId"] == first["taskId"]
    assert emulator.stats()["tasks_created"] == created
    now = api.get(f"/api/projects/{pid}").json()["scenes"][0]
    assert now["status"] == "completed" and now["taskId"] == first["taskId"]
    assert httpx.get(now["videoUrl"]).content == httpx.get(clips[1]["videoUrl"]).content
    assert [e for e in history(api, pid, "hook") if e["kind"] == "clip"][1]["current"]


def test_choosing_a_history_entry_without_a_clip_is_refused(api, project):
    pid = project["projectId"]
    api.put(f"/api/projects/{pid}/broll/scenes/main", json={"aiPrompt": "A harbour crane at dawn, slow tilt up."})
    entry = history(api, pid, "main")[0]
    assert entry["kind"] == "prompt" and entry["promptSource"] == "person"
    answer = api.post(f"/api/projects/{pid}/broll/scenes/main/select", json={"entryId": entry["id"]})
    assert answer.status_code == 409 and "no clip" in answer.json()["error"]
    missing = api.post(f"/api/projects/{pid}/broll/scenes/main/select", json={"entryId": 12345})
    assert missing.status_code == 404


def test_the_style_lock_reaches_every_prompt_and_marks_older_clips_out_of_date(api, project):
    pid = project["projectId"]
    generate(api, pid, "hook")
    wait_for_scene(api, pid, "hook", completed)
    styled = api.put(f"/api/projects/{pid}/style", json={"look": "archival 16mm film", "colour": "warm sepia", "seed": 12345})
    assert styled.status_code == 200
    body = styled.json()
    assert body["style"]["look"] == "archival 16mm film" and body["style"]["seed"] == 12345
    assert body["scenes"][0]["outOfDate"] is True
    prompts = [api.post(f"/api/projects/{pid}/broll/prompt", json={"sceneId": s}).json()["aiPrompt"]
               for s in ("hook", "main", "cta")]
    assert all("archival 16mm film" in p and "warm sepia" in p for p in prompts)
    generate(api, pid, "hook", regenerate=True)
    again = wait_for_scene(api, pid, "hook", lambda s: completed(s) and not s["outOfDate"])
    assert "archival 16mm film" in again["aiPrompt"]


def test_a_bad_style_is_refused_and_changes_nothing(api, project):
    pid = project["projectId"]
    for body in ({"seed": 5}, {"look": "x" * 300}, {"mood": "dark"}):
        answer = api.put(f"/api/projects/{pid}/style", json=body)
        assert answer.status_code == 422 and answer.json()["error"]
    assert api.get(f"/api/projects/{pid}").json()["style"] == {"look": "", "colour": "", "lens": "", "era": "", "seed": None}


def test_a_news_scene_naming_a_person_gets_a_prompt_without_the_name(api):
    from tests.integration.conftest import project_body
    import uuid

    pid = f"news-{uuid.uuid4().hex[:8]}"
    body = project_body(pid, scenes=1)
    body["stage3"]["editedScenes"] = [{"sceneTitle": "Hook", "text": "Prime Minister Keir Starmer visited the Port of Tyne on Monday."}]
    assert api.post("/api/projects", json=body).status_code == 201
    scene = api.post(f"/api/projects/{pid}/broll/prompt", json={"sceneId": "hook"}).json()
    assert "Starmer" not in scene["aiPrompt"] and "Keir" not in scene["aiPrompt"]
    assert scene["promptNote"]


def test_every_clip_is_flagged_ai_generated_in_the_data_and_the_export(api, project):
    pid = project["projectId"]
    generate(api, pid, "cta")
    scene = wait_for_scene(api, pid, "cta", completed)
    assert scene["aiGenerated"] is True
    assert api.get(f"/api/projects/{pid}").json()["scenes"][0]["aiGenerated"] is False
    archive = zipfile.ZipFile(io.BytesIO(httpx.get(download_url(api, pid)).content))
    timeline = json.loads(archive.read("timeline.json"))
    assert "AI-generated" in timeline["aiDisclosure"]
    assert [s["aiGenerated"] for s in timeline["scenes"]] == [False, False, True]
