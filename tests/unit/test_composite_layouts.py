"""The composite's frames (full / split / pip), burned-in captions, loudness, poster and self-check,
against the real ffmpeg binary: pictures are checked by the mean colour of regions of decoded frames,
loudness by ffmpeg's own EBU R128 meter (ebur128, not the loudnorm the engine uses)."""

import re
import subprocess

import pytest

from broll_common.clients import frames, loudness, selfcheck
from broll_common.clients.composite import CutInput, render_composite
from broll_common.clients.probe import MediaProbe
from broll_common.fonts import FONT_FILE, fonts_dir
from devstack import media

W, H, SECONDS = 270, 480, 6.0
A, B = "layout-clip-a", "layout-clip-b"
BACKDROP = (0x23, 0x30, 0x3F)  # render_avatar's background
SKIN = (224, 176, 144)  # render_avatar's head
CUTS = [(0.5, 2.0, "a", "full"), (2.0, 3.8, "b", "split"), (3.8, 5.8, "a", "pip")]
ASS = r"""[Script Info]
ScriptType: v4.00+
PlayResX: 270
PlayResY: 480

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,DejaVu Sans,34,&H00FFFFFF,&H0000FFFF,&H00000000,&H80000000,1,0,0,0,100,100,0,0,1,3,0,2,10,10,30,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:00.00,0:00:06.00,Default,,0,0,0,,{\k60}NIGHT {\k60}TRAINS
"""
CAPTION_BAND = (0, 400, W, 70)  # x, y, w, h: where the caption above sits


