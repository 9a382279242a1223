"""The composite video: the avatar as the base, B-roll cut in per the cut list, captions burned in.

The picture happens in ONE ffmpeg run with a filter graph, so ffmpeg streams frames from the inputs
to the encoder and memory stays bounded whatever the length of the video (nothing is read into
Python). Around it: a quick audio-only run measures the loudness (loudness.py, the first of
loudnorm's two passes), and one decode of the output checks it (selfcheck.py) and makes the poster.
Each cut's frame (frames.py): "full" = the B-roll over the whole frame; "split" = the B-roll in the
top half, the presenter in the bottom half; "pip" = the B-roll full frame, the presenter in a
rounded box in the lower-left corner. Inputs are described by probe.py, and every input is opened
as probe.py opens it (local file only, an explicit allowlisted demuxer), so no input can make
ffmpeg fetch anything. The voice-over is the only audio: Veo's own audio in the clips is never mapped.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from ..config import child_environment
from . import loudness, selfcheck
from .frames import FRAMES, PIP_BORDER, PIP_RADIUS, PRESENTER_Y_BIAS, Box, Frame, even, output_size, pip_box, split_rows
from .probe import FfmpegProber, MediaProbe, NotMedia, input_args, stderr_tail

# Scene ranges come from the voice-over's duration, which can differ from the avatar's by a few
# audio frames; anything further out than this is a real mistake, not rounding.
TOLERANCE_S = 0.25
THREADS = "2"  # Lambda gives few vCPUs; more threads mostly buy more buffered frames (memory)
# Memory grows with the number of cuts, not the length: every clip's decoder is open for the whole
# run and ffmpeg keeps a few decoded, scaled frames queued at each (bench/render.py: about 75 MB a
# cut at 1080x1920 on top of about 360 MB; 12 cuts over 60 s peak at 1.3 GB of the worker's 2 GB).
# Our avatar copies and Kie's clips are MP4 (QuickTime family).
VIDEO_DEMUXER = "mov"


# A path put into the filter graph (captions, fonts) must need no escaping there.
_GRAPH_SAFE_PATH = re.compile(r"^[A-Za-z0-9._/+-]+$")
FONTCONFIG_CACHE = Path(tempfile.gettempdir()) / "broll-fontconfig"


@dataclass(frozen=True)
class CutInput:
    start: float  # seconds in the final video
    end: float
    clip: Path  # local path of the clip
    frame: Frame = "full"


Segment = CutInput  # the name before layouts: a full-frame cut


@dataclass
class RenderReport:
    duration_s: float
    width: int
    height: int
    loudness_lufs: float  # measured on the output; loudness.SILENCE (-70) for silence
    true_peak_dbtp: float
    problems: list[str] = field(default_factory=list)  # sentences; empty = the self-check passed


class CompositeFailed(Exception):
    """ffmpeg could not read an input or render the composite; `stderr` is the tail of its output."""

    def __init__(self, message: str, stderr: str = ""):
        self.message = message
        self.stderr = stderr
        super().__init__(f"{message}\n{stderr}" if stderr else message)


def _probe(prober: FfmpegProber, path: Path, demuxer: str) -> MediaProbe:
    try:
        return prober.probe(path, demuxer)
    except NotMedia as exc:
        raise CompositeFailed(f"ffmpeg cannot read {path.name}.", exc.stderr) from exc


def _validate(segments: list[CutInput], duration: float) -> list[CutInput]:
    """Check the ranges against the avatar and return them with ends clamped to its duration."""
    checked: list[CutInput] = []
    for i, seg in enumerate(segments, start=1):
        frame = getattr(seg, "frame", "full")
        if frame not in FRAMES:
            raise ValueError(f"Cut {i} has the frame {frame!r}; a cut's frame is one of {', '.join(FRAMES)}.")
        start, end = float(seg.start), float(seg.end)
        if not (math.isfinite(start) and math.isfinite(end)):
            raise ValueError(f"Cut {i} has a start or end that is not a number.")
        if not start < end:
            raise ValueError(f"Cut {i} must start before it ends ({start:g}s to {end:g}s).")
        if start < -TOLERANCE_S or end > duration + TOLERANCE_S:
            raise ValueError(
                f"Cut {i} ({start:g}s to {end:g}s) lies outside the avatar video, which lasts {duration:.2f}s."
            )
        start, end = max(start, 0.0), min(end, duration)
        if not start < end:
            raise ValueError(f"Cut {i} ({seg.start:g}s to {seg.end:g}s) starts at the end of the avatar video.")
        if checked:
            prev = checked[-1]
            if start < prev.start:
                raise ValueError(f"Cut {i} starts before cut {i - 1}; cuts must be sorted by start.")
            if start < prev.end - 1e-6:
                raise ValueError(f"Cut {i} ({start:g}s) overlaps cut {i - 1}, which ends at {prev.end:g}s.")
        checked.append(CutInput(start, end, Path(seg.clip), frame))
    return checked




def _cover(box_w: int, box_h: int, y_bias: float = 0.5) -> str:
    """Scale to cover a box_w x box_h box and crop the rest (y_bias: where the vertical crop is taken)."""
    return (f"scale={box_w}:{box_h}:force_original_aspect_ratio=increase,"
            f"crop={box_w}:{box_h}:(iw-ow)/2:(ih-oh)*{y_bias:g},setsar=1")


def _clip_chain(index: int, seg: CutInput, clip_duration: float, box_w: int, box_h: int) -> str:
    span = seg.end - seg.start
    fit = []
    if clip_duration < span:
        fit.append(f"setpts={span / clip_duration:.6f}*(PTS-STARTPTS)")
    # The probed duration is the container's, which can outlast the video stream by a frame or
    # two; cloning the last frame keeps the avatar from flashing through before the range ends.
    fit.append(f"tpad=stop_mode=clone:stop_duration={span:.3f}")
    fit.append(f"trim=duration={span:.3f}")
    return ",".join([
        f"[{index}:v]{_cover(box_w, box_h)}",
        "setpts=PTS-STARTPTS",
        *fit,
        f"setpts=PTS-STARTPTS+{seg.start:.3f}/TB[c{index}]",
    ])


def _during(segments: list[CutInput]) -> str:
    return "+".join(f"between(t,{s.start:.3f},{s.end:.3f})" for s in segments)


def _rounded_alpha(radius: float) -> str:
    """geq alpha of a rounded rectangle filling the frame."""
    r = f"{radius:.1f}"
    return (f"255*lte(hypot(max(max({r}-X,X-(W-1-{r})),0),max(max({r}-Y,Y-(H-1-{r})),0)),{r})"
            .replace(",", "\\,"))


def _fit_audio(label: str, duration: float) -> str:
    # Padded (never cut short) and trimmed to the avatar so the sound ends with the picture.
    return f"[{label}]asetpts=PTS-STARTPTS,apad=whole_dur={duration:.3f},atrim=duration={duration:.3f}"


def _video_graph(avatar_info: MediaProbe, size: tuple[int, int], segments: list[CutInput], first_clip: int,
                 clip_durations: list[float], captions: tuple[Path, Path] | None) -> list[str]:
    width, height = size
    base = "setpts=PTS-STARTPTS"
    if (avatar_info.width, avatar_info.height) != size:
        base += "," + _cover(width, height)
    splits = [s for s in segments if s.frame == "split"]
    pips = [s for s in segments if s.frame == "pip"]
    # The presenter's other framings come from the same decoded avatar (same timestamps, so the
    # branches are consumed in step and nothing queues); a branch exists only when a cut needs it.
    branches = ["[base0]"] + (["[phalf]"] if splits else []) + (["[ppip]"] if pips else [])
    if len(branches) > 1:
        graph = [f"[0:v]{base},split={len(branches)}{''.join(branches)}"]
    else:
        graph = [f"[0:v]{base}[base0]"]

    broll_half, presenter_half = split_rows(width, height)
    layer = 0
    for n, (seg, clip_duration) in enumerate(zip(segments, clip_durations)):
        index = first_clip + n
        box = broll_half if seg.frame == "split" else Box(0, 0, width, height)
        graph.append(_clip_chain(index, seg, clip_duration, box.w, box.h))
        # eof_action=pass: once a clip ends the avatar shows again, instead of overlay's default of
        # repeating the clip's last frame; enable is the second guard that confines it to its range.
        graph.append(f"[base{layer}][c{index}]overlay={box.x}:{box.y}:eof_action=pass:enable='{_during([seg])}'"
                     f"[base{layer + 1}]")
        layer += 1
    if splits:
        box = presenter_half
        graph.append(f"[phalf]{_cover(box.w, box.h, PRESENTER_Y_BIAS)}[phalfv]")
        graph.append(f"[base{layer}][phalfv]overlay={box.x}:{box.y}:eof_action=pass:enable='{_during(splits)}'"
                     f"[base{layer + 1}]")
        layer += 1
    if pips:
        box = pip_box(width, height)
        radius = box.w * PIP_RADIUS
        border = max(2, even(width * PIP_BORDER))
        # The masks are one still frame each (geq is slow), held for the whole run by the filters.
        graph.append(f"color=c=black:s={box.w}x{box.h}:r=1:d=1,format=gray,geq=lum='{_rounded_alpha(radius)}'[pmask]")
        graph.append(f"[ppip]{_cover(box.w, box.h, PRESENTER_Y_BIAS)},format=yuva420p[ppipc]")
        graph.append("[ppipc][pmask]alphamerge[ppipv]")
        graph.append(f"color=c=white:s={box.w + 2 * border}x{box.h + 2 * border}:r=1:d=1,format=rgba,"
                     f"geq=r=255:g=255:b=255:a='{_rounded_alpha(radius + border)}'[pframe]")
        during = _during(pips)
        graph.append(f"[base{layer}][pframe]overlay={box.x - border}:{box.y - border}:enable='{during}'"
                     f"[base{layer + 1}]")
        graph.append(f"[base{layer + 1}][ppipv]overlay={box.x}:{box.y}:eof_action=pass:enable='{during}'"
                     f"[base{layer + 2}]")
        layer += 2
    last = f"[base{layer}]"
    if captions is not None:
        ass, fonts = captions
        graph.append(f"{last}format=yuv420p,ass=filename={ass}:fontsdir={fonts}[captioned]")
        last = "[captioned]"
    graph.append(f"{last}format=yuv420p[v]")
    return graph


def _render_command(
    ffmpeg: str, avatar: tuple[Path, str], avatar_info: MediaProbe, voiceover: tuple[Path, str] | None,
    segments: list[CutInput], clip_durations: list[float], out: Path, size: tuple[int, int],
    audio_filter: str | None, captions: tuple[Path, Path] | None,
) -> list[str]:
    duration = avatar_info.duration_s
    # -threads before an -i limits that input's decoder; every clip is open for the whole run.
    args = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
            "-threads", THREADS, *input_args(*avatar)]
    if voiceover is not None:
        args += ["-threads", THREADS, *input_args(*voiceover)]
    first_clip = 2 if voiceover is not None else 1
    for seg in segments:
        args += ["-threads", THREADS, *input_args(seg.clip, VIDEO_DEMUXER)]

    graph = _video_graph(avatar_info, size, segments, first_clip, clip_durations, captions)
    if audio_filter is None:
        graph.append(f"anullsrc=r={loudness.SAMPLE_RATE}:cl=stereo,atrim=duration={duration:.3f}[a]")
    else:
        source = "1:a:0" if voiceover is not None else "0:a:0"
        graph.append(f"{_fit_audio(source, duration)},{audio_filter}[a]")

    return args + [
        "-filter_complex", ";".join(graph),
        "-map", "[v]", "-map", "[a]",
        "-c:v", "libx264", "-profile:v", "high", "-preset", "veryfast", "-crf", "21", "-pix_fmt", "yuv420p",
        "-force_key_frames", "expr:gte(t,n_forced*2)",  # a key frame every 2 s: quick seeking in the page
        "-c:a", "aac", "-b:a", "128k", "-ar", str(loudness.SAMPLE_RATE),
        "-t", f"{duration:.3f}",
        "-threads", THREADS,
        "-movflags", "+faststart",
        "-f", "mp4", str(out),
    ]


def _measure_audio(ffmpeg: str, source: tuple[Path, str], duration: float) -> loudness.Loudness:
    """loudnorm's first pass over the sound exactly as the render will feed it."""
    command = [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info",
               "-threads", THREADS, *input_args(*source),
               "-filter_complex", f"{_fit_audio('0:a:0', duration)},{loudness.measure_filter()}[m]",
               "-map", "[m]", "-f", "null", "-"]
    proc = subprocess.run(command, capture_output=True, text=True, errors="replace")
    measured = loudness.parse(proc.stderr) if proc.returncode == 0 else None
    if measured is None:
        raise CompositeFailed(f"ffmpeg could not measure the loudness of {source[0].name}.", stderr_tail(proc.stderr))
    return measured


