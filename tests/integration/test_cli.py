"""The `broll` command-line tool against the local stack (and, where an API route is still
coming, against answers given in-process), run as `main(argv)` and once as `python -m broll_cli`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import httpx
import pytest

from broll_cli.app import main
from broll_common.logic.media import project_folder
from devstack import demo
from devstack.auth import DEMO_USER

from tests.integration.conftest import project_body

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--interval", "0.3"]


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch):
    # No token or URL from the developer's shell; a wide console so tables never truncate ids.
    monkeypatch.delenv("BROLL_TOKEN", raising=False)
    monkeypatch.delenv("BROLL_API_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def broll(stack, capsys):
    """`broll ARGS...` in-process as the demo user; returns (exit code, stdout, stderr)."""
    token = stack.issuer.mint(DEMO_USER)

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--api", stack.api_url, "--token", token, *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def new_project(api, scenes: int = 3) -> str:
    project_id = f"cli-{uuid.uuid4().hex[:8]}"
    response = api.post("/api/projects", json=project_body(project_id, scenes=scenes))
    assert response.status_code == 201, response.text
    return project_id


def statuses(api, project_id: str) -> list[str]:
    return [s["status"] for s in api.get(f"/api/projects/{project_id}").json()["scenes"]]


# ---------------------------------------------------------------- against the local stack


def test_projects_lists_the_new_project(broll, project):
    code, out, _ = broll("projects")
    assert code == 0
    row = next(line for line in out.splitlines() if project["projectId"] in line)
    assert project["name"] in row and "0/3" in row


def test_generate_all_follows_every_scene_until_ready(broll, api, project):
    pid = project["projectId"]
    code, out, err = broll("generate-all", pid, "--yes", *FAST)
    assert code == 0, err
    # Off a terminal, each change of state is a plain line: every scene is seen generating, then ready.
    for title in ("Hook", "Main", "CTA"):
        assert out.index(f"{title}: Generating…") < out.index(f"{title}: Ready")
    assert "All 3 clips ready." in out
    assert statuses(api, pid) == ["completed"] * 3

    code, out, err = broll("status", pid)
    assert code == 0 and err == ""
    assert out.count("Ready") == 3 and "0:00" in out


def test_a_failed_scene_fails_generate_all_and_status_with_its_reason(broll, api, emulator):
    pid = new_project(api, scenes=1)
    flagged = {"successFlag": 2, "errorCode": 400, "errorMessage": "Prompt flagged by content policy"}
    emulator.configure(fail_next=[flagged, flagged])  # refused again after the one automatic rewrite
    code, out, err = broll("generate-all", pid, "--yes", *FAST)
    assert code == 1
    assert "Hook: Failed:" in out and "content policy" in err and "Traceback" not in err
    assert statuses(api, pid) == ["failed"]

    code, out, err = broll("status", pid)
    assert code == 1
    assert "1 of 1 scene failed" in err and "content policy" in err


def test_generate_all_off_a_terminal_asks_for_yes_and_starts_nothing(broll, api, project):
    pid = project["projectId"]
    code, _, err = broll("generate-all", pid)
    assert code == 2 and "--yes" in err
    assert statuses(api, pid) == ["idle"] * 3


def test_download_writes_the_project_zip(broll, project, tmp_path):
    pid = project["projectId"]
    code, out, err = broll("download", pid, str(tmp_path / "exports"))
    assert code == 0, err
    target = tmp_path / "exports" / f"{pid}.zip"
    assert str(target) in out
    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None
        timeline = json.loads(archive.read("timeline.json"))
    assert pid in json.dumps(timeline)
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no partial file left behind


def test_api_errors_are_a_sentence_and_an_exit_code(broll, stack, capsys):
    code, _, err = broll("status", f"nope-{uuid.uuid4().hex[:6]}")
    assert code == 1 and err.strip() and "Traceback" not in err

    assert main(["--api", stack.api_url, "--token", "not-a-jwt", "projects"]) == 1
    assert "token" in capsys.readouterr().err

    # Nothing listens on port 9 (discard): the API is unreachable, which is exit 3.
    assert main(["--api", "http://127.0.0.1:9", "--token", "t", "projects"]) == 3
    assert "Could not reach" in capsys.readouterr().err


def test_a_remote_api_without_a_token_exits_2_saying_how_to_get_one(capsys):
    assert main(["--api", "https://broll.example.com", "status", "demo"]) == 2
    err = capsys.readouterr().err
    assert "--token" in err and "BROLL_TOKEN" in err


def test_python_m_broll_cli_signs_in_to_the_local_stack_by_itself(stack, project):
    # A real process: proves the entry point, and (no token given) the local issuer's sign-in.
    env = {k: v for k, v in os.environ.items() if k not in ("BROLL_TOKEN", "BROLL_API_URL")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "cli"), env.get("PYTHONPATH")]))
    env["BROLL_API_URL"] = stack.api_url
    run = subprocess.run([sys.executable, "-m", "broll_cli", "status", project["projectId"]], env=env,
                         capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr
    assert all(title in run.stdout for title in ("Hook", "Main", "CTA")) and project["name"] in run.stdout, run.stdout


def test_render_follows_the_final_video_to_its_url(broll, api):
    # A render needs an avatar and a voice-over: copies of the demo's, in this project's folder.
    pid = f"cli-{uuid.uuid4().hex[:8]}"
    s3, bucket = boto3.client("s3"), os.environ["MEDIA_BUCKET"]
    folder = project_folder(DEMO_USER, pid)
    for source in (demo.AUDIO_KEY, demo.AVATAR_KEY):
        s3.copy_object(Bucket=bucket, Key=folder + source.rsplit("/", 1)[1],
                       CopySource={"Bucket": bucket, "Key": source})
    body = project_body(pid) | {
        "stage4": {"audioKey": f"{folder}voiceover.m4a", "audioDurationSec": demo.AUDIO_SECONDS},
        "stage5": {"avatarVideoKey": f"{folder}avatar.mp4"},
    }
    assert api.post("/api/projects", json=body).status_code == 201
    code, out, err = broll("render", pid, *FAST)
    assert code == 0, err
    assert "Final video: Done" in out
    url = out.strip().splitlines()[-1]
    assert url.startswith("http") and api.get(url).status_code == 200


def test_render_of_a_project_without_an_avatar_exits_1_with_the_reason(broll, project):
    code, _, err = broll("render", project["projectId"])
    assert code == 1 and "avatar" in err


# ---------------------------------------------------------------- answers given in-process
# For routes that are new (estimate, maxClips, render) and for the edges no stack shows on
# demand (Ctrl+C, a timeout): the same main(), with httpx answering from a function.


def scene(scene_id: str, status: str, progress: int = 0, error: str | None = None) -> dict:
    return {"sceneId": scene_id, "sceneTitle": scene_id.title(), "status": status, "progress": progress, "error": error,
            "timeRange": {"label": "0:00–0:03"}}


class FakeApi:
    """Answers the CLI's requests from `routes` ("METHOD /path" -> a list of replies, the last one repeating)."""

    def __init__(self, routes: dict[str, list]):
        self.routes = routes
        self.requests: list[tuple[str, str, dict | None]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        is_json = request.headers.get("content-type", "").startswith("application/json")
        body = (json.loads(request.content) if is_json else request.content) if request.content else None
        self.requests.append((request.method, request.url.path, body))
        replies = self.routes.get(f"{request.method} {request.url.path}")
        if replies is None:
            return httpx.Response(404, json={"error": "Not Found"})
        reply = replies.pop(0) if len(replies) > 1 else replies[0]
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, httpx.Response):
            return reply
        status, payload = reply if isinstance(reply, tuple) else (200, reply)
        return httpx.Response(status, json=payload)

    def run(self, *args: str) -> int:
        return main(["--api", "http://127.0.0.1:9", "--token", "t", *args], transport=httpx.MockTransport(self))


