"""The deployed stack: MiniStack (an AWS engine: CloudFormation with the SAM transform, Lambda
as processes, IAM enforced), the project's Kie emulator, and `scripts/deploy` run against them.

What this shows that the local stack cannot: the template as CloudFormation takes it, the
built package (no dev venv, no host ffmpeg on PATH), and every call a function makes checked
against its own role. What it cannot show is in docs/DEPLOY.md.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import httpx
import pytest

from devstack.kie_emulator import DEFAULT_API_KEY, KieEmulator
from tests.media_server import MediaServer

ROOT = Path(__file__).resolve().parents[2]
MINISTACK = ROOT / ".tools" / "ministack" / "bin" / "ministack"
REGION = "us-east-1"
PASSWORD = "Deploy-Test-Passw0rd"
WEBHOOK_KEY = "webhook-hmac-key-for-the-deploy-test"
# Waits short enough for a test, set through the template's own parameters.
# The emulator finishes a clip in 1 s, and the loop's first look comes at 30 s (a cold Lambda on a busy
# 2-core machine took over 10 s to answer a callback): a clip done sooner was settled by its callback.
# Uploads capped at 5 MB here, so S3's own refusal of a bigger one is cheap to show.
UPLOAD_CAP_MB = 5
FAST = ["AllowLoopbackMediaUrls=true", f"MediaMaxMegabytes={UPLOAD_CAP_MB}", "PollFirstWaitSeconds=30", "PollMaxWaitSeconds=30", "PollCallbackGraceSeconds=40", "SweepSchedule=rate(1 minute)"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def aws_environment(endpoint: str) -> dict:
    return {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}


@dataclass
class MiniStack:
    endpoint: str
    process: subprocess.Popen
    log: Path
    scratch: Path  # its TMPDIR: each warm Lambda worker unpacks its code there (~230 MB with ffmpeg)

    def stop(self) -> None:
        # The whole process group: MiniStack's Lambda workers are its children, and a SIGTERM to
        # MiniStack alone left their unpacked code behind (59 GB of it filled a CI machine's disk).
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self._signal(signal.SIGKILL)  # MiniStack gone or not: no worker outlives it to write in its folder
        self.process.wait(10)
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _signal(self, number: int) -> None:
        try:
            os.killpg(self.process.pid, number)
        except ProcessLookupError:
            pass


def start_ministack(workdir: Path) -> MiniStack:
    if not MINISTACK.exists():
        pytest.fail(f"{MINISTACK} is missing: scripts/test installs MiniStack into .tools/ministack", pytrace=False)
    # Lambdas run as subprocesses that inherit this PATH: it holds python and nothing else, so
    # the package must carry its own ffmpeg (as on Lambda, which has none).
    bare = workdir / "bin"
    bare.mkdir()
    (bare / "python3").symlink_to(MINISTACK.parent / "python")
    scratch = workdir / "tmp"
    scratch.mkdir()
    port = free_port()
    env = {
        "PATH": str(bare), "HOME": str(workdir), "TMPDIR": str(scratch),
        "GATEWAY_PORT": str(port), "BIND_HOST": "127.0.0.1", "IOT_MTLS_ENABLED": "0", "AUTH": "true",
        "STATE_DIR": str(workdir / "state"), "LOG_LEVEL": "INFO",
    }
    log = workdir / "ministack.log"
    process = subprocess.Popen([str(MINISTACK)], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            MiniStack(endpoint, process, log, scratch).stop()  # its workers and folder, if any
            pytest.fail(f"MiniStack exited: {log.read_text()[-2000:]}", pytrace=False)
        try:
            if httpx.get(f"{endpoint}/_ministack/health", timeout=2).status_code == 200:
                return MiniStack(endpoint, process, log, scratch)
        except httpx.HTTPError:
            time.sleep(0.5)
    MiniStack(endpoint, process, log, scratch).stop()
    pytest.fail("MiniStack did not start within 60 s", pytrace=False)


BUILD = ROOT / ".aws-sam" / "build-x86_64"  # scripts/test builds it (scripts/deploy --build-only)


def deploy(stack: str, endpoint: str, parameters: list[str], workdir: Path, template_name: str = "template.yaml") -> dict:
    """`scripts/deploy` into the emulator, as the README says; returns the stack's outputs."""
    if not (BUILD / template_name).is_file():
        pytest.fail(f"no build at {BUILD}: run scripts/deploy --build-only --architecture x86_64 first", pytrace=False)
    outputs = workdir / f"{stack}.json"
    args = ["bash", str(ROOT / "scripts" / "deploy"), "--endpoint-url", endpoint, "--architecture", "x86_64",
            "--yes", "--stack-name", stack, "--outputs-file", str(outputs), "--skip-build",
            "--template-name", template_name, "--parameter-overrides", *parameters]
    env = os.environ | aws_environment(endpoint)
    started = time.monotonic()
    answer = subprocess.run(args, env=env, capture_output=True, text=True, cwd=ROOT)
    if answer.returncode != 0:
        pytest.fail(f"scripts/deploy failed:\n{answer.stdout[-4000:]}\n{answer.stderr[-4000:]}", pytrace=False)
    print(f"\n[deploy] {stack}: scripts/deploy took {time.monotonic() - started:.1f} s", file=sys.stderr)
    return json.loads(outputs.read_text())