def _graph_path(path: Path, what: str) -> Path:
    path = Path(path).resolve()
    if not _GRAPH_SAFE_PATH.match(str(path)):
        raise ValueError(f"The {what} path {str(path)!r} has characters ffmpeg's filter graph would need escaped.")
    return path


def _fontconfig_env(conf: Path) -> dict[str, str]:
    """fontconfig with no font folder and its cache in /tmp, so libass finds faces only in the
    `fontsdir` the ass filter is given: the same on Lambda (no fonts, no writable home) as on a laptop
    (whose own fonts are never used). No <dir>: fontconfig would write a .uuid into the folder."""
    FONTCONFIG_CACHE.mkdir(parents=True, exist_ok=True)
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        f"  <cachedir>{escape(str(FONTCONFIG_CACHE))}</cachedir>\n</fontconfig>\n"
    )
    return child_environment(FONTCONFIG_FILE=str(conf))


def render_composite(
    avatar: Path, voiceover: Path | None, cuts: list[CutInput], out: Path, *,
    voiceover_demuxer: str | None = None, avatar_demuxer: str = VIDEO_DEMUXER,
    captions_ass: Path | None = None, fonts_dir: Path | None = None, poster: Path | None = None,
    expected_duration_s: float | None = None, ffmpeg: str | None = None,
) -> RenderReport:
    """Render the composite MP4 to `out`, check it, and return what the check found.

    The clips are MP4; `avatar` is read with `avatar_demuxer` (MP4's by default) and `voiceover`,
    when there is one, with `voiceover_demuxer` (their allowlisted demuxers:
    logic/media_types.demuxer_for_key). The output has the avatar's duration, 1080x1920 when the
    avatar is at least that big (else the avatar's size), H.264 High yuv420p with the moov atom
    first, and one 48 kHz AAC track: the voice-over, else the avatar's own audio, else silence,
    normalised to -14 LUFS / -1 dBTP. `captions_ass` is burned in with the fonts of `fonts_dir`
    (default: the layer's, broll_common.fonts). `poster` receives the first frame as JPEG.

    Raises ValueError for bad cuts, paths or a demuxer off the allowlist, and CompositeFailed when
    ffmpeg fails; then `out` is not written. A composite that renders but fails its self-check is
    written, and the report's `problems` say why (the caller marks the render failed).
    """
    if ffmpeg is None:
        from .ffmpeg import ffmpeg_exe  # the packaged binary, made runnable; never one on PATH

        ffmpeg = ffmpeg_exe()
    prober = FfmpegProber(ffmpeg)
    avatar, out = Path(avatar), Path(out)
    voice = (Path(voiceover), voiceover_demuxer) if voiceover is not None else None
    input_args(avatar, avatar_demuxer)  # an input without an allowlisted demuxer is refused before any work
    if voice is not None:
        input_args(*voice)
    captions = None
    if captions_ass is not None:
        if fonts_dir is None:
            from ..fonts import fonts_dir as shipped_fonts

            fonts_dir = shipped_fonts()
        captions = (_graph_path(captions_ass, "captions"), _graph_path(fonts_dir, "fonts"))
        if not captions[0].is_file():
            raise ValueError(f"The captions file {captions[0].name} does not exist.")

    avatar_info = _probe(prober, avatar, avatar_demuxer)
    if avatar_info.width is None:
        raise CompositeFailed(f"The avatar {avatar.name} has no video stream.")
    voice_info = _probe(prober, *voice) if voice is not None else None
    if voice_info is not None and not voice_info.has_audio:
        raise CompositeFailed(f"The voice-over {voice[0].name} has no sound.")
    segments = _validate(list(cuts), avatar_info.duration_s)
    clip_durations = []
    for seg in segments:
        clip = _probe(prober, seg.clip, VIDEO_DEMUXER)
        if clip.width is None:
            raise CompositeFailed(f"The clip {seg.clip.name} has no video to show.")
        clip_durations.append(clip.duration_s)
    size = output_size(avatar_info.width, avatar_info.height)

    sound = voice if voice is not None else ((avatar, avatar_demuxer) if avatar_info.has_audio else None)
    audio_filter = None
    if sound is not None:
        audio_filter = loudness.apply_filter(_measure_audio(ffmpeg, sound, avatar_info.duration_s))

    # Render beside the target and rename, so a failed run never leaves a half-written video.
    partial = out.with_name(f".{out.name}.partial")
    conf = out.with_name(f".{out.name}.fonts.conf")
    command = _render_command(ffmpeg, (avatar, avatar_demuxer), avatar_info, voice, segments, clip_durations,
                              partial, size, audio_filter, captions)
    try:
        env = _fontconfig_env(conf) if captions is not None else None
        proc = subprocess.run(command, capture_output=True, text=True, errors="replace", env=env)
        if proc.returncode != 0:
            raise CompositeFailed(f"ffmpeg failed with exit code {proc.returncode}.", stderr_tail(proc.stderr))
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
        conf.unlink(missing_ok=True)
    return _check(ffmpeg, prober, out, segments, poster, expected_duration_s,
                  voice_info.duration_s if voice_info is not None else None)