def test_generate_all_prints_the_estimate_and_sends_the_budget_cap(capsys):
    fake = FakeApi({
        "GET /api/projects/p/broll/estimate": [{"scenes": 3, "clips": 3, "creditsPerClip": 80, "estimatedCredits": 240,
                                                "remainingCredits": 1200, "remainingSource": "kie_balance",
                                                "startableClips": 3, "startableScenes": 3, "sceneClips": [1, 1, 1]}],
        "POST /api/projects/p/broll/generate-all": [(202, {"started": [scene("hook", "generating"),
                                                                       scene("main", "generating")],
                                                           "skipped": [{"sceneId": "cta", "reason": "completed"}]})],
        "GET /api/projects/p": [{"scenes": [scene("hook", "generating", 40), scene("main", "generating", 10)]},
                                {"scenes": [scene("hook", "completed"), scene("main", "completed")]}],
    })
    assert fake.run("generate-all", "p", "--max-clips", "2", "--max-credits", "500", "--yes", "--interval", "0.01") == 0
    out = capsys.readouterr().out
    assert ("3 scenes · 3 clips · at most 2 will start (whole scenes, in timeline order) · about 160 credits "
            "(80 each) · 1,200 credits left on your Kie.ai key") in out
    assert ("POST", "/api/projects/p/broll/generate-all", {"maxClips": 2, "maxCredits": 500}) in fake.requests
    assert "Skipped cta: completed" in out and "All 2 clips ready." in out


