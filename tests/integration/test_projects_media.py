"""Issue 14 on the local stack: projects of one's own (list, rename, duplicate, delete, scene
boundaries), the voice-over and avatar uploaded with a presigned POST or fetched from a URL,
probed by the packaged ffmpeg, and refused with a sentence (and nothing stored) when they
cannot be used."""

from __future__ import annotations

import io
import os
import time
import uuid
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import boto3
import httpx
import pytest

from devstack.auth import DEMO_USER
from devstack.media import probe, render_avatar, render_voiceover
from tests.integration.conftest import download_url, project_body, wait_for_scene
from tests.media_server import MediaServer

SECONDS = 6.0


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("brought")
    voice = render_voiceover(folder / "voice.m4a", seconds=SECONDS)
    avatar = render_avatar(folder / "avatar.mp4", voice, seconds=SECONDS)
    text = folder / "notes.mp4"
    text.write_text("These are my notes, not a video.\n" * 200)
    return {"voice": voice, "avatar": avatar, "text": text}


@pytest.fixture(scope="module")
def server(files):
    served = MediaServer({
        "avatar.mp4": (files["avatar"], "video/mp4"),
        "voice.m4a": (files["voice"], "audio/mp4"),
        "notes.mp4": (files["text"], "video/mp4"),
    })
    yield served
    served.stop()


def new_project(api, **stages) -> dict:
    pid = f"own-{uuid.uuid4().hex[:8]}"
    body = project_body(pid) | {"stage4": {"audioDurationSec": SECONDS}} | stages
    answer = api.post("/api/projects", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def folder_of(pid: str, user: str = DEMO_USER) -> str:
    return f"users/{user}/projects/{pid}/"


def stored_keys(pid: str, user: str = DEMO_USER) -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=os.environ["MEDIA_BUCKET"], Prefix=folder_of(pid, user))
    return [item["Key"] for item in listed.get("Contents", [])]