@dataclass
class Deployed:
    stack: str
    outputs: dict
    endpoint: str
    kie: KieEmulator
    tokens: dict = field(default_factory=dict)

    @property
    def api_base(self) -> str:
        return self.outputs["ApiBase"]

    def aws(self, service: str):
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id="test", aws_secret_access_key="test")

    def sign_in(self, email: str) -> str:
        """A Cognito user of the deployed pool, signed in: a real RS256 JWT for the authorizer."""
        if email not in self.tokens:
            idp, pool = self.aws("cognito-idp"), self.outputs["UserPoolId"]
            idp.admin_create_user(UserPoolId=pool, Username=email, MessageAction="SUPPRESS",
                                  UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}])
            idp.admin_set_user_password(UserPoolId=pool, Username=email, Password=PASSWORD, Permanent=True)
            answer = idp.admin_initiate_auth(UserPoolId=pool, ClientId=self.outputs["UserPoolClientId"],
                                             AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                             AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD})
            self.tokens[email] = answer["AuthenticationResult"]["AccessToken"]
        return self.tokens[email]

    def client(self, email: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.sign_in(email)}"} if email else {}
        return httpx.Client(base_url=self.api_base, headers=headers, timeout=60)

    def function_logs(self) -> dict[str, str]:
        """Every function's log text, by log group."""
        logs, text = self.aws("logs"), {}
        for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=f"/aws/lambda/{self.stack}-"):
            for group in page["logGroups"]:
                name = group["logGroupName"]
                events = logs.filter_log_events(logGroupName=name).get("events", [])
                text[name] = "\n".join(e["message"] for e in events)
        return text

    def denied(self) -> list[str]:
        """Lines of the functions' logs that report an AccessDenied (the app swallows some)."""
        return [f"{group.rsplit('/', 1)[-1]}: …{line[max(0, line.index('AccessDenied') - 40):][:360]}"
                for group, body in self.function_logs().items() for line in body.splitlines() if "AccessDenied" in line]


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("deploy")


@pytest.fixture(scope="session")
def ministack(workdir):
    engine = start_ministack(workdir)
    yield engine
    engine.stop()


@pytest.fixture(scope="session")
def kie():
    emulator = KieEmulator(port=0, delay_seconds=1.0, webhook_hmac_key=WEBHOOK_KEY)
    emulator.start()
    yield emulator
    emulator.stop()


def stack_parameters(kie: KieEmulator) -> list[str]:
    return [f"KieApiKey={DEFAULT_API_KEY}", f"KieBaseUrl={kie.base_url}", f"KieWebhookHmacKey={WEBHOOK_KEY}", *FAST]


@pytest.fixture(scope="session")
def deployed(ministack, kie, workdir) -> Deployed:
    stack = f"broll-ci-{uuid.uuid4().hex[:6]}"
    outputs = deploy(stack, ministack.endpoint, stack_parameters(kie), workdir)
    return Deployed(stack, outputs, ministack.endpoint, kie)


@pytest.fixture(scope="session")
def media(workdir) -> tuple[Path, Path, float]:
    """A voice-over and an avatar video made here (ffmpeg in the test process, not the stack)."""
    from devstack import media as local_media

    seconds = 20.0
    voice, avatar = workdir / "voice.m4a", workdir / "avatar.mp4"
    local_media.render_voiceover(voice, seconds=seconds)
    local_media.render_avatar(avatar, voice, seconds=seconds)
    return voice, avatar, seconds


@pytest.fixture(scope="session")
def media_server(media):
    voice, avatar, _ = media
    server = MediaServer({"avatar.mp4": (avatar, "video/mp4"), "voice.m4a": (voice, "audio/mp4")})
    yield server
    server.stop()


def upload_form(api: httpx.Client, project_id: str, kind: str, content_type: str, size: int) -> dict:
    answer = api.post(f"/api/projects/{project_id}/uploads", json={"kind": kind, "contentType": content_type, "size": size})
    assert answer.status_code == 200, answer.text
    return answer.json()


