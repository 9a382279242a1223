"""Issue 14's pure rules: how a brought file is shown (aspect, the voice-over's length against the
project's), which formats are named to the person, and scene boundaries moved with their sub-shots."""

from __future__ import annotations

import pytest

from broll_common.logic import media_types
from broll_common.logic.timeline import ranges_at
from broll_common.logic.timings import _rescaled
from broll_common.logic.views import media_summary, media_view
from broll_common.models.domain import BrollPart, MediaState, SubShot, TimeRange


def ready(duration: float, width: int | None = 1080, height: int | None = 1920) -> MediaState:
    return MediaState.model_validate({
        "status": "ready", "generation": 1, "key": "users/u/projects/p/media/avatar-1.mp4",
        "probe": {"demuxer": "mov", "durationSec": duration, "hasVideo": width is not None, "hasAudio": True,
                  "width": width, "height": height},
    })


def test_a_ready_file_shows_what_the_probe_found_with_its_aspect():
    view = media_view(ready(12.04))
    assert (view.status, view.width, view.height, view.aspect, view.durationSec) == ("ready", 1080, 1920, "9:16", 12.04)
    assert media_view(ready(5.0, 1280, 720)).aspect == "16:9"
    assert media_view(ready(5.0, None, None)).aspect is None
    assert media_view(None) is None


@pytest.mark.parametrize("file_s, declared_s, mismatch", [(27.7, 27.7, None), (27.9, 27.5, None), (30.0, 27.5, 2.5),
                                                          (25.0, 27.5, -2.5)])
def test_a_voice_over_half_a_second_off_the_projects_length_is_flagged(file_s, declared_s, mismatch):
    assert media_view(ready(file_s), declared=declared_s).durationMismatchSec == mismatch


def test_a_failed_or_running_job_shows_no_facts():
    failed = MediaState.model_validate({"status": "failed", "error": "The file has no sound in it.", "generation": 2,
                                        "key": "users/u/projects/p/media/voiceover-1.mp3",
                                        "probe": ready(3.0).probe.model_dump()})
    view = media_view(failed, declared=9.0)
    assert view.status == "failed" and view.error == "The file has no sound in it."
    assert view.durationSec is None and view.durationMismatchSec is None
    assert view.canRetry  # its upload is still kept (the worker failed, not the file)
    refused = failed.model_copy(update={"key": None})
    assert not media_view(refused).canRetry  # a refused upload is deleted: only a new one helps
    fetch = MediaState.model_validate({"status": "failed", "source": "url", "sourceUrl": "https://cdn.example/a.mp4"})
    assert media_view(fetch).canRetry and not media_view(ready(3.0)).canRetry


def test_the_list_says_in_one_word_how_the_media_stand():
    fetching = MediaState.model_validate({"status": "fetching", "source": "url"})
    failed = MediaState.model_validate({"status": "failed"})
    assert media_summary(BrollPart(), ("a", "b")) == "ready"
    assert media_summary(BrollPart(), ("a", None)) == "missing"
    assert media_summary(BrollPart(avatarMedia=fetching), ("a", None)) == "fetching"
    assert media_summary(BrollPart(avatarMedia=fetching, voiceoverMedia=failed), ("a", "b")) == "failed"


def test_formats_are_named_as_a_person_reads_them():
    assert media_types.described("avatar") == "MP4, MOV or WEBM"
    assert media_types.described("voiceover") == "MP3, WAV, M4A, AAC, OGG or FLAC"
    assert media_types.known_extension("voiceover", "audio/mpeg; charset=binary") == "mp3"
    assert media_types.known_extension("voiceover", "video/mp4") is None
    assert media_types.extension_in_url("avatar", "https://cdn.example/a/b/clip.MP4?sig=1") == "mp4"
    assert media_types.extension_in_url("avatar", "https://cdn.example/list.m3u8") is None
    assert media_types.content_type_for_key("users/u/projects/p/media/voiceover-1.m4a") == "audio/mp4"
    with pytest.raises(ValueError):
        media_types.content_type_for_key("users/u/projects/p/media/voiceover-1.m3u8")


def test_boundaries_give_ranges_from_zero_to_the_voice_overs_end():
    assert [(r.start, r.end, r.label) for r in ranges_at([2.5, 9.0], 12.0)] == [
        (0.0, 2.5, "0:00–0:02"), (2.5, 9.0, "0:02–0:09"), (9.0, 12.0, "0:09–0:12")]


def test_a_sub_shot_keeps_its_share_of_a_moved_scene():
    old, new = TimeRange(start=4.0, end=16.0, label=""), TimeRange(start=5.0, end=11.0, label="")
    first, second = SubShot(n=1, start=4.0, end=10.0, videoKey="k1"), SubShot(n=2, start=10.0, end=16.0)
    assert [(s.start, s.end) for s in (_rescaled(first, old, new), _rescaled(second, old, new))] == [(5.0, 8.0), (8.0, 11.0)]
    assert _rescaled(first, old, new).videoKey == "k1"  # its clip stays