def ffmpeg(*args) -> subprocess.CompletedProcess:
    proc = subprocess.run([media.ffmpeg_exe(), "-hide_banner", "-nostdin", *args], capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    return proc


def patch(path, at, x, y, w, h) -> tuple[int, ...]:
    """Mean RGB of the w x h patch at (x, y) of the frame at `at` seconds."""
    seek = ["-ss", f"{at}"] if at is not None else []  # None: a still picture
    out = ffmpeg("-v", "error", *seek, "-i", str(path), "-frames:v", "1",
                 "-vf", f"crop={w}:{h}:{x}:{y},scale=1:1:flags=area", "-f", "rawvideo", "-pix_fmt", "rgb24", "-").stdout
    assert len(out) == 3, f"no frame at {at}s"
    return tuple(out)


def pixels(path, at, x, y, w, h) -> bytes:
    return ffmpeg("-v", "error", "-ss", f"{at}", "-i", str(path), "-frames:v", "1",
                  "-vf", f"crop={w}:{h}:{x}:{y}", "-f", "rawvideo", "-pix_fmt", "gray", "-").stdout


def close(a, b, tolerance=40):
    return all(abs(x - y) <= tolerance for x, y in zip(a, b))


def ebur128(path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of the file's audio by ffmpeg's ebur128 meter."""
    err = ffmpeg("-nostats", "-i", str(path), "-map", "0:a", "-af", "ebur128=peak=true", "-f", "null", "-").stderr
    summary = err.decode(errors="replace").rsplit("Summary:", 1)[1]
    return (float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary)[1]),
            float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary)[1]))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("layout-inputs")
    voiceover = media.render_voiceover(d / "vo.m4a", seconds=SECONDS)
    black = d / "black.mp4"
    ffmpeg("-v", "error", "-f", "lavfi", "-i", f"color=c=black:s={W}x{H}:r=24:d=3", "-c:v", "libx264",
           "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(black))
    captions = d / "captions.ass"
    captions.write_text(ASS)
    return {
        "dir": d, "voiceover": voiceover, "captions": captions, "black": black,
        "avatar": media.render_avatar(d / "avatar.mp4", voiceover, seconds=SECONDS, width=W, height=H),
        "a": media.render_clip(d / "a.mp4", A, seconds=3.0, width=W, height=H),
        "b": media.render_clip(d / "b.mp4", B, seconds=3.0, width=320, height=180),  # landscape: cover-cropped
    }


def cut_inputs(inputs):
    return [CutInput(start, end, inputs[clip], frame) for start, end, clip, frame in CUTS]


@pytest.fixture(scope="module")
def rendered(inputs, tmp_path_factory):
    d = tmp_path_factory.mktemp("layout-out")
    out, poster = d / "composite.mp4", d / "poster.jpg"
    report = render_composite(inputs["avatar"], inputs["voiceover"], cut_inputs(inputs), out, voiceover_demuxer="mov",
                              captions_ass=inputs["captions"], poster=poster, expected_duration_s=SECONDS)
    return {"out": out, "poster": poster, "report": report}


@pytest.fixture(scope="module")
def uncaptioned(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("layout-plain") / "composite.mp4"
    render_composite(inputs["avatar"], inputs["voiceover"], cut_inputs(inputs), out, voiceover_demuxer="mov")
    return out


def test_the_report_passes_and_gives_the_measured_figures(rendered):
    report = rendered["report"]
    assert report.problems == []
    assert (report.width, report.height) == (W, H)
    assert report.duration_s == pytest.approx(SECONDS, abs=0.1)
    assert abs(report.loudness_lufs - loudness.TARGET_I) <= 1.0
    assert report.true_peak_dbtp <= loudness.TARGET_TP


def test_the_output_measures_minus_14_lufs_and_under_minus_1_dbtp_on_another_meter(rendered):
    integrated, peak = ebur128(rendered["out"])
    assert integrated == pytest.approx(-14.0, abs=1.0)
    assert peak <= -1.0
    assert integrated == pytest.approx(rendered["report"].loudness_lufs, abs=0.5)


def test_the_encoding_is_h264_high_yuv420p_with_48k_aac_and_faststart(rendered):
    description = subprocess.run([media.ffmpeg_exe(), "-hide_banner", "-i", str(rendered["out"])],
                                 capture_output=True, text=True).stderr
    assert re.search(r"Video: h264 \(High\).*yuv420p", description)
    assert re.search(r"Audio: aac.*48000 Hz", description)
    data = rendered["out"].read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")


def test_before_the_first_cut_the_presenter_has_the_whole_frame(rendered):
    assert close(patch(rendered["out"], 0.2, 0, 0, W, H // 5), BACKDROP)
    assert close(patch(rendered["out"], 0.2, 125, 220, 20, 30), SKIN)


def test_a_full_cut_gives_the_broll_the_whole_frame(rendered):
    colour = media.clip_colour(A)
    for x, y, w, h in [(0, 0, W, H // 5), (0, 330, W, 60), (10, 100, 30, 30)]:
        assert close(patch(rendered["out"], 1.2, x, y, w, h), colour), (x, y)


def test_a_split_cut_has_broll_on_top_and_the_presenter_below(rendered):
    out, colour = rendered["out"], media.clip_colour(B)
    assert close(patch(out, 3.0, 0, 0, W, 40), colour)
    assert close(patch(out, 3.0, 0, 200, W, 30), colour)  # the B-roll reaches the middle
    assert close(patch(out, 3.0, 0, 250, 15, 40), BACKDROP)  # the presenter's backdrop from the middle down
    assert close(patch(out, 3.0, 125, 360, 20, 30), SKIN)  # and the presenter's head


def test_a_pip_cut_has_broll_full_frame_and_the_presenter_in_the_lower_left_box(rendered):
    out, colour = rendered["out"], media.clip_colour(A)
    box = frames.pip_box(W, H)
    assert box.x < W / 4 and box.y > H / 3 and box.y + box.h < H * 0.8
    assert close(patch(out, 4.8, 0, 0, W, H // 5), colour)
    assert close(patch(out, 4.8, 200, 330, 50, 30), colour)  # right of the box
    assert close(patch(out, 4.8, box.x + box.w // 2 - 6, box.y + 60, 12, 20), SKIN)  # the head inside the box
    # The box's corners are rounded: the very corner pixel shows the B-roll (inside the white border).
    assert close(patch(out, 4.8, box.x - 1, box.y - 1, 2, 2), colour, 60)


def test_captions_change_the_caption_band_and_nothing_else(rendered, uncaptioned):
    def differ(region, at):
        a, b = pixels(rendered["out"], at, *region), pixels(uncaptioned, at, *region)
        return sum(abs(x - y) for x, y in zip(a, b)) / len(a)

    for at in (0.2, 1.2, 3.0):
        assert differ(CAPTION_BAND, at) > 15, at  # white bold letters with a black outline
        assert differ((0, 0, W, 120), at) < 3, at


def test_the_caption_font_is_the_shipped_one():
    folder = fonts_dir()
    assert (folder / FONT_FILE).stat().st_size > 100_000
    assert "Bitstream" in (folder / "LICENSE").read_text()


def test_the_poster_is_the_first_frame_as_jpeg(rendered):
    data = rendered["poster"].read_bytes()
    assert data[:3] == b"\xff\xd8\xff"
    info = media.probe(rendered["poster"])
    assert (info["width"], info["height"]) == (W, H)
    assert close(patch(rendered["poster"], None, 0, 0, W, H // 5), BACKDROP)


def test_the_self_check_reports_a_black_clip_and_a_short_voiceover(inputs, tmp_path):
    short = media.render_voiceover(tmp_path / "short.m4a", seconds=4.0)
    cuts = [CutInput(1.0, 3.0, inputs["black"], "split"), CutInput(3.5, 5.5, inputs["a"], "full")]
    report = render_composite(inputs["avatar"], short, cuts, tmp_path / "out.mp4", voiceover_demuxer="mov",
                              expected_duration_s=SECONDS)
    assert report.problems == [
        "The voice-over lasts 4.00 s, shorter than the timeline's 6.00 s.",
        "The B-roll is black at 2.0 s (cut 1 at 1.0-3.0 s, split).",
    ]
    assert (tmp_path / "out.mp4").is_file()  # written: the caller decides what a failed check means


def test_a_quiet_voiceover_is_brought_up_to_target(inputs, tmp_path):
    quiet = tmp_path / "quiet.m4a"
    ffmpeg("-v", "error", "-i", str(inputs["voiceover"]), "-af", "volume=-22dB", "-c:a", "aac", str(quiet))
    assert ebur128(quiet)[0] < -30
    report = render_composite(inputs["avatar"], quiet, [], tmp_path / "out.mp4", voiceover_demuxer="mov")
    assert report.problems == []
    assert ebur128(tmp_path / "out.mp4")[0] == pytest.approx(-14.0, abs=1.0)


def test_an_avatar_at_least_1080x1920_gives_1080x1920(tmp_path):
    assert frames.output_size(1080, 1920) == (1080, 1920)
    assert frames.output_size(1440, 2560) == (1080, 1920)
    assert frames.output_size(721, 1281) == (720, 1280)
    voiceover = media.render_voiceover(tmp_path / "vo.m4a", seconds=1.0)
    avatar = media.render_avatar(tmp_path / "big.mp4", voiceover, seconds=1.0, width=1088, height=1936)
    report = render_composite(avatar, voiceover, [], tmp_path / "out.mp4", voiceover_demuxer="mov")
    assert (report.width, report.height) == (1080, 1920)
    # (loudnorm needs 3 s of sound to reach its target; this one lasts 1 s)
    assert [p for p in report.problems if "loudness" not in p] == []


def test_stream_problems_name_the_duration_and_the_shape():
    probe = MediaProbe("mov", 6.5, True, False, 480, 480)
    assert selfcheck.stream_problems(probe, 6.0, 6.02) == [
        "The composite lasts 6.50 s, not the timeline's 6.00 s.",
        "The composite is 480x480, not 9:16.",
        "The composite has no audio.",
    ]
    assert selfcheck.stream_problems(MediaProbe("mov", 6.05, True, True, 1080, 1920), 6.0, 6.0) == []


def test_loudness_problems_and_the_report_parser():
    stderr = '[Parsed_loudnorm_0 @ 0x1]\n{\n\t"input_i" : "-16.20",\n\t"input_tp" : "-0.40",\n\t"input_lra" : "3.10",' \
             '\n\t"input_thresh" : "-26.5",\n\t"target_offset" : "0.3"\n}\n'
    measured = loudness.parse(stderr)
    assert (measured.integrated, measured.true_peak, measured.offset) == (-16.2, -0.4, 0.3)
    assert loudness.problems(measured) == ["The output's loudness is -16.2 LUFS, not -14 ± 1 LUFS.",
                                           "The output's true peak is -0.4 dBTP, above -1 dBTP."]
    silent = loudness.parse(stderr.replace('"-16.20"', '"-inf"').replace('"-0.40"', '"-inf"'))
    assert silent.silent and loudness.apply_filter(silent) == "aresample=48000"
    assert loudness.parse("no report") is None


@pytest.mark.parametrize("frame", ["cutaway", "presenter", ""])
def test_an_unknown_frame_is_refused(inputs, tmp_path, frame):
    with pytest.raises(ValueError, match="frame"):
        render_composite(inputs["avatar"], None, [CutInput(1.0, 2.0, inputs["a"], frame)], tmp_path / "out.mp4")
    assert list(tmp_path.iterdir()) == []


def test_a_captions_path_the_filter_graph_would_misread_is_refused(inputs, tmp_path):
    odd = tmp_path / "it's,here.ass"
    odd.write_text(ASS)
    with pytest.raises(ValueError, match="escaped"):
        render_composite(inputs["avatar"], None, [], tmp_path / "out.mp4", captions_ass=odd)
    assert sorted(p.name for p in tmp_path.iterdir()) == [odd.name]


def test_frame_problems_name_the_black_region_of_each_frame():
    sw, sh = selfcheck.SAMPLE_W, selfcheck.SAMPLE_H
    black, bright = bytes([16]) * (sw * sh), bytes([120]) * (sw * sh)
    top_only = bytes([120]) * (sw * sh // 2) + bytes([16]) * (sw * sh // 2)
    samples = [selfcheck.Sample(1.0, "split", "one"), selfcheck.Sample(2.0, "pip", "two"),
               selfcheck.Sample(3.0, "full", "three"), selfcheck.Sample(4.0, "split", "four")]
    assert selfcheck.frame_problems(samples, [top_only, black, bright], W, H) == [
        "The presenter is black at 1.0 s (one).",
        "The B-roll is black at 2.0 s (two).",
        "The presenter is black at 2.0 s (two).",
        "The composite has no frame at 4.0 s (four).",
    ]
    # A caption over a black region lifts a few cells, not the region's median.
    captioned = bytearray(black)
    for y in range(90, 110):
        captioned[y * sw:(y + 1) * sw] = bytes([235]) * sw
    assert selfcheck.frame_problems([selfcheck.Sample(1.0, "full", "c")], [bytes(captioned)], W, H) == [
        "The B-roll is black at 1.0 s (c)."]


def test_captions_are_drawn_with_the_given_fonts_only(inputs, uncaptioned, tmp_path):
    """As on Lambda, which has no fonts: with a fonts folder that holds none, nothing is drawn (the
    machine's own fonts are never used), so the shipped font is what the captions above are drawn in."""
    empty = tmp_path / "no-fonts"
    empty.mkdir()
    out = tmp_path / "out.mp4"
    render_composite(inputs["avatar"], inputs["voiceover"], cut_inputs(inputs), out, voiceover_demuxer="mov",
                     captions_ass=inputs["captions"], fonts_dir=empty)
    a, b = pixels(out, 1.2, *CAPTION_BAND), pixels(uncaptioned, 1.2, *CAPTION_BAND)
    assert sum(abs(x - y) for x, y in zip(a, b)) / len(a) < 3
    assert list(empty.iterdir()) == []