def post_form(form: dict, content: bytes, content_type: str, **field_changes: str) -> httpx.Response:
    """The presigned POST as a browser sends it: every field, then the file."""
    fields = form["fields"] | field_changes
    return httpx.post(form["url"], data=fields, files={"file": ("upload", content, content_type)}, timeout=60)


def media_settled(api: httpx.Client, project_id: str, field: str, timeout: float = 120) -> dict:
    def settled():
        media = api.get(f"/api/projects/{project_id}").json()[field]["media"]
        return media if media and media["status"] in ("ready", "failed") else None

    return wait_for(settled, timeout, f"the {field} being fetched and probed")


def import_project(deployed: Deployed, api: httpx.Client, media, media_server: MediaServer) -> dict:
    """Hook 4 s, Main 12 s (two sub-shots), CTA 4 s. The voice-over is uploaded with the presigned
    POST the page uses; the avatar is imported by URL and fetched by the deployed media worker."""
    voice, avatar, seconds = media
    pid = f"dep-{uuid.uuid4().hex[:8]}"
    body = {
        "projectId": pid,
        "name": "Harbour cranes return to the port",
        "stage3": {"editedScenes": [
            {"sceneId": "hook", "sceneTitle": "Hook", "sceneType": "hook", "text": "The harbour cranes are back at dawn."},
            {"sceneId": "main", "sceneTitle": "Main", "sceneType": "main",
             "text": "Twelve new cranes unload container ships through the night, and the port says traffic doubled."},
            {"sceneId": "cta", "sceneTitle": "CTA", "sceneType": "cta", "text": "Follow for the full story tomorrow."},
        ]},
        "stage4": {"audioDurationSec": seconds,
                   "sceneTimings": [{"sceneId": "hook", "start": 0, "end": 4}, {"sceneId": "main", "start": 4, "end": 16},
                                    {"sceneId": "cta", "start": 16, "end": seconds}]},
        "stage5": {"avatarVideoUrl": media_server.url("avatar.mp4")},
    }
    fetched_before = len(media_server.requests)
    answer = api.post("/api/projects", json=body)
    assert answer.status_code == 201, answer.text
    form = upload_form(api, pid, "voiceover", "audio/mp4", voice.stat().st_size)
    sent = post_form(form, voice.read_bytes(), "audio/mp4")
    assert sent.status_code in (200, 201, 204), sent.text
    taken = api.post(f"/api/projects/{pid}/media/voiceover", json={"key": form["key"]})
    assert taken.status_code == 202, taken.text
    for field in ("audio", "avatarVideo"):
        settled = media_settled(api, pid, field)
        assert settled["status"] == "ready", (field, settled)
    assert media_server.requests[fetched_before:] == ["/avatar.mp4"]
    return api.get(f"/api/projects/{pid}").json()


def generate_scene(api: httpx.Client, project_id: str, scene_id: str, regenerate: bool = False) -> dict:
    answer = api.post(f"/api/projects/{project_id}/broll/generate", json={"sceneId": scene_id, "regenerate": regenerate})
    assert answer.status_code == 202, answer.text
    return answer.json()


def scene_of(api: httpx.Client, project_id: str, scene_id: str) -> dict:
    answer = api.get(f"/api/projects/{project_id}")
    assert answer.status_code == 200, answer.text
    return next(s for s in answer.json()["scenes"] if s["sceneId"] == scene_id)


def wait_for(check, timeout: float, what: str):
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {timeout:.0f} s")


def wait_settled(api: httpx.Client, project_id: str, scene_id: str, timeout: float = 90) -> dict:
    holder = {}

    def settled():
        holder["scene"] = scene_of(api, project_id, scene_id)
        return holder["scene"] if holder["scene"]["status"] in ("completed", "failed") else None

    try:
        return wait_for(settled, timeout, f"scene {scene_id} settling")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last: {holder.get('scene')}") from None


def ffprobe(path: Path) -> dict:
    probe = shutil.which("ffprobe")
    assert probe, "ffprobe is needed to check the deployed stack's media (scripts/test installs Debian's ffmpeg)"
    answer = subprocess.run([probe, "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
                            capture_output=True, text=True)
    assert answer.returncode == 0, f"{path.name} is not readable media: {answer.stderr}"
    return json.loads(answer.stdout)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing step shows what the deployed functions logged as errors (CI has nothing else)."""
    outcome = yield
    report = outcome.get_result()
    deployed = item.funcargs.get("deployed") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and isinstance(deployed, Deployed):
        lines = [f"{group.rsplit('/', 1)[-1]}: {line[:600]}" for group, body in deployed.function_logs().items()
                 for line in body.splitlines() if '"level":"ERROR"' in line or '"level":"WARNING"' in line
                 or "Traceback" in line or "Error" in line]
        report.sections.append(("deployed functions' errors and warnings", "\n".join(lines[-40:]) or "(none)"))