def test_a_credit_cap_lowers_the_estimate_and_an_unknown_balance_says_why(capsys):
    fake = FakeApi({
        "GET /api/projects/p/broll/estimate": [{"clips": 3, "creditsPerClip": 80, "estimatedCredits": 240,
                                                "remainingCredits": None, "sceneClips": [1, 1, 1],
                                                "note": "Kie.ai did not say how many credits are left."}],
        "POST /api/projects/p/broll/generate-all": [(202, {"started": [], "skipped": []})],
    })
    assert fake.run("generate-all", "p", "--max-credits", "170", "--yes") == 0
    out = capsys.readouterr().out
    assert "3 clips · at most 2 will start (whole scenes, in timeline order) · about 160 credits (80 each)\n" in out
    assert "Kie.ai did not say how many credits are left." in out
    assert ("POST", "/api/projects/p/broll/generate-all", {"maxCredits": 170}) in fake.requests


def test_generate_all_says_before_starting_how_few_clips_the_quota_left_covers(capsys):
    fake = FakeApi({
        "GET /api/projects/p/broll/estimate": [{
            "scenes": 2, "clips": 3, "creditsPerClip": 80, "estimatedCredits": 240,
            "price": {"configured": 80, "measured": 77.5, "samples": 4, "used": 80},
            "remainingCredits": 170, "remainingSource": "daily_quota", "startableClips": 2, "startableScenes": 1,
            "sceneClips": [2, 1]}],
        "POST /api/projects/p/broll/generate-all": [(202, {"started": [], "skipped": []})],
    })
    assert fake.run("generate-all", "p", "--yes") == 0
    out = capsys.readouterr().out
    assert ("2 scenes · 3 clips · at most 2 will start (whole scenes, in timeline order) · about 160 credits (80 each) "
            "(measured: 77.5 per clip over 4 clips) · your daily quota: 170 credits left\n"
            "Only 2 of 3 clips fit in what is left; generate-all starts those 2.") in out


