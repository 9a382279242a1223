"""Every route against the local stack: the demo project, and bad input refused cleanly."""

import json
import re

import pytest

URL = re.compile(r"https?://[^\"]+")


def snapshot(api, project_id):
    # Presigned URLs carry a fresh expiry on every read: compare the data, not the signatures.
    return URL.sub("<url>", api.get(f"/api/projects/{project_id}").text)


def test_demo_project_has_what_the_page_needs(api):
    project = api.get("/api/projects/demo").json()
    assert project["name"]
    assert [s["sceneTitle"] for s in project["scenes"]] == ["Hook", "Main", "CTA"]
    assert [s["timeRange"]["label"] for s in project["scenes"]] == ["0:00–0:03", "0:03–0:18", "0:18–0:27"]
    assert project["audio"]["durationSec"] == 27.7
    assert api.get(project["audio"]["url"]).status_code == 200
    assert api.get(project["avatarVideo"]["url"]).status_code == 200
    assert "Night trains" in project["script"]
    assert project["step7"]["status"] == "in_progress"


def test_import_computes_proportional_time_ranges(api, project):
    ranges = [s["timeRange"] for s in project["scenes"]]
    assert ranges[0]["start"] == 0 and ranges[-1]["end"] == 24.0
    assert all(a["end"] == b["start"] for a, b in zip(ranges, ranges[1:]))
    assert any(p["projectId"] == project["projectId"] for p in api.get("/api/projects").json()["projects"])


def test_shot_instructions_are_saved(api, project):
    pid = project["projectId"]
    reply = api.put(f"/api/projects/{pid}/broll/scenes/hook", json={"shotInstructions": "A crane lifts a container"})
    assert reply.status_code == 200
    assert api.get(f"/api/projects/{pid}").json()["scenes"][0]["shotInstructions"] == "A crane lifts a container"


def test_prompt_route_writes_a_vertical_prompt(api, project):
    pid = project["projectId"]
    api.put(f"/api/projects/{pid}/broll/scenes/main", json={"shotInstructions": "Dock workers walk past stacked containers"})
    scene = api.post(f"/api/projects/{pid}/broll/prompt", json={"sceneId": "main"}).json()
    assert "Dock workers walk past stacked containers" in scene["aiPrompt"]
    assert "9:16" in scene["aiPrompt"] and scene["promptSource"] == "local"


BAD_CALLS = [
    # (method, path, body, expected status)
    ("GET", "/api/projects/nope-{u}", None, 404),
    ("POST", "/api/projects/nope-{u}/broll/generate", {"sceneId": "hook"}, 404),
    ("POST", "/api/projects/{p}/broll/generate", {"sceneId": "nope"}, 404),
    ("POST", "/api/projects/{p}/broll/generate", "{not json", 400),
    ("POST", "/api/projects/{p}/broll/generate", {"sceneId": "Hook!"}, 422),
    ("POST", "/api/projects/{p}/broll/generate", {"sceneId": "hook", "paid": True}, 422),
    ("POST", "/api/projects/{p}/broll/generate", {"sceneId": "hook", "regenerate": "maybe"}, 422),
    ("GET", "/api/projects/{p}/broll/status/veo_task_missing", None, 404),
    ("GET", "/api/projects/nope-{u}/broll/status/veo_task_missing", None, 404),
    ("POST", "/api/projects/{p}/broll/generate-all", "[", 400),
    ("POST", "/api/projects/nope-{u}/broll/generate-all", {}, 404),
    ("PUT", "/api/projects/{p}/broll/scenes/nope", {"shotInstructions": "x"}, 404),
    ("PUT", "/api/projects/{p}/broll/scenes/hook", {"shotInstructions": "x" * 2001}, 422),
    ("PUT", "/api/projects/{p}/broll/scenes/hook", {"shot": "x"}, 422),
    ("PUT", "/api/projects/{p}/broll/scenes/hook", "{{", 400),
    ("POST", "/api/projects/{p}/broll/prompt", {"sceneId": "nope"}, 404),
    ("POST", "/api/projects/{p}/broll/prompt", {}, 422),
    ("POST", "/api/projects/{p}/broll/cancel", {"sceneId": "nope"}, 404),
    ("POST", "/api/projects/{p}/broll/cancel", {"sceneId": "hook"}, 409),
    ("POST", "/api/projects/{p}/broll/cancel", "nope", 400),
    ("POST", "/api/projects/nope-{u}/complete", {}, 404),
    ("POST", "/api/projects/{p}/complete", {"x": 1}, 422),
    ("POST", "/api/projects", {"name": "x"}, 422),
    ("POST", "/api/projects", "{", 400),
    ("POST", "/api/projects", {"projectId": "{p}", "name": "dup", "stage3": {"editedScenes": [{"sceneTitle": "A", "text": "b"}]}, "stage4": {"audioDurationSec": 3}}, 409),
]


@pytest.mark.parametrize("method,path,body,status", BAD_CALLS)
def test_bad_input_answers_json_error_and_changes_nothing(api, project, method, path, body, status):
    pid = project["projectId"]
    before = snapshot(api, pid)
    path = path.format(p=pid, u="x1")
    if isinstance(body, dict):
        body = json.loads(json.dumps(body).replace("{p}", pid))
        content = json.dumps(body)
    else:
        content = body
    response = api.request(method, path, content=content, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    error = response.json()
    assert isinstance(error["error"], str) and error["error"]
    assert snapshot(api, pid) == before
    emulated = api.get(f"/api/projects/{pid}").json()["scenes"]
    assert all(s["taskId"] is None for s in emulated)


def test_unknown_route_is_a_json_404(api):
    response = api.get("/api/nothing-here")
    assert response.status_code == 404 and "error" in response.json()


def test_page_is_served_with_security_headers(api):
    response = api.get("/")
    assert response.status_code == 200 and "<html" in response.text.lower()
    assert "default-src 'self'" in response.headers["content-security-policy"]


def test_page_text_is_gzipped_as_cloudfront_does(stack):
    import httpx

    from devstack.template import ROOT

    raw = httpx.get(f"{stack.api_url}/js/main.js", headers={"Accept-Encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip" and raw.headers["vary"] == "Accept-Encoding"
    assert raw.content == (ROOT / "web" / "js" / "main.js").read_bytes()  # httpx decoded it
    assert int(raw.headers["content-length"]) < len(raw.content)
    plain = httpx.get(f"{stack.api_url}/js/main.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert "Compress: true" in (ROOT / "template.yaml").read_text()