def _check(ffmpeg: str, prober: FfmpegProber, out: Path, segments: list[CutInput], poster: Path | None,
           expected_duration_s: float | None, voiceover_duration_s: float | None) -> RenderReport:
    info = _probe(prober, out, VIDEO_DEMUXER)
    samples: list[selfcheck.Sample] = []
    for n, s in enumerate(segments, start=1):
        at = (s.start + s.end) / 2
        # Two samples closer than a few frames would be one decoded frame: the first one stands for both.
        if not samples or at - samples[-1].at >= selfcheck.MIN_SAMPLE_GAP_S:
            samples.append(selfcheck.Sample(at, s.frame, f"cut {n} at {s.start:.1f}-{s.end:.1f} s, {s.frame}"))
    try:
        frames, measured = selfcheck.inspect(ffmpeg, out, samples, poster=poster, has_audio=info.has_audio)
    except selfcheck.CheckFailed as exc:
        raise CompositeFailed(exc.message, exc.stderr) from exc
    width, height = info.width or 0, info.height or 0
    problems = selfcheck.stream_problems(info, expected_duration_s, voiceover_duration_s)
    problems += selfcheck.frame_problems(samples, frames, width, height) if width and height else []
    if info.has_audio:
        problems += loudness.problems(measured)
    return RenderReport(
        duration_s=round(info.duration_s, 3), width=width, height=height,
        loudness_lufs=round(measured.integrated, 1) if measured else loudness.SILENCE,
        true_peak_dbtp=round(measured.true_peak, 1) if measured else -99.0,
        problems=problems,
    )
