"""The composite's request and Download All's against fakes of their ports (worker Lambdas,
the media bucket, step 7 in memory), and the adapters' own calls on fake AWS clients."""

from __future__ import annotations

import io
import json
import time

import pytest
from botocore.exceptions import ClientError

from broll_common import config
from broll_common.logic import export, media, render
from broll_common.dal import projects as storage
from broll_common.clients import workers as workers_module
from broll_common.clients.workers import get_workers
from broll_common.dal import media as media_module
from broll_common.dal.media import get_media
from broll_common.models.errors import Conflict
from broll_common.models.domain import RenderStatus, Scene, TimeRange
from tests.unit.fakes import FakeMedia, FakeWorkers

PID, OWNER = "p", "user-a"


class Step7:
    """Step 7's maps in memory, with replace_part's condition (expect) as storage keeps it."""

    def __init__(self, avatar: dict):
        clip = Scene(sceneId="hook", sceneTitle="Hook", timeRange=TimeRange(start=0, end=4, label="0:00–0:04"),
                     status="completed", videoKey="projects/p/clip.mp4")
        self.broll = {"scenes": [storage.scene_document(clip)], "ownerId": OWNER}
        self.avatar = avatar
        self.audio = {"audioDurationSec": 4.0}
        self.race = False  # the next replace_part loses to another writer

    def record(self, *_, **__) -> storage.ProjectRecord:
        return storage.ProjectRecord(PID, {"ownerId": OWNER}, {"script": "s"}, dict(self.audio),
                                     dict(self.avatar), json.loads(json.dumps(self.broll)))

    def replace_part(self, project_id, part, value, *, owner, expect):
        current = self.broll.get(part) or {}
        if self.race or (expect is not None and any(current.get(k) != v for k, v in expect.items())) or (
                expect == {} and current):
            self.race = False
            raise storage.StaleScene("moved on")
        self.broll[part] = value


@pytest.fixture
def step7(monkeypatch):
    fake = Step7({"avatarVideoKey": "projects/p/avatar.mp4"})
    monkeypatch.setattr(storage, "load_project", fake.record)
    monkeypatch.setattr(storage, "load_broll", fake.record)
    monkeypatch.setattr(storage, "replace_part", fake.replace_part)
    return fake


@pytest.fixture
def workers():
    with get_workers.use(FakeWorkers()) as fake:
        yield fake


@pytest.fixture
def bucket():
    with get_media.use(FakeMedia()) as fake:
        yield fake


# -- the composite's request (render.start) ------------------------------------------------


def test_a_render_is_written_as_rendering_then_its_worker_started(step7, workers, bucket):
    shown = render.start(PID, OWNER)
    assert shown.status == RenderStatus.RENDERING and 1 <= shown.progress <= 95
    assert workers.started == [("render", {"projectId": PID, "generation": 1})]
    state = step7.broll["render"]
    assert state["status"] == "rendering" and state["generation"] == 1
    assert state["material"] == render.material_hash(step7.record())
    assert state["expectedSeconds"] == 14.0  # 10 + the voice-over's seconds


def test_a_render_whose_worker_cannot_start_fails_with_a_sentence(step7, workers, bucket):
    workers.fail = True
    shown = render.start(PID, OWNER)
    assert shown.status == RenderStatus.FAILED and shown.error == "The render could not start. Try again."
    assert step7.broll["render"]["status"] == "failed" and step7.broll["render"]["generation"] == 1
    workers.fail = False
    assert render.start(PID, OWNER).status == RenderStatus.RENDERING  # pressing Render again starts it
    assert workers.invoked == [{"projectId": PID, "generation": 2}]


def test_a_render_under_way_is_joined_and_a_lost_one_started_again(step7, workers, bucket):
    render.start(PID, OWNER)
    assert render.start(PID, OWNER).status == RenderStatus.RENDERING
    assert len(workers.started) == 1  # joined: no second worker
    step7.broll["render"]["startedAt"] = time.time() - render.RENDER_STALE_S - 1  # its worker died
    render.start(PID, OWNER)
    assert workers.invoked[-1] == {"projectId": PID, "generation": 2}


def test_a_composite_of_exactly_this_material_is_never_made_twice(step7, workers, bucket):
    key = "projects/p/renders/x.mp4"
    step7.broll["render"] = {"status": "completed", "generation": 4, "key": key, "completedAt": "2026-01-01T00:00",
                             "material": render.material_hash(step7.record())}
    shown = render.start(PID, OWNER)
    assert shown.status == RenderStatus.COMPLETED and shown.videoUrl == bucket.presigned_url(key)
    assert not shown.outOfDate and workers.started == []