def test_the_estimate_starts_whole_scenes_so_a_cap_below_the_first_scene_starts_nothing(capsys):
    fake = FakeApi({
        "GET /api/projects/p/broll/estimate": [{"scenes": 2, "clips": 3, "creditsPerClip": 80, "estimatedCredits": 240,
                                                "remainingCredits": 1200, "remainingSource": "kie_balance",
                                                "startableClips": 3, "startableScenes": 2, "sceneClips": [2, 1]}] * 2,
        "POST /api/projects/p/broll/generate-all": [(202, {"started": [], "skipped": []})],
    })
    assert fake.run("generate-all", "p", "--max-clips", "1", "--yes") == 0
    out = capsys.readouterr().out
    assert ("2 scenes · 3 clips · at most 0 will start (whole scenes, in timeline order) · about 0 credits "
            "(80 each) · 1,200 credits left on your Kie.ai key\n"
            "The first scene alone takes 2 clips: nothing would start.") in out
    assert fake.run("generate-all", "p", "--max-credits", "200", "--yes") == 0  # pays for 2: the first scene only
    assert "at most 2 will start (whole scenes, in timeline order) · about 160 credits" in capsys.readouterr().out


def test_a_quota_reached_is_its_sentence_and_exit_1(capsys):
    sentence = ("You have used 2,000 of your 2,000 credits for today; this needs 160 more. "
                "It resets in 5 hours, or ask an admin to raise your quota.")
    fake = FakeApi({
        "GET /api/projects/p/broll/estimate": [{"scenes": 2, "clips": 3, "creditsPerClip": 80, "estimatedCredits": 240,
                                                "remainingCredits": 0, "remainingSource": "daily_quota",
                                                "startableClips": 0, "startableScenes": 0, "sceneClips": [2, 1]}],
        "POST /api/projects/p/broll/generate-all": [(429, {"error": sentence})],  # the API's error body
    })
    assert fake.run("generate-all", "p", "--yes") == 1
    captured = capsys.readouterr()
    assert "None of these clips fit in what is left: nothing would start." in captured.out
    assert sentence in captured.err and "Traceback" not in captured.err


