"""The composite video: the avatar as the base, each scene's B-roll cut in over its time range.

Everything happens in ONE ffmpeg run with a filter graph, so ffmpeg streams frames from the inputs
to the encoder and memory stays bounded whatever the length of the video (nothing is read into
Python). Inputs are described by probe.py, and every input is opened as probe.py opens it (local
file only, an explicit allowlisted demuxer), so no input can make ffmpeg fetch anything. The
voice-over is the only audio: Veo's own audio in the clips is never mapped.
"""

from __future__ import annotations

import math
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .probe import FfmpegProber, MediaProbe, NotMedia, input_args, stderr_tail

# Scene ranges come from the voice-over's duration, which can differ from the avatar's by a few
# audio frames; anything further out than this is a real mistake, not rounding.
TOLERANCE_S = 0.25
THREADS = "2"  # Lambda gives few vCPUs; more threads mostly buy more buffered frames (memory)
# Our avatar copies and Kie's clips are MP4 (QuickTime family).
VIDEO_DEMUXER = "mov"


@dataclass(frozen=True)
class Segment:
    start: float  # seconds in the final video
    end: float
    clip: Path  # local path of the scene's clip


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


def _validate(segments: list[Segment], duration: float) -> list[Segment]:
    """Check the ranges against the avatar and return them with ends clamped to its duration."""
    checked: list[Segment] = []
    for i, seg in enumerate(segments, start=1):
        start, end = float(seg.start), float(seg.end)
        if not (math.isfinite(start) and math.isfinite(end)):
            raise ValueError(f"Segment {i} has a start or end that is not a number.")
        if not start < end:
            raise ValueError(f"Segment {i} must start before it ends ({start:g}s to {end:g}s).")
        if start < -TOLERANCE_S or end > duration + TOLERANCE_S:
            raise ValueError(
                f"Segment {i} ({start:g}s to {end:g}s) lies outside the avatar video, which lasts {duration:.2f}s."
            )
        start, end = max(start, 0.0), min(end, duration)
        if not start < end:
            raise ValueError(f"Segment {i} ({seg.start:g}s to {seg.end:g}s) starts at the end of the avatar video.")
        if checked:
            prev = checked[-1]
            if start < prev.start:
                raise ValueError(f"Segment {i} starts before segment {i - 1}; segments must be sorted by start.")
            if start < prev.end - 1e-6:
                raise ValueError(f"Segment {i} ({start:g}s) overlaps segment {i - 1}, which ends at {prev.end:g}s.")
        checked.append(Segment(start, end, Path(seg.clip)))
    return checked


def _clip_chain(index: int, seg: Segment, clip_duration: float, width: int, height: int) -> str:
    span = seg.end - seg.start
    fit = []
    if clip_duration < span:
        fit.append(f"setpts={span / clip_duration:.6f}*(PTS-STARTPTS)")
    # The probed duration is the container's, which can outlast the video stream by a frame or
    # two; cloning the last frame keeps the avatar from flashing through before the range ends.
    fit.append(f"tpad=stop_mode=clone:stop_duration={span:.3f}")
    fit.append(f"trim=duration={span:.3f}")
    return ",".join([
        f"[{index}:v]scale={width}:{height}:force_original_aspect_ratio=increase",
        f"crop={width}:{height}",
        "setsar=1",
        "setpts=PTS-STARTPTS",
        *fit,
        f"setpts=PTS-STARTPTS+{seg.start:.3f}/TB[c{index}]",
    ])


def _command(
    ffmpeg: str, avatar: tuple[Path, str], avatar_info: MediaProbe, voiceover: tuple[Path, str] | None,
    segments: list[Segment], clip_durations: list[float], out: Path,
) -> list[str]:
    width, height, duration = avatar_info.width, avatar_info.height, avatar_info.duration_s
    # -threads before an -i limits that input's decoder; every clip is open for the whole run.
    args = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
            "-threads", THREADS, *input_args(*avatar)]
    if voiceover is not None:
        args += ["-threads", THREADS, *input_args(*voiceover)]
    first_clip = 2 if voiceover is not None else 1
    for seg in segments:
        args += ["-threads", THREADS, *input_args(seg.clip, VIDEO_DEMUXER)]

    graph = ["[0:v]setpts=PTS-STARTPTS[base0]"]
    for n, (seg, clip_duration) in enumerate(zip(segments, clip_durations)):
        index = first_clip + n
        graph.append(_clip_chain(index, seg, clip_duration, width, height))
        # eof_action=pass: once a clip ends the avatar shows again, instead of overlay's default of
        # repeating the clip's last frame; enable is the second guard that confines it to its range.
        graph.append(
            f"[base{n}][c{index}]overlay=0:0:eof_action=pass:enable='between(t,{seg.start:.3f},{seg.end:.3f})'"
            f"[base{n + 1}]"
        )
    graph.append(f"[base{len(segments)}]format=yuv420p[v]")

    # Audio is padded (never cut short) and trimmed to the avatar so the output ends with the picture.
    fit_audio = f"asetpts=PTS-STARTPTS,apad=whole_dur={duration:.3f},atrim=duration={duration:.3f}[a]"
    if voiceover is not None:
        graph.append(f"[1:a:0]{fit_audio}")
    elif avatar_info.has_audio:
        graph.append(f"[0:a:0]{fit_audio}")
    else:
        graph.append(f"anullsrc=r=44100:cl=stereo,atrim=duration={duration:.3f}[a]")

    return args + [
        "-filter_complex", ";".join(graph),
        "-map", "[v]", "-map", "[a]",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "128k",
        "-t", f"{duration:.3f}",
        "-threads", THREADS,
        "-movflags", "+faststart",
        "-f", "mp4", str(out),
    ]


def render_composite(
    avatar: Path, voiceover: Path | None, segments: list[Segment], out: Path, *,
    voiceover_demuxer: str | None = None, avatar_demuxer: str = VIDEO_DEMUXER, ffmpeg: str | None = None,
) -> Path:
    """Render the composite MP4 to `out` and return it.

    The clips are MP4; `avatar` is read with `avatar_demuxer` (MP4's by default) and `voiceover`,
    when there is one, with `voiceover_demuxer` (their allowlisted demuxers: logic/media_types.demuxer_for_key). The output has the avatar's
    duration and size, H.264 yuv420p video with the moov atom first, and one AAC track: the
    voice-over, else the avatar's own audio, else silence. Raises ValueError for bad segments or a
    demuxer off the allowlist and CompositeFailed when ffmpeg fails; in every case `out` is not written.
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

    avatar_info = _probe(prober, avatar, avatar_demuxer)
    if avatar_info.width is None:
        raise CompositeFailed(f"The avatar {avatar.name} has no video stream.")
    segments = _validate(list(segments), avatar_info.duration_s)
    clip_durations = []
    for seg in segments:
        clip = _probe(prober, seg.clip, VIDEO_DEMUXER)
        if clip.width is None:
            raise CompositeFailed(f"The clip {seg.clip.name} has no video to show.")
        clip_durations.append(clip.duration_s)

    # Render beside the target and rename, so a failed run never leaves a half-written video.
    partial = out.with_name(f".{out.name}.partial")
    command = _command(ffmpeg, (avatar, avatar_demuxer), avatar_info, voice, segments, clip_durations, partial)
    try:
        proc = subprocess.run(command, capture_output=True, text=True, errors="replace")
        if proc.returncode != 0:
            raise CompositeFailed(f"ffmpeg failed with exit code {proc.returncode}.", stderr_tail(proc.stderr))
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out