def test_a_render_started_by_another_request_meanwhile_is_joined(step7, workers, bucket):
    step7.race = True
    render.start(PID, OWNER)
    assert workers.started == []


def test_a_render_of_more_cuts_than_the_worker_holds_is_refused_with_a_sentence(step7, workers, bucket):
    scenes = [Scene(sceneId=f"s{i}", sceneTitle=f"S{i}", timeRange=TimeRange(start=3 * i, end=3 * i + 3, label=""),
                    status="completed", videoKey=f"projects/p/clip{i}.mp4") for i in range(render.MAX_CUTS + 1)]
    step7.broll["scenes"] = [storage.scene_document(s) for s in scenes]
    with pytest.raises(Conflict) as refused:
        render.start(PID, OWNER)
    assert f"{render.MAX_CUTS + 1} times" in refused.value.message and workers.started == []
    step7.broll["scenes"] = step7.broll["scenes"][:render.MAX_CUTS]
    render.start(PID, OWNER)  # at the limit it starts
    assert len(workers.started) == 1


def test_without_an_avatar_there_is_nothing_to_render(step7, workers, bucket):
    step7.avatar = {}
    with pytest.raises(Conflict):
        render.start(PID, OWNER)
    assert workers.started == []


def test_the_worker_cuts_the_material_from_the_bucket_and_stores_the_composite(step7, workers, bucket, monkeypatch):
    from broll_common.clients import composite

    bucket.objects.update({"projects/p/avatar.mp4": b"avatar", "projects/p/clip.mp4": b"clip",
                           "projects/p/voice.M4A": b"voice"})
    step7.audio["audioKey"] = "projects/p/voice.M4A"
    seen = {}

    def fake_render(avatar, voiceover, cuts, out, *, voiceover_demuxer, avatar_demuxer, **options):
        seen.update(avatar=(avatar.name, avatar.read_bytes(), avatar_demuxer), voiceover=(voiceover.name, voiceover.read_bytes(), voiceover_demuxer),
                    clips=[s.clip.read_bytes() for s in cuts])
        out.write_bytes(b"composite")
        return composite.RenderReport(duration_s=4.0, width=1080, height=1920, loudness_lufs=-14.0,
                                      true_peak_dbtp=-1.5, problems=[])

    monkeypatch.setattr(composite, "render_composite", fake_render)
    render.start(PID, OWNER)
    render.run(PID, 1)
    # A fixed local name from the allowlist's extension, and the demuxer ffmpeg is told to read it with.
    assert seen == {"avatar": ("avatar.mp4", b"avatar", "mov"), "voiceover": ("voiceover.m4a", b"voice", "mov"),
                    "clips": [b"clip"]}
    state = step7.broll["render"]
    assert state["status"] == "completed" and bucket.objects[state["key"]] == b"composite"


@pytest.mark.parametrize("key, named", [
    ("projects/p/voice.m3u8", "A file ending .m3u8"),
    ("projects/p/voice.mp3.m3u8", "A file ending .m3u8"),
    ("projects/p/voice.txt", "A file ending .txt"),
    ("projects/p/voice", "A file without an extension"),
])
def test_a_voiceover_key_off_the_allowlist_fails_the_render_and_nothing_is_downloaded(
        step7, workers, bucket, monkeypatch, key, named):
    from broll_common.clients import composite

    bucket.objects.update({"projects/p/avatar.mp4": b"avatar", "projects/p/clip.mp4": b"clip",
                           key: b"#EXTM3U\n#EXTINF:2.0,\nhttp://169.254.169.254/latest/meta-data/\n"})
    step7.audio["audioKey"] = key
    downloaded = []
    monkeypatch.setattr(bucket, "download", lambda key_, path: downloaded.append(key_))
    monkeypatch.setattr(composite, "render_composite", lambda *a, **kw: pytest.fail("ffmpeg must not be reached"))
    render.start(PID, OWNER)
    render.run(PID, 1)
    state = step7.broll["render"]
    assert state["status"] == "failed"
    assert state["error"] == f"The composite could not be made: {named} is not audio or video the studio can read."
    assert downloaded == []