@pytest.fixture
def new_york(monkeypatch):
    """This process's local time zone is New York's, so a local time differs from UTC's."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_status_shows_the_spend_the_quota_and_a_waiting_scene_in_local_time(capsys, new_york):
    down = datetime.now(timezone.utc) - timedelta(minutes=10)
    waiting = scene("main", "generating") | {"waiting": {"reason": "kie_down", "since": down.timestamp()}}
    slot = scene("cta", "generating") | {"waiting": {"reason": "rate_limited", "since": down.timestamp()}}
    fake = FakeApi({"GET /api/projects/p": [{
        "name": "Trains", "scenes": [scene("hook", "completed"), waiting, slot],
        "spend": {"clips": 3, "estimatedCredits": 240, "chargedCredits": 232, "chargedClips": 3},
        "quota": {"dailyCredits": 2000, "usedToday": 240, "left": 1760, "resetsAt": "2026-12-03T00:00:00Z"}}]})
    assert fake.run("status", "p") == 0
    out = capsys.readouterr().out
    assert "Spent: about 240 credits estimated · 232 charged (3 clips)" in out
    quota = next(line for line in out.splitlines() if line.startswith("Daily quota: "))
    assert quota.startswith("Daily quota: 1,760 of 2,000 credits left · resets ") and quota.endswith(" 19:00"), quota
    main_row = next(line for line in out.splitlines() if "Main" in line)
    assert "Waiting for Kie.ai (down since" in main_row and "starts by itself, nothing charged yet." in main_row
    # New York's clock, not UTC's (five hours apart in December).
    assert f"{down.astimezone():%H:%M}" in main_row and f"{down:%H:%M}" not in out and "UTC" not in out
    assert "Waiting for a free Kie.ai slot; starts by itself, nothing charged yet." in out


def test_generate_all_says_while_watching_that_a_scene_waits_for_kie(capsys):
    slot = scene("hook", "generating") | {"waiting": {"reason": "rate_limited", "since": time.time()}}
    fake = FakeApi({
        "POST /api/projects/p/broll/generate-all": [(202, {"started": [scene("hook", "generating")], "skipped": []})],
        "GET /api/projects/p": [{"scenes": [slot]}, {"scenes": [scene("hook", "generating", 50)]},
                                {"scenes": [scene("hook", "completed")]}],
    })
    assert fake.run("generate-all", "p", "--yes", "--interval", "0.01") == 0
    out = capsys.readouterr().out
    assert out.index("Hook: Waiting for a free Kie.ai slot; starts by itself, nothing charged yet.") \
        < out.index("Hook: Generating…") < out.index("Hook: Ready")


def test_status_says_on_the_scenes_row_that_cancelled_clips_are_still_being_made(capsys):
    fake = FakeApi({"GET /api/projects/p": [{"name": "Trains", "scenes": [
        scene("hook", "idle") | {"lateClips": 1}, scene("main", "failed", error="Kie.ai refused.") | {"lateClips": 2},
        scene("cta", "completed") | {"lateClips": 0}]}]})
    assert fake.run("status", "p") == 1  # the failed scene
    lines = capsys.readouterr().out.splitlines()
    hook, main, cta = (next(line for line in lines if title in line) for title in ("Hook", "Main", "Cta"))
    assert "1 cancelled clip is still being made at Kie.ai; it lands in History when done." in hook
    assert "Kie.ai refused. 2 cancelled clips are still being made at Kie.ai; they land in History when done." in main
    assert "cancelled" not in cta


def test_status_of_an_own_key_project_without_clips_shows_no_spend_or_quota(capsys):
    fake = FakeApi({"GET /api/projects/p": [{"name": "Trains", "scenes": [scene("hook", "idle")],
                                             "spend": {"clips": 0}, "quota": None}]})
    assert fake.run("status", "p") == 0
    out = capsys.readouterr().out
    assert "Spent" not in out and "quota" not in out


def test_ctrl_c_while_watching_exits_130_and_says_generation_goes_on(capsys):
    fake = FakeApi({
        "POST /api/projects/p/broll/generate-all": [(202, {"started": [scene("hook", "generating")], "skipped": []})],
        "GET /api/projects/p": [{"scenes": [scene("hook", "generating", 5)]}, KeyboardInterrupt()],
    })
    assert fake.run("generate-all", "p", "--yes", "--interval", "0.01") == 130
    assert "keep generating on the server" in capsys.readouterr().err


def test_a_watch_past_its_timeout_exits_1_with_a_sentence(capsys):
    fake = FakeApi({
        "POST /api/projects/p/broll/generate-all": [(202, {"started": [scene("hook", "generating")], "skipped": []})],
        "GET /api/projects/p": [{"scenes": [scene("hook", "generating", 5)]}],
    })
    assert fake.run("generate-all", "p", "--yes", "--interval", "0.05", "--timeout", "0.2") == 1
    assert "still generating on the server" in capsys.readouterr().err


def test_a_brief_outage_while_watching_is_retried(capsys):
    fake = FakeApi({
        "POST /api/projects/p/broll/generate-all": [(202, {"started": [scene("hook", "generating")], "skipped": []})],
        "GET /api/projects/p": [(503, {"error": "Service unavailable."}), {"scenes": [scene("hook", "completed")]}],
    })
    assert fake.run("generate-all", "p", "--yes", "--interval", "0.01") == 0
    assert "trying again" in capsys.readouterr().err


def test_a_5xx_is_exit_3_with_the_api_sentence_and_field_details(capsys):
    fake = FakeApi({
        "GET /api/projects/p": [(500, {"error": "Something broke on our side."})],
        "POST /api/projects/q/broll/generate-all": [(422, {"error": "Some fields are invalid.",
                                                           "details": [{"field": "maxClips", "message": "too big"}]})],
    })
    assert fake.run("status", "p") == 3
    assert "Something broke on our side." in capsys.readouterr().err
    assert fake.run("generate-all", "q", "--yes", "--max-clips", "9") == 1
    err = capsys.readouterr().err
    assert "Some fields are invalid." in err and "maxClips: too big" in err


def test_render_polls_until_the_video_url(capsys):
    fake = FakeApi({
        "POST /api/projects/p/render": [(202, {"render": {"status": "rendering", "progress": 0, "error": None,
                                                          "videoUrl": None}})],
        "GET /api/projects/p/render": [{"render": {"status": "rendering", "progress": 60, "error": None,
                                                   "videoUrl": None}},
                                       {"render": {"status": "completed", "progress": 100, "error": None,
                                                   "videoUrl": "https://media.example/p.mp4"}}],
    })
    assert fake.run("render", "p", "--interval", "0.01") == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "https://media.example/p.mp4"


def test_a_failed_render_exits_1_with_its_error(capsys):
    fake = FakeApi({
        "POST /api/projects/p/render": [(202, {"render": {"status": "failed", "progress": 0,
                                                          "error": "Scene Main has no clip.", "videoUrl": None}})],
    })
    assert fake.run("render", "p") == 1
    assert "Scene Main has no clip." in capsys.readouterr().err


def test_download_waits_while_the_zip_is_prepared_then_writes_it(capsys, tmp_path):
    fake = FakeApi({
        "GET /api/projects/p/download": [(202, {"status": "building", "progress": 10, "url": None}),
                                         (202, {"status": "building", "progress": 60, "url": None}),
                                         {"status": "ready", "url": "http://127.0.0.1:9/exports/p.zip"}],
        "GET /exports/p.zip": ["the archive"],
    })
    assert fake.run("download", "p", str(tmp_path), "--interval", "0.01") == 0
    out = capsys.readouterr().out
    assert "ZIP: Preparing the ZIP…" in out and "ZIP: Ready" in out
    assert (tmp_path / "p.zip").read_text() == '"the archive"'
    assert [r[1] for r in fake.requests].count("/api/projects/p/download") == 3


def test_a_zip_that_could_not_be_made_exits_1_with_the_sentence(capsys, tmp_path):
    sentence = "The ZIP could not be made: avatar.mp4 is missing from storage."
    fake = FakeApi({
        "GET /api/projects/p/download": [(202, {"status": "building", "progress": 5, "url": None}),
                                         {"status": "failed", "url": None, "error": sentence}],
    })
    assert fake.run("download", "p", str(tmp_path), "--interval", "0.01") == 1
    assert sentence in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_zip_still_building_at_the_timeout_exits_1_saying_it_goes_on(capsys, tmp_path):
    fake = FakeApi({"GET /api/projects/p/download": [(202, {"status": "building", "progress": 5, "url": None})]})
    assert fake.run("download", "p", str(tmp_path), "--interval", "0.05", "--timeout", "0.2") == 1
    assert "still being prepared on the server" in capsys.readouterr().err


# ---------------------------------------------------------------- broll new / broll upload


SCENES = "Hook [hook]\nNight trains are back.\n\nMain\nTwelve new sleeper routes\nlaunch this month.\n"
FORM = {"url": "http://127.0.0.1:9/media-bucket", "key": "users/demo-user/projects/p/media/voiceover-0123456789ab.m4a",
        "fields": {"key": "users/demo-user/projects/p/media/voiceover-0123456789ab.m4a", "policy": "e30=",
                   "Content-Type": "audio/mp4"}, "maxBytes": 209715200}


def media_view(kind: str, status: str, **facts) -> dict:
    field = "audio" if kind == "voiceover" else "avatarVideo"
    media = {"status": status, "error": None} | facts
    return {"projectId": "p", "name": "Trains", field: {"url": None, "media": media}}


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    voice, avatar = demo.demo_media()
    scenes = tmp_path / "scenes.txt"
    scenes.write_text(SCENES)
    return {"voice": voice, "avatar": avatar, "scenes": scenes}


def test_new_from_files_makes_the_project_then_uploads_and_follows_each_file(capsys, files):
    avatar_form = FORM | {"key": "users/demo-user/projects/p/media/avatar-0123456789ab.mp4"}
    fake = FakeApi({
        "POST /api/projects": [(201, {"projectId": "p", "name": "Trains"})],
        "POST /api/projects/p/uploads": [FORM, avatar_form],
        "POST /media-bucket": [httpx.Response(204)],
        "POST /api/projects/p/media/voiceover": [(202, media_view("voiceover", "probing"))],
        "POST /api/projects/p/media/avatar": [(202, media_view("avatar", "probing"))],
        "GET /api/projects/p": [media_view("voiceover", "ready", durationSec=27.7),
                                media_view("avatar", "ready", width=1080, height=1920, aspect="9:16")],
    })
    code = fake.run("new", "--name", "Trains", "--scenes-file", str(files["scenes"]),
                    "--voiceover", str(files["voice"]), "--avatar", str(files["avatar"]), "--interval", "0.01")
    out = capsys.readouterr().out
    assert code == 0, out
    created = next(body for method, url, body in fake.requests if url == "/api/projects")
    assert created == {"name": "Trains", "stage4": {"audioDurationSec": 27.7}, "stage3": {"editedScenes": [
        {"sceneTitle": "Hook", "sceneType": "hook", "text": "Night trains are back."},
        {"sceneTitle": "Main", "text": "Twelve new sleeper routes launch this month."}]}}
    asks = [body for method, url, body in fake.requests if url == "/api/projects/p/uploads"]
    assert asks == [{"kind": "voiceover", "contentType": "audio/mp4", "size": files["voice"].stat().st_size},
                    {"kind": "avatar", "contentType": "video/mp4", "size": files["avatar"].stat().st_size}]
    # The form: the presigned fields first, then the file, and no bearer token to S3.
    form = next(body for method, url, body in fake.requests if url == "/media-bucket")
    assert form.index(b'name="policy"') < form.index(b'name="file"') and form.endswith(b"--\r\n")
    assert files["voice"].read_bytes() in form
    told = [(url, body) for method, url, body in fake.requests if "/media/" in url]
    assert told == [("/api/projects/p/media/voiceover", {"key": FORM["key"]}),
                    ("/api/projects/p/media/avatar", {"key": avatar_form["key"]})]
    assert "Voice-over: Ready · 27.7 s" in out and "Avatar video: Ready · 1080×1920 (9:16)" in out


def test_upload_says_why_s3_or_the_probe_refused_the_file(capsys, files):
    too_big = httpx.Response(400, text="<Error><Code>EntityTooLarge</Code><Message>Your proposed upload exceeds the "
                                       "maximum allowed size.</Message></Error>")
    fake = FakeApi({"POST /api/projects/p/uploads": [FORM], "POST /media-bucket": [too_big]})
    assert fake.run("upload", "p", "--voiceover", str(files["voice"])) == 1
    assert "exceeds the maximum allowed size. (EntityTooLarge)" in capsys.readouterr().err
    assert not any("/media/" in url for _, url, _ in fake.requests)

    sentence = "The file is not audio ffmpeg can read."
    fake = FakeApi({
        "POST /api/projects/p/uploads": [FORM], "POST /media-bucket": [httpx.Response(204)],
        "POST /api/projects/p/media/voiceover": [(202, media_view("voiceover", "probing"))],
        "GET /api/projects/p": [media_view("voiceover", "failed") | {"audio": {"media": {"status": "failed",
                                                                                        "error": sentence}}}],
    })
    assert fake.run("upload", "p", "--voiceover", str(files["voice"]), "--interval", "0.01") == 1
    assert f"Voice-over refused: {sentence}" in capsys.readouterr().err


def test_new_says_the_project_exists_when_an_upload_is_refused(capsys, files):
    fake = FakeApi({
        "POST /api/projects": [(201, {"projectId": "p", "name": "Trains"})],
        "POST /api/projects/p/uploads": [(400, {"error": "This file is 300 MB; the voice-over may be at most 200 MB"})],
    })
    assert fake.run("new", "--name", "Trains", "--scenes-file", str(files["scenes"]),
                    "--voiceover", str(files["voice"])) == 1
    err = capsys.readouterr().err
    assert "may be at most 200 MB" in err and "`broll upload p --voiceover FILE`" in err


def test_new_and_upload_refuse_unusable_input_before_asking_the_api(capsys, files, tmp_path):
    fake = FakeApi({})
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert fake.run("upload", "p", "--avatar", str(text)) == 2
    assert "the avatar file must end in one of .mp4, .mov, .webm" in capsys.readouterr().err
    assert fake.run("upload", "p") == 2
    assert fake.run("new", "--name", "Trains") == 2  # no scenes
    assert fake.run("new", "--name", "Trains", "--scenes-file", str(text), "--duration", "20") == 2
    assert "give a title line and then its narration" in capsys.readouterr().err
    assert fake.run("new", "--name", "Trains", "--scenes-file", str(files["scenes"]), "--voiceover", str(text)) == 2
    assert fake.requests == []


def test_new_from_a_json_file_posts_it_as_it_is(capsys, tmp_path):
    body = project_body("from-json")
    source = tmp_path / "project.json"
    source.write_text(json.dumps(body))
    fake = FakeApi({"POST /api/projects": [(201, {"projectId": "from-json", "name": body["name"]})]})
    assert fake.run("new", str(source)) == 0
    assert fake.requests == [("POST", "/api/projects", body)]
    assert capsys.readouterr().out.strip().splitlines()[-1] == "from-json"


def test_user_signs_in_to_the_local_stack_as_that_user(stack, capsys):
    # No token: the CLI reads this start's secret from /config.json and asks the issuer for "ann".
    pid = f"ann-{uuid.uuid4().hex[:8]}"
    ann = httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {stack.issuer.mint('ann')}"})
    assert ann.post("/api/projects", json=project_body(pid)).status_code == 201
    assert main(["--api", stack.api_url, "--user", "ann", "projects"]) == 0
    assert pid in capsys.readouterr().out
    assert main(["--api", stack.api_url, "projects"]) == 0
    assert pid not in capsys.readouterr().out
    assert main(["--api", stack.api_url, "--user", "Not Valid", "projects"]) == 2
    assert "refused" in capsys.readouterr().err


def test_new_and_upload_against_the_local_stack(broll, api, files, tmp_path):
    code, out, err = broll("new", "--name", "Trains from files", "--scenes-file", str(files["scenes"]),
                           "--voiceover", str(files["voice"]), "--avatar", str(files["avatar"]), *FAST)
    assert code == 0, err
    pid = out.strip().splitlines()[-1]
    project = api.get(f"/api/projects/{pid}").json()
    assert [s["sceneTitle"] for s in project["scenes"]] == ["Hook", "Main"]
    assert project["audio"]["media"]["status"] == "ready" and project["audio"]["media"]["source"] == "upload"
    assert project["audio"]["media"]["durationMismatchSec"] is None  # the declared length was read from the file
    assert project["avatarVideo"]["media"]["status"] == "ready" and project["avatarVideo"]["media"]["hasVideo"]
    assert "Voice-over: Ready" in out and "Avatar video: Ready" in out

    # A text file named .mp4 reaches storage (its type is only announced) but the server's probe refuses it.
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video at all " * 20)
    code, out, err = broll("upload", pid, "--avatar", str(fake), *FAST)
    assert code == 1 and "Avatar video refused:" in err and "Traceback" not in err
