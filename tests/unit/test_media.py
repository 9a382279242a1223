import time

import pytest

from devstack import media


def close(a, b, tolerance=12):
    return all(abs(x - y) <= tolerance for x, y in zip(a, b))


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("media") / "clip.mp4"
    started = time.monotonic()
    media.render_clip(path, "veo_task_abc")
    return path, time.monotonic() - started


def test_clip_is_a_vertical_8s_h264_with_audio(clip):
    path, _ = clip
    info = media.probe(path)
    assert (info["width"], info["height"]) == (360, 640)
    assert info["duration"] == pytest.approx(8.0, abs=0.1)
    assert info["has_audio"] and info["audio_codec"] == "aac"
    assert info["video_codec"] == "h264"


def test_clip_renders_fast(clip):
    # The emulator renders one per task; slow renders would make every e2e test slow.
    assert clip[1] < 5.0


def test_clip_moov_atom_comes_first_for_streaming(clip):
    data = clip[0].read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")


def test_clip_colour_is_deterministic_and_shows_in_every_frame(clip):
    path, _ = clip
    expected = media.clip_colour("veo_task_abc")
    assert media.clip_colour("veo_task_abc") == expected
    for at in (0.5, 4.0, 7.5):
        assert close(media.frame_colour(path, at), expected)


def test_different_seeds_look_different():
    colours = {media.clip_colour(f"veo_task_{i}") for i in range(50)}
    assert len(colours) == 50


def test_voiceover_has_the_exact_duration(tmp_path):
    path = media.render_voiceover(tmp_path / "vo.m4a", seconds=27.7)
    info = media.probe(path)
    assert info["duration"] == pytest.approx(27.7, abs=0.03)
    assert info["has_audio"] and info["width"] is None


def test_avatar_carries_the_voiceover(tmp_path):
    audio = media.render_voiceover(tmp_path / "vo.m4a", seconds=6.0)
    info = media.probe(media.render_avatar(tmp_path / "avatar.mp4", audio, seconds=6.0))
    assert info["width"] < info["height"]
    assert info["duration"] == pytest.approx(6.0, abs=0.1)
    assert info["has_audio"]


def test_probe_rejects_non_media(tmp_path):
    bogus = tmp_path / "not-a-video.mp4"
    bogus.write_text("hello")
    with pytest.raises(ValueError):
        media.probe(bogus)