def test_the_worker_records_missing_material_as_a_failure(step7, workers, bucket):
    render.start(PID, OWNER)
    render.run(PID, 1)  # the avatar is not in the bucket
    assert step7.broll["render"]["status"] == "failed"
    assert step7.broll["render"]["error"] == "The composite could not be made. Try again."


# -- Download All against the fake bucket (export) -----------------------------------------


def test_a_zip_of_the_current_content_is_answered_at_once_without_a_build(step7, workers, bucket):
    key, _, _ = export.export_key(step7.record())
    bucket.objects[key] = b"zip"
    shown = export.request(PID, OWNER)
    assert shown.url == bucket.presigned_url(key, "p.zip") and workers.started == []  # named after the project


def test_the_export_worker_streams_the_files_into_a_zip_and_a_missing_one_fails_it(step7, workers, bucket):
    import zipfile

    bucket.objects["projects/p/avatar.mp4"] = b"avatar bytes"
    export.request(PID, OWNER)
    assert workers.invoked == [{"projectId": PID, "generation": 1}]
    export.run(PID, 1)
    assert step7.broll["export"]["status"] == "failed"
    assert "01-hook.mp4 is missing from storage" in step7.broll["export"]["error"]
    bucket.objects["projects/p/clip.mp4"] = b"clip bytes"
    step7.broll["export"]["reported"] = True
    export.request(PID, OWNER)
    export.run(PID, 2)
    done = step7.broll["export"]
    assert done["status"] == "completed"
    names = zipfile.ZipFile(io.BytesIO(bucket.objects[done["key"]])).namelist()
    assert names == ["script.txt", "timeline.json", "captions.ass", "captions.srt", "avatar.mp4", "01-hook.mp4"]


# -- the adapters' own calls ---------------------------------------------------------------


def test_the_lambda_workers_invoke_each_worker_asynchronously(monkeypatch):
    monkeypatch.setenv("RENDER_FUNCTION_NAME", "render-worker")
    monkeypatch.setenv("EXPORT_FUNCTION_NAME", "export-worker")
    config.reset_settings()
    calls = []

    class FakeLambda:
        def invoke(self, **request):
            calls.append(request)

    monkeypatch.setattr(workers_module, "client", lambda service: FakeLambda())
    workers_module.LambdaWorkers().start_render("p", 3)
    workers_module.LambdaWorkers().start_export("p", 4)
    assert [(c["FunctionName"], c["InvocationType"], json.loads(c["Payload"])) for c in calls] == [
        ("render-worker", "Event", {"projectId": "p", "generation": 3}),
        ("export-worker", "Event", {"projectId": "p", "generation": 4}),
    ]


@pytest.mark.parametrize("code", ["404", "NoSuchKey", "NotFound"])
def test_the_s3_media_says_missing_for_every_missing_code_and_raises_anything_else(monkeypatch, code):
    def refuse(code_):
        def call(**_):
            raise ClientError({"Error": {"Code": code_, "Message": "no"}}, "op")
        return call

    class FakeS3:
        head_object = get_object = staticmethod(refuse(code))

    monkeypatch.setattr(media_module, "client", lambda service: FakeS3())
    store = media_module.S3Media()
    assert store.exists("k") is False
    with pytest.raises(media_module.ObjectMissing):
        store.open("k")
    FakeS3.head_object = staticmethod(refuse("AccessDenied"))
    with pytest.raises(ClientError):
        store.exists("k")


def test_media_names_and_urls_go_through_the_media_port(bucket):
    assert media.media_url("users/u/projects/p/a.mp4") == bucket.presigned_url("users/u/projects/p/a.mp4")
    assert media.media_url(None) is None  # an outside URL is never handed on: it is fetched first
    media.copy_from_url("https://kie/clip.mp4", media.clip_key("u", "p", "hook", "t1"))
    assert bucket.objects["users/u/projects/p/broll/hook/t1.mp4"] == b"https://kie/clip.mp4"


def test_a_project_without_an_owner_has_no_media_folder():
    with pytest.raises(ValueError):
        media.project_folder(None, "p")
    assert media.in_folder("users/u/projects/p/media/a.mp3", "u", "p")
    assert not media.in_folder("users/u/projects/p/../q/a.mp3", "u", "p")
    assert not media.in_folder("users/u/projects/pq/a.mp3", "u", "p")
    assert not media.in_folder("users/v/projects/p/a.mp3", "u", "p")
