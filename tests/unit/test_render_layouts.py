"""The render worker with layouts and captions (render.run against a fake engine), the material
hash, the self-check's outcome in RenderView, Download All's captions and names, PUT …/layout."""

from __future__ import annotations

import io
import zipfile

import pytest

from broll_common.clients import composite
from broll_common.dal import projects as storage
from broll_common.logic import export, layout_settings, render
from broll_common.models.api import LayoutBody
from broll_common.models.domain import RenderStatus
from broll_common.models.errors import InvalidInput
from tests.unit.test_workers_and_media import OWNER, PID, bucket, step7, workers  # noqa: F401 - fixtures


@pytest.fixture
def material(step7, bucket):  # noqa: F811
    bucket.objects.update({"projects/p/avatar.mp4": b"avatar", "projects/p/clip.mp4": b"clip",
                           "projects/p/voice.m4a": b"voice"})
    step7.audio["audioKey"] = "projects/p/voice.m4a"
    step7.broll["scenes"][0]["text"] = "Night trains are back in Europe tonight."
    # The avatar as the media worker's probe found it: the captions are laid out at the output's size.
    step7.broll["avatarMedia"] = {"status": "ready", "key": "projects/p/avatar.mp4",
                                  "probe": {"demuxer": "mov", "durationSec": 4, "hasVideo": True, "hasAudio": True,
                                            "width": 720, "height": 1280}}
    return step7


def engine(monkeypatch, problems=()):
    seen = {}

    def fake_render(avatar, voiceover, cuts, out, **options):
        seen.update(cuts=[(c.start, c.end, c.clip.read_bytes(), c.frame) for c in cuts], options=options)
        if options.get("captions_ass"):
            seen["ass"] = options["captions_ass"].read_text()
        out.write_bytes(b"composite")
        if options.get("poster"):
            options["poster"].write_bytes(b"jpeg")
        return composite.RenderReport(duration_s=4.0, width=720, height=1280, loudness_lufs=-14.1,
                                      true_peak_dbtp=-1.4, problems=list(problems))

    monkeypatch.setattr(composite, "render_composite", fake_render)
    return seen


def test_the_worker_passes_the_layouts_cuts_captions_fonts_and_expected_duration(material, workers, bucket, monkeypatch):  # noqa: F811
    seen = engine(monkeypatch)
    render.start(PID, OWNER)
    render.run(PID, 1)
    assert seen["cuts"] == [(1.6, 4.0, b"clip", "full")]  # cutaway at 60 %: the presenter first
    options = seen["options"]
    assert options["expected_duration_s"] == 4.0 and options["fonts_dir"].joinpath("DejaVuSans-Bold.ttf").is_file()
    assert options["captions_ass"].name == "captions.ass"
    assert "PlayResX: 720" in seen["ass"] and "PlayResY: 1280" in seen["ass"] and "\\k" in seen["ass"]
    state = material.broll["render"]
    assert state["status"] == "completed" and bucket.objects[state["key"]] == b"composite"
    assert bucket.objects[state["posterKey"]] == b"jpeg"
    shown = render.view(material.record())
    assert shown.checks.model_dump() == {"durationSec": 4.0, "width": 720, "height": 1280, "loudnessLufs": -14.1,
                                         "truePeakDbtp": -1.4, "problems": []}
    assert shown.posterUrl == bucket.presigned_url(state["posterKey"])


def test_without_captions_no_ass_is_written(material, workers, bucket, monkeypatch):  # noqa: F811
    material.broll["layout"] = {"layout": "split", "captions": {"enabled": False}}
    seen = engine(monkeypatch)
    render.start(PID, OWNER)
    render.run(PID, 1)
    assert seen["cuts"] == [(0.0, 4.0, b"clip", "split")]
    assert seen["options"]["captions_ass"] is None and seen["options"]["fonts_dir"] is None


def test_a_composite_that_fails_its_self_check_is_a_failed_render_with_the_sentences(material, workers, bucket, monkeypatch):  # noqa: F811
    engine(monkeypatch, problems=["The composite lasts 3.2 s, not the voice-over's 4.0 s",
                                  "Cut 1 shows black where the B-roll should be."])
    render.start(PID, OWNER)
    render.run(PID, 1)
    state = material.broll["render"]
    assert state["status"] == "failed"
    assert state["error"] == ("The composite failed its own check: The composite lasts 3.2 s, not the voice-over's "
                              "4.0 s. Cut 1 shows black where the B-roll should be.")
    shown = render.view(material.record())
    assert shown.status == RenderStatus.FAILED and len(shown.checks.problems) == 2 and shown.videoUrl is None
    assert not [k for k in bucket.objects if "/renders/" in k]  # nothing stored


