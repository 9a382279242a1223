"""The composite's self-check: what the output really is, measured from the output file.

One ffmpeg run decodes the output once and gives, together: one small greyscale frame per cut
(at the cut's middle), the measured loudness and true peak of the audio, and the poster (the first
frame as JPEG). Frames are scaled to SAMPLE_W x SAMPLE_H with area averaging, so a region's median
cell is its typical brightness; a caption drawn over a region lifts only the cells it covers.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import loudness
from .frames import Frame, regions
from .probe import MediaProbe, input_args, stderr_tail

SAMPLE_W, SAMPLE_H = 72, 128
# Median luma (0-255; video black is 16) at or under which a region counts as black.
BLACK_LUMA = 24
DURATION_TOLERANCE_S = 0.1
MIN_SAMPLE_GAP_S = 0.15  # samples are taken at least this far apart (more than a frame at 24 fps and up)
ASPECT = 9 / 16
THREADS = "2"


@dataclass(frozen=True)
class Sample:
    at: float  # seconds in the output
    frame: Frame
    label: str  # how a sentence names it: "cut 2 (4.0-8.0 s)"


class CheckFailed(Exception):
    def __init__(self, message: str, stderr: str = ""):
        self.message, self.stderr = message, stderr
        super().__init__(f"{message}\n{stderr}" if stderr else message)


def _select(times: list[float]) -> str:
    # The first frame at or after each time (prev_t is NaN for the first frame: NaN compares false).
    terms = [f"gte(t\\,{t:.3f})*not(gte(prev_t\\,{t:.3f}))" for t in times]
    return "select='" + "+".join(terms) + "'"


def inspect(ffmpeg: str, output: Path, samples: list[Sample], *, poster: Path | None,
            has_audio: bool) -> tuple[list[bytes], loudness.Loudness | None]:
    """Decode `output` once: the sampled frames (SAMPLE_W x SAMPLE_H grey, in time order; fewer
    when the video ends before a sample's time), the audio's loudness (None without audio), and
    the poster written when asked for."""
    times = sorted(s.at for s in samples)
    video_outputs = (1 if times else 0) + (1 if poster is not None else 0)
    graph, maps = [], []
    if video_outputs:
        labels = ["[vs]"] if times else []
        labels += ["[vp]"] if poster is not None else []
        graph.append(f"[0:v]split={video_outputs}{''.join(labels)}" if video_outputs > 1 else f"[0:v]null{labels[0]}")
        if times:
            graph.append(f"[vs]{_select(times)},scale={SAMPLE_W}:{SAMPLE_H}:flags=area,format=gray[samples]")
            maps += ["-map", "[samples]", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"]
        if poster is not None:
            graph.append("[vp]trim=end_frame=1[poster]")
            maps += ["-map", "[poster]", "-frames:v", "1", "-q:v", "3", "-update", "1", "-f", "image2", str(poster)]
    if has_audio:
        graph.append(f"[0:a:0]{loudness.measure_filter()}[measured]")
        maps += ["-map", "[measured]", "-f", "null", "-"]
    if not maps:
        return [], None
    command = [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-y", "-loglevel", "info",
               "-threads", THREADS, *input_args(output, "mov"), "-filter_complex", ";".join(graph), *maps]
    proc = subprocess.run(command, capture_output=True)
    stderr = proc.stderr.decode(errors="replace")
    if proc.returncode != 0:
        raise CheckFailed(f"ffmpeg could not read the composite back (exit code {proc.returncode}).",
                          stderr_tail(stderr))
    size = SAMPLE_W * SAMPLE_H
    frames = [proc.stdout[i:i + size] for i in range(0, len(proc.stdout) - size + 1, size)]
    return frames, loudness.parse(stderr) if has_audio else None


def region_luma(picture: bytes, box_relative: tuple[float, float, float, float]) -> float:
    """Median brightness of a region (relative x0, y0, x1, y1) of a sampled frame, one cell in from
    its edges (the scaler blends the cells on a boundary)."""
    x0, y0, x1, y1 = box_relative
    cx0, cx1 = round(x0 * SAMPLE_W), round(x1 * SAMPLE_W)
    cy0, cy1 = round(y0 * SAMPLE_H), round(y1 * SAMPLE_H)
    if cx1 - cx0 > 2:
        cx0, cx1 = cx0 + 1, cx1 - 1
    if cy1 - cy0 > 2:
        cy0, cy1 = cy0 + 1, cy1 - 1
    cells = sorted(picture[y * SAMPLE_W + x] for y in range(cy0, cy1) for x in range(cx0, cx1))
    return float(cells[len(cells) // 2]) if cells else 0.0


def frame_problems(samples: list[Sample], frames: list[bytes], width: int, height: int) -> list[str]:
    found = []
    ordered = sorted(samples, key=lambda s: s.at)
    for n, sample in enumerate(ordered):
        if n >= len(frames):
            found.append(f"The composite has no frame at {sample.at:.1f} s ({sample.label}).")
            continue
        for name, box in regions(sample.frame, width, height).items():
            if region_luma(frames[n], box.relative(width, height)) <= BLACK_LUMA:
                what = "B-roll" if name == "broll" else "presenter"
                found.append(f"The {what} is black at {sample.at:.1f} s ({sample.label}).")
    return found


def stream_problems(output: MediaProbe, expected_duration_s: float | None,
                    voiceover_duration_s: float | None) -> list[str]:
    found = []
    if expected_duration_s is not None:
        if abs(output.duration_s - expected_duration_s) > DURATION_TOLERANCE_S:
            found.append(f"The composite lasts {output.duration_s:.2f} s, not the timeline's "
                         f"{expected_duration_s:.2f} s.")
        if voiceover_duration_s is not None and abs(voiceover_duration_s - expected_duration_s) > DURATION_TOLERANCE_S:
            side = "shorter" if voiceover_duration_s < expected_duration_s else "longer"
            found.append(f"The voice-over lasts {voiceover_duration_s:.2f} s, {side} than the timeline's "
                         f"{expected_duration_s:.2f} s.")
    if not output.width or not output.height or abs(output.width / output.height - ASPECT) > 0.01:
        found.append(f"The composite is {output.width}x{output.height}, not 9:16.")
    if not output.has_audio:
        found.append("The composite has no audio.")
    return found
