"""The composite renderer against the real ffmpeg binary (no mocks): pictures are checked by the
colour of real decoded frames, sound by decoded samples."""

import array
import math
import subprocess

import pytest

from broll_common.clients.composite import CompositeFailed, RenderReport, Segment, render_composite
from devstack import media

W, H, SECONDS = 360, 640, 12.0
FIRST, SECOND = "scene-1-clip", "scene-2-clip"
PCM_RATE = 8000


def close(a, b, tolerance=40):
    return all(abs(x - y) <= tolerance for x, y in zip(a, b))


def run_ffmpeg(*args) -> bytes:
    proc = subprocess.run([media.ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", *args], capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout


def describe(path) -> str:
    return subprocess.run(
        [media.ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True, text=True
    ).stderr


def audio_samples(path) -> array.array:
    """The output's audio, decoded to mono 16-bit samples at PCM_RATE."""
    pcm = run_ffmpeg("-i", str(path), "-map", "0:a", "-ac", "1", "-ar", str(PCM_RATE), "-f", "s16le", "-")
    return array.array("h", pcm)


def rms(samples) -> float:
    return math.sqrt(sum(s * s for s in samples) / len(samples)) if samples else 0.0


def crossings_per_second(samples) -> float:
    crossings = sum(1 for a, b in zip(samples, samples[1:]) if (a < 0) != (b < 0))
    return crossings / (len(samples) / PCM_RATE)


def window(samples, start, end):
    return samples[int(start * PCM_RATE):int(end * PCM_RATE)]


def grey_frame(path, at_seconds) -> bytes:
    """A small greyscale picture of the whole frame: enough to tell the moving bars' positions apart."""
    pixels = run_ffmpeg("-ss", str(at_seconds), "-i", str(path), "-frames:v", "1", "-vf", "scale=36:64",
                        "-f", "rawvideo", "-pix_fmt", "gray", "-")
    assert len(pixels) == 36 * 64, f"no frame at {at_seconds}s in {path}"
    return pixels


def render(avatar, voiceover, cuts, out, **kw):
    """render_composite, for the tests that look at the video: the path it wrote."""
    report = render_composite(avatar, voiceover, cuts, out, **kw)
    assert isinstance(report, RenderReport)
    return out


def difference(a: bytes, b: bytes) -> float:
    return sum(abs(x - y) for x, y in zip(a, b)) / len(a)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("composite-inputs")
    voiceover = media.render_voiceover(d / "vo.m4a", seconds=SECONDS)
    return {
        "dir": d,
        "voiceover": voiceover,
        "avatar": media.render_avatar(d / "avatar.mp4", voiceover, seconds=SECONDS, width=W, height=H),
        "long": media.render_clip(d / "long.mp4", FIRST, seconds=8.0, width=W, height=H),
        "short": media.render_clip(d / "short.mp4", SECOND, seconds=3.0, width=W, height=H),
    }


@pytest.fixture(scope="module")
def avatar_colour(inputs):
    colour = media.frame_colour(inputs["avatar"], 5.0)
    # The colour checks below only mean something if the three pictures are easy to tell apart.
    for seed in (FIRST, SECOND):
        assert not close(colour, media.clip_colour(seed), 80)
    assert not close(media.clip_colour(FIRST), media.clip_colour(SECOND), 80)
    return colour


@pytest.fixture(scope="module")
def composite(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("composite-out") / "composite.mp4"
    segments = [Segment(0.0, 4.0, inputs["long"]), Segment(6.0, 11.0, inputs["short"])]
    report = render_composite(inputs["avatar"], inputs["voiceover"], segments, out, voiceover_demuxer="mov")
    assert report.problems == [] and (report.width, report.height) == (W, H)
    return out


def test_composite_has_the_avatars_shape_and_streams(composite):
    info = media.probe(composite)
    assert info["duration"] == pytest.approx(SECONDS, abs=0.2)
    assert (info["width"], info["height"]) == (W, H)
    assert info["video_codec"] == "h264" and info["audio_codec"] == "aac"
    description = describe(composite)
    assert description.count(": Audio: ") == 1
    assert description.count(": Video: ") == 1
    assert "yuv420p" in description
    data = composite.read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")  # faststart: playable while downloading


def test_clips_cover_their_ranges_and_the_avatar_shows_between(composite, avatar_colour):
    first, second = media.clip_colour(FIRST), media.clip_colour(SECOND)
    for at in (0.5, 2.0, 3.8):
        assert close(media.frame_colour(composite, at), first), at
    for at in (6.2, 8.5, 10.8):  # the 3 s clip must last to the end of its 5 s range
        assert close(media.frame_colour(composite, at), second), at
    for at in (4.2, 5.0, 5.8, 11.5):
        colour = media.frame_colour(composite, at)
        assert close(colour, avatar_colour), at
        assert not close(colour, first) and not close(colour, second), at


def test_short_clip_is_slowed_to_fill_its_range(composite, inputs):
    # 3 s over [6, 11): clip time x shows at 6 + x * 5/3. At normal speed, clip time x * 5/3 would show there.
    for x in (0.6, 1.2, 1.6):
        shown = grey_frame(composite, 6.0 + x * 5 / 3)
        slowed, unslowed = grey_frame(inputs["short"], x), grey_frame(inputs["short"], x * 5 / 3)
        assert difference(shown, slowed) < 1.0 < difference(shown, unslowed), x


def test_long_clip_is_trimmed_not_sped_up(composite, inputs):
    # 8 s into [0, 4): clip time t shows at t. Squeezed to fit, clip time 2t would show there.
    for at in (1.0, 2.0):  # times where the clip's moving bars are far from where they are at 2t
        shown = grey_frame(composite, at)
        trimmed, squeezed = grey_frame(inputs["long"], at), grey_frame(inputs["long"], at * 2)
        assert difference(shown, trimmed) < 1.0 < difference(shown, squeezed), at


def test_audio_is_the_voiceover_only_padded_to_the_avatar(inputs, tmp_path):
    # A 1 kHz tone is unlike both the avatar's ~120 Hz "voice" and the clips' 180-690 Hz tones; it is
    # also 2 s shorter than the avatar, so the end must be padded with silence rather than cut short.
    tone = tmp_path / "tone.m4a"
    run_ffmpeg("-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=44100:duration=10", "-c:a", "aac", str(tone))
    out = render(inputs["avatar"], tone, [Segment(2.0, 6.0, inputs["long"])], tmp_path / "out.mp4",
                           voiceover_demuxer="mov")

    samples = audio_samples(out)
    assert len(samples) / PCM_RATE == pytest.approx(SECONDS, abs=0.2)
    for start in (0.5, 3.0, 5.0, 8.0):  # inside and outside the clip's range
        part = window(samples, start, start + 1.0)
        assert rms(part) > 1000, start
        assert crossings_per_second(part) == pytest.approx(2000, rel=0.05), start
    assert rms(window(samples, 10.3, 11.8)) < 50


def test_no_segments_is_the_avatar_with_the_voiceover(inputs, avatar_colour, tmp_path):
    out = render(inputs["avatar"], inputs["voiceover"], [], tmp_path / "plain.mp4", voiceover_demuxer="mov")
    info = media.probe(out)
    assert info["duration"] == pytest.approx(SECONDS, abs=0.2)
    assert (info["width"], info["height"]) == (W, H)
    assert describe(out).count(": Audio: ") == 1
    assert close(media.frame_colour(out, 2.0), avatar_colour)
    assert rms(window(audio_samples(out), 0.5, 3.0)) > 1000


def test_without_voiceover_the_avatars_audio_is_kept(inputs, tmp_path):
    out = render(inputs["avatar"], None, [Segment(1.0, 3.0, inputs["short"])], tmp_path / "out.mp4")
    samples = audio_samples(out)
    assert len(samples) / PCM_RATE == pytest.approx(SECONDS, abs=0.2)
    assert rms(window(samples, 0.5, 3.0)) > 1000


def test_silent_avatar_without_voiceover_still_gets_one_audio_stream(inputs, tmp_path):
    mute = tmp_path / "mute.mp4"
    run_ffmpeg("-i", str(inputs["avatar"]), "-an", "-c", "copy", str(mute))
    assert not media.probe(mute)["has_audio"]
    out = tmp_path / "out.mp4"
    report = render_composite(mute, None, [], out)
    info = media.probe(out)
    assert info["audio_codec"] == "aac" and describe(out).count(": Audio: ") == 1
    assert info["duration"] == pytest.approx(SECONDS, abs=0.2)
    samples = audio_samples(out)
    assert len(samples) / PCM_RATE == pytest.approx(SECONDS, abs=0.2)
    assert rms(samples) < 1
    # Silence cannot be brought to -14 LUFS: the self-check says so, the caller fails the render.
    assert report.problems == ["The output's audio is silent."]


def test_range_a_hair_past_the_end_is_accepted(inputs, tmp_path):
    # Scene ranges come from the voice-over's duration, which may differ from the avatar's slightly.
    out = render(inputs["avatar"], inputs["voiceover"], [Segment(10.0, SECONDS + 0.1, inputs["short"])],
                           tmp_path / "out.mp4", voiceover_demuxer="mov")
    assert media.probe(out)["duration"] == pytest.approx(SECONDS, abs=0.2)


@pytest.mark.parametrize(
    "ranges, words",
    [
        ([(0.0, 5.0), (4.0, 8.0)], "overlaps"),
        ([(6.0, SECONDS + 1.0)], "outside"),
        ([(-1.0, 2.0)], "outside"),
        ([(3.0, 3.0)], "start before it ends"),
        ([(5.0, 2.0)], "start before it ends"),
        ([(6.0, 8.0), (1.0, 3.0)], "sorted"),
    ],
)
def test_bad_segments_are_refused_before_anything_is_written(inputs, tmp_path, ranges, words):
    segments = [Segment(start, end, inputs["long"]) for start, end in ranges]
    out = tmp_path / "out.mp4"
    with pytest.raises(ValueError, match=words):
        render_composite(inputs["avatar"], inputs["voiceover"], segments, out, voiceover_demuxer="mov")
    assert list(tmp_path.iterdir()) == []


def test_broken_clip_raises_with_ffmpegs_message(inputs, tmp_path):
    bogus = tmp_path / "bogus.mp4"
    bogus.write_text("this is not a video")
    out = tmp_path / "out.mp4"
    with pytest.raises(CompositeFailed) as failure:
        render_composite(inputs["avatar"], inputs["voiceover"], [Segment(1.0, 3.0, bogus)], out,
                         voiceover_demuxer="mov")
    assert "Invalid data found when processing input" in failure.value.stderr
    assert "Invalid data found" in str(failure.value)
    assert len(failure.value.stderr.splitlines()) <= 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bogus.mp4"]


def test_clip_without_video_is_refused(inputs, tmp_path):
    with pytest.raises(CompositeFailed, match="no video"):
        render_composite(inputs["avatar"], None, [Segment(1.0, 3.0, inputs["voiceover"])], tmp_path / "out.mp4")
    assert list(tmp_path.iterdir()) == []


def test_ffmpeg_failing_mid_render_raises_with_its_message(inputs, tmp_path):
    out = tmp_path / "missing-dir" / "out.mp4"
    with pytest.raises(CompositeFailed) as failure:
        render_composite(inputs["avatar"], inputs["voiceover"], [Segment(1.0, 3.0, inputs["long"])], out,
                         voiceover_demuxer="mov")
    assert "No such file or directory" in failure.value.stderr
    assert not out.exists()


def test_clip_of_another_shape_is_scaled_to_cover_the_frame(inputs, tmp_path):
    wide = media.render_clip(tmp_path / "wide.mp4", FIRST, seconds=2.0, width=320, height=180)
    out = render(inputs["avatar"], inputs["voiceover"], [Segment(1.0, 3.0, wide)], tmp_path / "out.mp4",
                           voiceover_demuxer="mov")
    info = media.probe(out)
    assert (info["width"], info["height"]) == (W, H)
    assert close(media.frame_colour(out, 2.0), media.clip_colour(FIRST))


def test_every_ffmpeg_input_is_a_local_file_with_its_demuxer_named(inputs, tmp_path, monkeypatch):
    real, commands = subprocess.run, []

    def run(args, *a, **kw):
        commands.append(list(args))
        return real(args, *a, **kw)

    monkeypatch.setattr(subprocess, "run", run)
    render_composite(inputs["avatar"], inputs["voiceover"], [Segment(1.0, 3.0, inputs["short"])], tmp_path / "out.mp4",
                     voiceover_demuxer="mov")
    # The avatar's, the voice-over's and the clip's probe, the loudness measure, the render, the
    # output's probe and its check.
    assert len(commands) == 7
    for command in commands:
        opened = [i for i, arg in enumerate(command) if arg == "-i"]
        assert opened and all(command[i - 4:i - 1] == ["-protocol_whitelist", "file", "-f"] for i in opened), command
    render_command = next(c for c in commands if "libx264" in c)
    assert [render_command[i - 1] for i, arg in enumerate(render_command) if arg == "-i"] == ["mov", "mov", "mov"]


@pytest.mark.parametrize("demuxer", [None, "hls", "concat"])
def test_a_voiceover_without_an_allowlisted_demuxer_is_refused_before_anything_runs(inputs, tmp_path, demuxer):
    with pytest.raises(ValueError, match="allowlist"):
        render_composite(inputs["avatar"], inputs["voiceover"], [], tmp_path / "out.mp4", voiceover_demuxer=demuxer)
    assert list(tmp_path.iterdir()) == []