def test_the_material_hash_covers_the_layout_and_the_captions(material):
    record = material.record
    first = render.material_hash(record())
    material.broll["layout"] = {"share": 0.5}
    by_share = render.material_hash(record())
    material.broll["layout"] = {"share": 0.5, "captions": {"size": "large"}}
    by_size = render.material_hash(record())
    material.broll["scenes"][0]["text"] = "Other words entirely."
    by_text = render.material_hash(record())
    material.audio["wordTimings"] = [{"word": "Other", "start": 0.1, "end": 0.5}]
    by_timing = render.material_hash(record())
    assert len({first, by_share, by_size, by_text, by_timing}) == 5
    material.broll["layout"] = {"share": 0.5, "captions": {"enabled": False}}
    off = render.material_hash(record())
    material.broll["scenes"][0]["text"] = "Yet other words."
    assert render.material_hash(record()) == off  # captions off: their text is not material


def test_download_all_names_the_zip_and_the_composite_after_the_project_and_adds_the_captions(material, workers, bucket, monkeypatch):  # noqa: F811
    monkeypatch.setattr(storage.ProjectRecord, "name", property(lambda self: "Night Trains Are Back in Europe!"))
    engine(monkeypatch)
    render.start(PID, OWNER)
    render.run(PID, 1)
    export.request(PID, OWNER)
    export.run(PID, 1)
    done = material.broll["export"]
    archive = zipfile.ZipFile(io.BytesIO(bucket.objects[done["key"]]))
    assert archive.namelist() == ["script.txt", "timeline.json", "captions.ass", "captions.srt", "voiceover.m4a",
                                  "avatar.mp4", "01-hook.mp4", "night-trains-are-back-in-europe.mp4"]
    assert "PlayResX: 720" in archive.read("captions.ass").decode()  # the composite's size
    assert archive.read("captions.srt").decode().startswith("1\n00:00:00,000 --> ")
    assert export.request(PID, OWNER).url.endswith("&as=night-trains-are-back-in-europe.zip")
    material.broll["layout"] = {"captions": {"enabled": False}}  # (the composite is now out of date)
    _, timeline, files = export.export_key(material.record())
    assert timeline["captions"] == [] and export.generated(material.record()) == []


@pytest.fixture
def no_ledger(monkeypatch):
    """The project view's spend and quota (the ledger, whether the user has a key) from fakes."""
    from broll_common.dal.usage import get_usage
    from broll_common.logic import quota
    from tests.unit.fakes import FakeUsage

    monkeypatch.setattr(quota, "user_key_info", lambda owner: None)
    with get_usage.use(FakeUsage()):
        yield


def test_set_layout_merges_the_given_fields_and_refuses_an_unknown_scene(material, monkeypatch, no_ledger):
    written = {}
    monkeypatch.setattr(storage, "update_broll", lambda pid, changes, owner: written.update(changes)
                        or material.broll.update(changes))
    shown = layout_settings.set_layout(PID, LayoutBody(share=0.4, captions={"size": "large"}), OWNER)
    assert shown.layout.share == 0.4 and shown.layout.layout == "cutaway"
    assert shown.layout.captions.size == "large" and shown.layout.captions.enabled is True
    shown = layout_settings.set_layout(PID, LayoutBody(layout="pip", overrides={"hook": "presenter"}), OWNER)
    assert (shown.layout.layout, shown.layout.share, shown.layout.captions.size) == ("pip", 0.4, "large")
    assert written["layout"]["overrides"] == {"hook": "presenter"}
    with pytest.raises(InvalidInput, match="no scene 'nope'"):
        layout_settings.set_layout(PID, LayoutBody(overrides={"nope": "full"}), OWNER)


@pytest.mark.parametrize("body", [{"share": 0.1}, {"share": 1.5}, {"share": True}, {"layout": "mosaic"},
                                  {"overrides": {"hook": "zoom"}}, {"captions": {"colour": "red"}}, {"extra": 1},
                                  {"minSceneSec": -1}, {"overrides": {"Bad Id": "full"}}])
def test_a_bad_layout_body_is_refused(body):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        LayoutBody.model_validate(body)


def test_stage4_takes_word_timings_in_spoken_order():
    from pydantic import ValidationError

    from broll_common.models.api import Stage4

    words = [{"word": "Night", "start": 0.0, "end": 0.4}, {"word": "trains", "start": 0.4, "end": 0.9}]
    stage4 = Stage4.model_validate({"audioDurationSec": 4.0, "wordTimings": words})
    assert stage4.model_dump(exclude_none=True)["wordTimings"] == words  # stored as given (step 4)
    for bad in ([words[1], words[0]], [{"word": "x", "start": 1.0, "end": 0.5}], [{"word": "", "start": 0, "end": 1}],
                [{"word": "x", "start": 0, "end": 1, "speaker": "a"}]):
        with pytest.raises(ValidationError):
            Stage4.model_validate({"audioDurationSec": 4.0, "wordTimings": bad})