def settled_media(api, pid: str, field: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        project = api.get(f"/api/projects/{pid}").json()
        media = project[field]["media"]
        if media and media["status"] in ("ready", "failed"):
            return project
        assert time.monotonic() < deadline, f"{field} never settled: {media}"
        time.sleep(0.2)


def upload(api, pid: str, kind: str, path: Path, content_type: str) -> httpx.Response:
    form = api.post(f"/api/projects/{pid}/uploads",
                    json={"kind": kind, "contentType": content_type, "size": path.stat().st_size})
    assert form.status_code == 200, form.text
    body = form.json()
    assert body["key"].startswith(folder_of(pid) + "media/")
    sent = httpx.post(body["url"], data=body["fields"], files={"file": (path.name, path.read_bytes(), content_type)})
    assert sent.status_code in (200, 201, 204), sent.text
    return api.post(f"/api/projects/{pid}/media/{kind}", json={"key": body["key"]})


# ---------------------------------------------------------------- uploads


def test_an_uploaded_voice_over_and_avatar_are_probed_and_taken(api, files):
    project = new_project(api, stage4={"audioDurationSec": 9.0})  # the project says 9 s; the file lasts 6
    pid = project["projectId"]
    assert project["audio"]["url"] is None and project["avatarVideo"]["media"] is None
    taken = upload(api, pid, "voiceover", files["voice"], "audio/mp4")
    assert taken.status_code == 202 and taken.json()["audio"]["media"]["status"] in ("probing", "ready")
    assert upload(api, pid, "avatar", files["avatar"], "video/mp4").status_code == 202
    settled_media(api, pid, "audio")
    project = settled_media(api, pid, "avatarVideo")
    voice, avatar = project["audio"]["media"], project["avatarVideo"]["media"]
    assert voice["status"] == "ready" and voice["hasAudio"] and abs(voice["durationSec"] - SECONDS) < 0.2
    assert voice["durationMismatchSec"] == pytest.approx(SECONDS - 9.0, abs=0.2)
    assert avatar["status"] == "ready" and avatar["hasVideo"] and (avatar["width"], avatar["height"]) == (360, 640)
    assert avatar["aspect"] == "9:16"
    assert project["audio"]["url"] and project["avatarVideo"]["url"]
    # The person takes the file's length: the mismatch is gone and the scenes fill the file.
    fixed = api.post(f"/api/projects/{pid}/media/voiceover/use-file-duration", json={})
    assert fixed.status_code == 200, fixed.text
    body = fixed.json()
    assert abs(body["audio"]["durationSec"] - SECONDS) < 0.2 and body["audio"]["media"]["durationMismatchSec"] is None
    assert body["scenes"][-1]["timeRange"]["end"] == pytest.approx(body["audio"]["durationSec"], abs=0.01)


def test_a_text_file_uploaded_as_mp4_is_refused_and_not_kept(api, files):
    pid = new_project(api)["projectId"]
    assert upload(api, pid, "avatar", files["text"], "video/mp4").status_code == 202
    media = settled_media(api, pid, "avatarVideo")["avatarVideo"]["media"]
    assert media["status"] == "failed" and "video" in media["error"].lower()
    assert media["error"].endswith(".") and not media["canRetry"]
    assert stored_keys(pid) == []  # the refused file was deleted
    assert api.get(f"/api/projects/{pid}").json()["avatarVideo"]["url"] is None
    again = api.post(f"/api/projects/{pid}/media/avatar", json={})  # Retry: the file is gone, say what to do
    assert again.status_code == 409 and "upload the file again" in again.json()["error"], again.text


@pytest.mark.parametrize("request_body, words", [
    ({"kind": "avatar", "contentType": "text/plain", "size": 10}, "must be MP4, MOV or WEBM"),
    ({"kind": "voiceover", "contentType": "video/mp4", "size": 10}, "must be MP3"),
    ({"kind": "avatar", "contentType": "video/mp4", "size": 300 * 1024 * 1024}, "at most 200 MB"),
])
def test_an_upload_form_is_refused_for_the_wrong_type_or_size(api, request_body, words):
    pid = new_project(api)["projectId"]
    answer = api.post(f"/api/projects/{pid}/uploads", json=request_body)
    assert answer.status_code == 422 and words in answer.json()["error"], answer.text


def test_a_key_outside_the_callers_folder_is_refused(api):
    pid = new_project(api)["projectId"]
    for key in (f"users/someone-else/projects/{pid}/media/avatar-1.mp4", f"projects/{pid}/avatar.mp4",
                f"{folder_of(pid)}media/../../x/avatar.mp4", f"{folder_of(pid)}media/avatar.m3u8"):
        answer = api.post(f"/api/projects/{pid}/media/avatar", json={"key": key})
        assert answer.status_code == 422, (key, answer.text)


# ---------------------------------------------------------------- URLs


def test_an_avatar_url_is_fetched_probed_rendered_and_downloaded(api, server, files, tmp_path):
    body = {"audioDurationSec": SECONDS, "audioUrl": server.url("voice.m4a")}
    project = new_project(api, stage4=body, stage5={"avatarVideoUrl": server.url("avatar.mp4")})
    pid = project["projectId"]
    assert project["avatarVideo"]["media"]["status"] in ("fetching", "ready")
    settled_media(api, pid, "audio")
    project = settled_media(api, pid, "avatarVideo")
    assert project["avatarVideo"]["media"]["status"] == "ready", project["avatarVideo"]
    assert project["avatarVideo"]["media"]["source"] == "url"
    assert project["avatarVideo"]["url"].split("?")[0].endswith(".mp4")
    assert folder_of(pid) in project["avatarVideo"]["url"]  # our copy, not the outside URL
    assert api.post(f"/api/projects/{pid}/broll/generate", json={"sceneId": "hook"}).status_code == 202
    wait_for_scene(api, pid, "hook", lambda s: s["status"] == "completed")
    assert api.post(f"/api/projects/{pid}/render", json={}).status_code in (200, 202)
    deadline = time.monotonic() + 90
    while (render := api.get(f"/api/projects/{pid}/render").json()["render"])["status"] == "rendering":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert render["status"] == "completed", render
    archive = zipfile.ZipFile(io.BytesIO(httpx.get(download_url(api, pid)).content))
    names = archive.namelist()
    assert "avatar.mp4" in names and any(n.startswith("voiceover") for n in names), names
    (tmp_path / "avatar.mp4").write_bytes(archive.read("avatar.mp4"))
    assert probe(tmp_path / "avatar.mp4")["width"] == 360


@pytest.mark.parametrize("url, words", [
    ("file:///etc/passwd", "https://"),
    ("ftp://example.com/avatar.mp4", "https://"),
    ("http://93.184.216.34/avatar.mp4", "https://"),  # plain http to a public address
    ("https://10.0.0.7/avatar.mp4", "private"),
    ("https://192.168.1.20/avatar.mp4", "private"),
    ("https://169.254.169.254/latest/meta-data/", "metadata"),
    ("https://169.254.10.1/avatar.mp4", "link-local"),
    ("https://[fd00:ec2::254]/latest/", "metadata"),
])
def test_a_url_that_must_not_be_fetched_is_refused_at_import_and_nothing_is_stored(api, url, words):
    pid = f"bad-{uuid.uuid4().hex[:8]}"
    body = project_body(pid) | {"stage5": {"avatarVideoUrl": url}}
    answer = api.post("/api/projects", json=body)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error.startswith("stage5.avatarVideoUrl: ") and words in error, error
    assert api.get(f"/api/projects/{pid}").status_code == 404
    assert stored_keys(pid) == []


@pytest.mark.parametrize("target, words", [
    ("https://169.254.169.254/latest/meta-data/", "metadata"),
    ("file:///etc/passwd", "https://"),
])
def test_a_redirect_to_a_forbidden_address_is_refused_and_nothing_is_stored(api, server, target, words):
    url = server.url("redirect-to/" + target.replace("/", "~"))
    pid = new_project(api, stage5={"avatarVideoUrl": url})["projectId"]
    media = settled_media(api, pid, "avatarVideo")["avatarVideo"]["media"]
    assert media["status"] == "failed" and words in media["error"], media
    assert stored_keys(pid) == [] and api.get(f"/api/projects/{pid}").json()["avatarVideo"]["url"] is None


def test_a_300_mb_body_and_a_text_file_are_refused_by_the_fetch(api, server):
    huge = new_project(api, stage5={"avatarVideoUrl": server.url("huge.mp4")})["projectId"]
    notes = new_project(api, stage5={"avatarVideoUrl": server.url("notes.mp4")})["projectId"]
    too_big = settled_media(api, huge, "avatarVideo", timeout=60)["avatarVideo"]["media"]
    not_video = settled_media(api, notes, "avatarVideo")["avatarVideo"]["media"]
    assert too_big["status"] == "failed" and "200 MB" in too_big["error"], too_big
    assert not_video["status"] == "failed" and "video" in not_video["error"].lower(), not_video
    assert stored_keys(huge) == [] and stored_keys(notes) == []


def test_a_failed_fetch_can_be_retried(api, server, files):
    server.files["late.mp4"] = (files["text"], "video/mp4")  # first it is not a video
    pid = new_project(api, stage5={"avatarVideoUrl": server.url("late.mp4")})["projectId"]
    failed = settled_media(api, pid, "avatarVideo")["avatarVideo"]["media"]
    assert failed["status"] == "failed" and failed["canRetry"]
    server.files["late.mp4"] = (files["avatar"], "video/mp4")  # the source is fixed
    assert api.post(f"/api/projects/{pid}/media/avatar", json={}).status_code == 202
    assert settled_media(api, pid, "avatarVideo")["avatarVideo"]["media"]["status"] == "ready"
    assert api.post(f"/api/projects/{pid}/media/avatar", json={}).status_code == 409  # nothing failed now


# ---------------------------------------------------------------- projects


def test_the_list_rename_duplicate_and_delete(api, files):
    project = new_project(api)
    pid = project["projectId"]
    upload(api, pid, "avatar", files["avatar"], "video/mp4")
    settled_media(api, pid, "avatarVideo")
    assert api.put(f"/api/projects/{pid}/broll/scenes/hook", json={"shotInstructions": "cranes at dawn"}).status_code == 200
    renamed_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    renamed = api.patch(f"/api/projects/{pid}", json={"name": "Harbour, take two"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Harbour, take two"
    listed = api.get("/api/projects").json()["projects"]
    # The most recently changed first (other tests' projects may change meanwhile: their workers).
    changed = [p["updatedAt"] for p in listed]
    assert changed == sorted(changed, reverse=True)
    mine = next(p for p in listed if p["projectId"] == pid)
    assert mine["updatedAt"] >= renamed_at
    assert mine["name"] == "Harbour, take two" and mine["sceneCount"] == 3 and mine["clipsReady"] == 0
    assert mine["thumbnailUrl"] and mine["updatedAt"] and mine["media"] == "missing"  # no voice-over yet

    copy = api.post(f"/api/projects/{pid}/duplicate", json={})
    assert copy.status_code == 201, copy.text
    twin = copy.json()
    assert twin["projectId"] != pid and twin["name"] == "Harbour, take two (copy)"
    assert twin["scenes"][0]["shotInstructions"] == "cranes at dawn" and all(s["status"] == "idle" for s in twin["scenes"])
    assert folder_of(twin["projectId"]) in twin["avatarVideo"]["url"]  # its own copy of the file

    deleted = api.delete(f"/api/projects/{pid}")
    assert deleted.status_code == 200 and deleted.json() == {"deleted": pid, "mediaObjects": 1}
    assert api.get(f"/api/projects/{pid}").status_code == 404 and stored_keys(pid) == []
    assert api.get(f"/api/projects/{twin['projectId']}").json()["avatarVideo"]["url"]  # the copy keeps its file
    assert pid not in [p["projectId"] for p in api.get("/api/projects").json()["projects"]]


def test_scene_boundaries_can_be_nudged(api):
    pid = new_project(api, stage4={"audioDurationSec": 12.0})["projectId"]
    moved = api.put(f"/api/projects/{pid}/timings", json={"boundaries": [2.5, 9.0]})
    assert moved.status_code == 200, moved.text
    ranges = [(s["timeRange"]["start"], s["timeRange"]["end"]) for s in moved.json()["scenes"]]
    assert ranges == [(0.0, 2.5), (2.5, 9.0), (9.0, 12.0)] and moved.json()["timingsSource"] == "person"
    for bad in ([9.0, 2.5], [2.5], [2.5, 12.0], [0.1, 5.0]):
        answer = api.put(f"/api/projects/{pid}/timings", json={"boundaries": bad})
        assert answer.status_code == 422 and "boundaries" in answer.json()["error"], (bad, answer.text)
    assert [s["timeRange"]["end"] for s in api.get(f"/api/projects/{pid}").json()["scenes"]] == [2.5, 9.0, 12.0]


def test_another_user_sees_none_of_it_and_gets_404_everywhere(api, other_api, files):
    pid = new_project(api)["projectId"]
    assert pid not in [p["projectId"] for p in other_api.get("/api/projects").json()["projects"]]
    attempts = [
        other_api.get(f"/api/projects/{pid}"),
        other_api.patch(f"/api/projects/{pid}", json={"name": "mine"}),
        other_api.delete(f"/api/projects/{pid}"),
        other_api.post(f"/api/projects/{pid}/duplicate", json={}),
        other_api.put(f"/api/projects/{pid}/timings", json={"boundaries": [2.0, 4.0]}),
        other_api.post(f"/api/projects/{pid}/uploads", json={"kind": "avatar", "contentType": "video/mp4", "size": 10}),
        other_api.post(f"/api/projects/{pid}/media/avatar", json={}),
        other_api.post(f"/api/projects/{pid}/media/voiceover/use-file-duration", json={}),
    ]
    assert [a.status_code for a in attempts] == [404] * len(attempts), [a.text for a in attempts]
    assert api.get(f"/api/projects/{pid}").json()["name"] == f"Test {pid}"
